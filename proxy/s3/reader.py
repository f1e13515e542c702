"""Opening a stored object for reading: plain objects, SLO (S3 multipart) and DLO manifests.

Large objects are streamed with the shared large-object package (proxy/large_objects), so S3 and
Swift GETs of a manifest produce the same bytes. Their segments are read with the caller's rights
(``segment_access``, S3's read decision); the parts of a multipart upload in the bucket's own segment
container are readable to whoever may read the object (see ``proxy.large_objects.access``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from objclient.client import BackendResponse, StorageClient
from objclient.headers import HeaderDict
from proxy.auth.authorize import check_access
from proxy.expiry import is_expired
from proxy.http import ranges as http_ranges
from proxy.http.bodies import stream_backend
from proxy.large_objects import dlo, slo
from proxy.large_objects.access import SegmentAccess, SegmentForbidden
from proxy.large_objects.segments import Segment, stream_range
from proxy.large_objects.slo_manifest import SYSMETA_SIZE, parse_stored, to_segments
from proxy.s3 import sse
from proxy.s3.context import S3Request
from proxy.s3.errors import S3Error, from_backend
from proxy.s3.headers import SYSMETA_ETAG, s3_etag
from proxy.symlinks import symloop_max
from stackstore.timestamp import Timestamp


@dataclass
class StoredObject:
    """A readable object: S3 ETag, total size, stored headers and a way to stream byte ranges."""

    req: S3Request
    bucket: str
    key: str
    headers: HeaderDict  # case-insensitive: every feature looks stored headers up by name
    etag: str
    size: int
    kind: str  # "plain" | "slo" | "dlo"
    resp: BackendResponse | None = None  # open plain GET (whole object or ``resp_range``)
    resp_range: tuple[int, int] | None = None  # [start, end) the open response covers
    segments: list[Segment] = field(default_factory=list)
    access: SegmentAccess | None = None  # the caller's rights on the segments (large objects)
    reader: StorageClient | None = None  # the client reads go through (bound to an SSE-C key); None: req's

    @property
    def client(self) -> StorageClient:
        return self.reader or self.req.client

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")

    @property
    def is_multipart(self) -> bool:
        return "-" in self.etag

    async def close(self) -> None:
        if self.resp is not None:
            await self.resp.close()
            self.resp = None

    def stream(self, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes ``[start, end)``; a plain object reuses the open response when it covers them."""
        if self.kind == "plain":
            if self.resp is not None and self.resp_range == (start, end):
                resp, self.resp = self.resp, None
                return stream_backend(resp)
            return self._plain_range(start, end)
        if end <= start:
            return _empty()
        access = self.access
        assert access is not None
        sreq = self.req.object_request(self.bucket, self.key)

        async def expand(seg: Segment) -> Sequence[Segment]:
            return await slo.expand_sub_slo(sreq, seg, access)

        return stream_range(self.client, self.req.account, self.segments, start, end - 1, access, expand)

    async def _plain_range(self, start: int, end: int) -> AsyncIterator[bytes]:
        if end <= start:
            return
        resp = await self.client.get_object(self.req.account, self.bucket, self.key,
                                            {"Range": f"bytes={start}-{end - 1}"})
        if resp.status not in (200, 206):
            await resp.close()
            raise OSError(f"object changed while reading: {resp.status}")
        async for chunk in stream_backend(resp):
            yield chunk


async def _empty() -> AsyncIterator[bytes]:
    if False:  # pragma: no cover
        yield b""


@functools.lru_cache(maxsize=1024)  # objects read again and again share their data time
def _http_date(stamp: str) -> str | None:
    try:
        return Timestamp(stamp).http_date
    except ValueError:
        return None


def _data_last_modified(headers: HeaderDict) -> HeaderDict:
    """S3's Last-Modified is when the data was written: metadata POSTs (ACLs, tags) do not change it."""
    data_ts = headers.get("x-backend-data-timestamp")
    if data_ts:
        stamp = _http_date(data_ts)
        if stamp is not None:
            headers["Last-Modified"] = stamp
    return headers


def _total_from_content_range(value: str | None) -> int | None:
    if not value or "/" not in value:
        return None
    total = value.rsplit("/", 1)[1].strip()
    return int(total) if total.isdigit() else None


def segment_access(req: S3Request) -> SegmentAccess:
    """The S3 caller's read rights on segments of its account (``check_access``: owner, reader role,
    the container's read ACL; a DLO's listing as ``s3:ListBucket``); a segment that is a Swift symlink is
    followed to its target, checked the same way, as Swift's s3api reads through its symlink middleware."""
    resellers = req.state.resellers

    async def may_read(account: str, container: str, obj: str | None) -> int | None:
        return await check_access(req.state, req.identity, account, container, obj, "GET", resellers=resellers)

    return SegmentAccess(may_read, req.account, link_hops=symloop_max(req.state.conf))


async def _require_segments(access: SegmentAccess, segments: list[Segment]) -> None:
    """AccessDenied unless the caller may read every top-level segment (before any byte is sent)."""
    try:
        await access.require_all(segments)
    except SegmentForbidden:
        raise S3Error("AccessDenied") from None


async def open_object(req: S3Request, bucket: str, key: str, range_header: str | None = None,
                      head: bool = False, customer_key: bytes | None = None) -> StoredObject:
    """Fetch an object's headers (and for a plain GET its body, ranged when asked), decrypted.

    NoSuchKey when missing; AccessDenied when a large object's segments are not the caller's to read;
    the SSE errors (``proxy.s3.sse.read_error``) when it is encrypted with another SSE-C key than
    ``customer_key``. A single satisfiable range is applied by the storage node for plain objects; large
    objects load their segment list.
    """
    spec = http_ranges.parse_range(range_header)
    single = spec is not None and len(spec) == 1
    backend_headers = {"Range": range_header} if (single and not head and range_header) else {}
    client = sse.client(req).with_customer_key(customer_key) if customer_key is not None else req.client
    if head:
        resp = await client.head_object(req.account, bucket, key)
    else:
        resp = await client.get_object(req.account, bucket, key, backend_headers)
    refused = sse.read_error(resp)
    if refused is not None:
        await resp.close()
        raise refused
    if resp.status == 404 or (resp.status // 100 == 2 and is_expired(resp.headers)):
        await resp.close()
        raise S3Error("NoSuchKey", Key=key)
    if resp.status not in (200, 206, 416):
        await resp.close()
        raise from_backend(resp.status, bucket, key)
    body_loaded = not head
    if resp.status == 416:  # the node answered for the stored body (maybe a manifest): look again
        await resp.close()
        resp = await client.head_object(req.account, bucket, key)
        await resp.close()
        if resp.status == 404:
            raise S3Error("NoSuchKey", Key=key)
        if resp.status // 100 != 2:
            raise from_backend(resp.status, bucket, key)
        body_loaded = False
    headers = _data_last_modified(HeaderDict(resp.headers))
    if slo.is_slo(headers):
        obj = await _open_slo(req, bucket, key, resp if body_loaded else None, headers, head, client)
    else:
        manifest = headers.get("x-object-manifest")
        if manifest:
            await resp.close()
            return await _open_dlo(req, bucket, key, headers, manifest)
        obj = await _open_plain(req, bucket, key, resp, headers, body_loaded, head)
    obj.reader = client
    return obj


async def _open_plain(req: S3Request, bucket: str, key: str, resp: BackendResponse, headers: HeaderDict,
                      body_loaded: bool, head: bool) -> StoredObject:
    etag = s3_etag(headers)
    if not body_loaded:
        size = int(headers.get("content-length") or 0)
        return StoredObject(req, bucket, key, headers, etag, size, "plain")
    if resp.status == 206:
        size = _total_from_content_range(headers.get("content-range")) or 0
        first, _, last = (headers.get("content-range") or "").split(" ")[-1].split("/")[0].partition("-")
        rng = (int(first), int(last) + 1) if first.isdigit() and last.isdigit() else None
        return StoredObject(req, bucket, key, headers, etag, size, "plain", resp, rng)
    size = int(headers.get("content-length") or 0)
    if head:
        await resp.close()
        return StoredObject(req, bucket, key, headers, etag, size, "plain")
    return StoredObject(req, bucket, key, headers, etag, size, "plain", resp, (0, size))


async def _open_slo(req: S3Request, bucket: str, key: str, resp: BackendResponse | None,
                    headers: HeaderDict, head: bool, client: StorageClient) -> StoredObject:
    """``resp``: the manifest GET when it holds the whole manifest body, else None (fetched here)."""
    etag = (headers.get(SYSMETA_ETAG) or headers.get(slo.SYSMETA_ETAG) or "").strip('"')
    size_text = headers.get(SYSMETA_SIZE)
    access = segment_access(req).trusting_multipart(headers, bucket)
    if head and etag and size_text and size_text.isdigit():
        if resp is not None:
            await resp.close()
        return StoredObject(req, bucket, key, headers, etag, int(size_text), "slo", access=access)
    if resp is None or resp.status != 200:
        if resp is not None:
            await resp.close()
        resp = await client.get_object(req.account, bucket, key)
        if resp.status != 200:
            await resp.close()
            raise sse.read_error(resp) or from_backend(resp.status, bucket, key)
    try:
        entries = parse_stored(await resp.read())
    except (ValueError, json.JSONDecodeError):
        raise S3Error("InternalError", "corrupt large object manifest") from None
    computed_etag, size = slo.etag_and_size(headers, entries) or ("", 0)
    segments = to_segments(entries)
    if not head:
        await _require_segments(access, segments)
    return StoredObject(req, bucket, key, headers, etag or computed_etag, size, "slo",
                        segments=segments, access=access)


async def _open_dlo(req: S3Request, bucket: str, key: str, headers: HeaderDict,
                    manifest: str) -> StoredObject:
    parsed = dlo.parse_manifest_header(manifest)
    if parsed is None:
        raise S3Error("InternalError", "invalid X-Object-Manifest")
    access = segment_access(req)
    try:
        await access.require(parsed[0], None)  # the segment listing, as the caller
    except SegmentForbidden:
        raise S3Error("AccessDenied") from None
    listed = await dlo.list_segments(req.object_request(bucket, key), *parsed)
    segments, etag = listed if listed is not None else ([], "")
    return StoredObject(req, bucket, key, headers, etag, sum(s.length for s in segments), "dlo",
                        segments=list(segments), access=access)
