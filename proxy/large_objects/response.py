"""The GET/HEAD answer of a large object (SLO or DLO manifest), shared by every API that serves one.

``get_large_object`` answers GET/HEAD of a manifest (conditionals against the large object's ETag,
Range across segment boundaries, streaming); the SLO-specific work lives in ``slo.py``, the DLO
listing in ``dlo.py`` and the segment streaming in ``segments.py``. ``ManifestResponse`` is how an
object controller hands a manifest it read to the SLO/DLO features of the proxy pipeline.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence

from starlette.responses import Response, StreamingResponse

from objclient.client import BackendResponse
from proxy.auth.authorize import denied_response
from proxy.context import ObjectRequest
from proxy.http import conditional
from proxy.http import ranges as http_ranges
from proxy.http.bodies import stream_backend
from proxy.http.errors import error_response
from proxy.http.headers import lookup
from proxy.large_objects import dlo, slo
from proxy.large_objects.access import SegmentAccess, SegmentForbidden
from proxy.large_objects.segments import Expander, Segment, SegmentError, stream_range
from proxy.large_objects.slo_manifest import to_raw, to_segments
from stackstore.wire import VERSION_ID_SYSMETA

log = logging.getLogger(__name__)

DROP_HEADERS = ("content-length", "etag", "content-range", "transfer-encoding", "connection", "date",
                "server", "accept-ranges", "x-static-large-object", "x-object-manifest")
DROP_PREFIXES = ("x-backend-", "x-object-sysmeta-")

SegmentLoader = Callable[[], Awaitable[Sequence[Segment]]]


class ManifestResponse(StreamingResponse):
    """What an object controller answers for a stored manifest: the SLO/DLO features take ``backend``
    (the open GET/HEAD of the manifest) and answer for the large object instead.

    Sent as it is (the manifest's own bytes and headers) only when no feature claims it.
    """

    def __init__(self, backend: BackendResponse, headers: Mapping[str, str], head: bool):
        super().__init__(_empty() if head else stream_backend(backend), status_code=backend.status,
                         headers=dict(headers))
        self.backend = backend

    @property
    def is_slo(self) -> bool:
        """A static large object manifest (else a DLO's ``X-Object-Manifest``)."""
        return slo.is_slo(self.backend.headers)


async def get_large_object(req: ObjectRequest, manifest_resp: BackendResponse,
                           access: SegmentAccess) -> Response:
    """GET/HEAD of a manifest (``X-Static-Large-Object`` or ``X-Object-Manifest`` in manifest_resp).

    Called by the SLO/DLO features (and copies) instead of answering with the manifest itself.
    ``manifest_resp`` was fetched with the client's headers (maybe a Range of the manifest itself):
    this function owns it (reads or closes it) and answers conditionals and ranges itself.

    Segments are read with the caller's rights (``access``): a DLO whose segment container the caller
    may not list is answered 403 (401 for anonymous callers), an SLO with a top-level segment (or nested
    manifest) the caller may not read 409 Conflict (as Swift's SLO answers a first segment it cannot read),
    both before any byte; a forbidden segment of a nested manifest
    (known only once it is expanded) cuts the body off before its bytes. HEAD of an SLO answers from
    the manifest alone, as Swift's does.
    """
    is_slo = slo.is_slo(manifest_resp.headers)
    try:
        if is_slo:
            return await _get_slo(req, manifest_resp, access)
        return await _get_dlo(req, manifest_resp, access)
    except SegmentForbidden as err:
        log.info("%s: large object refused: %s", req.trans_id, err)
        if is_slo:  # the manifest was the caller's to read, a segment not: Swift's first-segment check's 409
            return error_response(409)
        return denied_response(err.status, req.account)
    except FirstSegmentError as err:
        log.error("%s: %s", req.trans_id, err)
        return error_response(409)
    except SegmentError as err:
        log.error("%s: %s", req.trans_id, err)
        return error_response(503, "Unable to load the large object's manifest.\n")


async def get_manifest(req: ObjectRequest, manifest_resp: BackendResponse) -> Response:
    """``GET ?multipart-manifest=get`` of an SLO: the stored JSON (``format=raw``: the PUT-able form).

    The SLO feature's answer (a plain object read gives the same body, bar ``format=raw``).
    """
    reuse = manifest_resp if req.method == "GET" else None
    if reuse is None:
        await manifest_resp.close()
    _, entries = await slo.read_manifest(req, req.container or "", req.obj or "", reuse)
    headers = _entity_headers(manifest_resp.headers)
    headers["X-Static-Large-Object"] = "True"
    if req.query.get("format") == "raw":
        # the PUT-able form keeps the large object's Content-Type (so a copy of it is the same object)
        body = json.dumps(to_raw(entries), sort_keys=True).encode()
        headers["Etag"] = hashlib.md5(body).hexdigest()
    else:
        body = json.dumps(entries).encode()
        if manifest_resp.headers.get("etag"):
            headers["Etag"] = manifest_resp.headers["etag"]
        for name in [k for k in headers if k.lower() == "content-type"]:  # one Content-Type: the manifest's
            del headers[name]
        headers["Content-Type"] = "application/json; charset=utf-8"
    if req.method == "HEAD":
        headers["Content-Length"] = str(len(body))
        body = b""
    return Response(body, status_code=200, headers=headers)


# -- SLO / DLO specifics -------------------------------------------------------------------------

async def _get_slo(req: ObjectRequest, manifest_resp: BackendResponse, access: SegmentAccess) -> Response:
    try:
        part = part_number(req)
    except ValueError as err:
        await manifest_resp.close()
        return error_response(400, "" if req.method == "HEAD" else str(err))
    known = slo.etag_and_size(manifest_resp.headers, None)
    manifest_etag = (manifest_resp.headers.get("etag") or "").strip('"')
    if req.method == "HEAD":
        await manifest_resp.close()
    if req.method == "HEAD" and known is not None and part is None:
        etag, size = known
        headers = _slo_headers(manifest_resp.headers, manifest_etag)
        return await _respond(req, headers, etag, size, _no_segments, None, access)
    reuse = manifest_resp if req.method == "GET" else None
    resp, entries = await slo.read_manifest(req, req.container or "", req.obj or "", reuse)
    etag, size = slo.etag_and_size(resp.headers, entries) or ("", 0)
    headers = _slo_headers(resp.headers, manifest_etag or (resp.headers.get("etag") or "").strip('"'))
    segments = to_segments(entries)
    access = access.trusting_multipart(resp.headers, req.container or "")

    async def load() -> Sequence[Segment]:
        await access.require_all(segments)
        return segments

    async def expand(seg: Segment) -> Sequence[Segment]:
        return await slo.expand_sub_slo(req, seg, access)

    part_range = None
    if part is not None:
        headers["X-Parts-Count"] = str(len(segments))
        if part > len(segments):
            return _part_unsatisfiable(req, headers, etag, size)
        start = sum(seg.length for seg in segments[:part - 1])
        part_range = (start, start + segments[part - 1].length)
    return await _respond(req, headers, etag, size, load, expand, access, part_range)


PART_NUMBER_INVALID = "Part number must be an integer greater than 0"
PART_NUMBER_UNSATISFIABLE = b"The requested part number is not satisfiable"


def part_number(req: ObjectRequest) -> int | None:
    """``?part-number=N`` of an SLO GET/HEAD (1-based); None without one. ValueError (Swift's 400
    text) when it is not a positive integer or comes with a Range."""
    value = req.query.get("part-number")
    if value is None:
        return None
    if not value.strip().isdigit() or not value.strip().isascii() or int(value) < 1:
        raise ValueError(PART_NUMBER_INVALID)
    if req.headers.get("range"):
        raise ValueError("Range requests are not supported with part number queries")
    return int(value)


def _slo_headers(backend: Mapping[str, str], manifest_etag: str) -> dict[str, str]:
    headers = _entity_headers(backend)
    headers["X-Static-Large-Object"] = "True"
    if manifest_etag:
        headers["X-Manifest-Etag"] = manifest_etag
    return headers


def _part_unsatisfiable(req: ObjectRequest, headers: dict[str, str], etag: str, size: int) -> Response:
    """416 for a part number past the last segment, with the SLO's ETag and size (as Swift)."""
    headers["Etag"] = f'"{etag}"'
    headers["Content-Range"] = http_ranges.unsatisfiable_range(size)
    body = b"" if req.method == "HEAD" else PART_NUMBER_UNSATISFIABLE
    headers = _without(headers, "content-length", "content-type")
    headers["Content-Length"] = str(len(body))
    resp = Response(body, status_code=416, headers=headers)
    resp.headers["Content-Type"] = "text/plain; charset=utf-8"
    return resp


async def _get_dlo(req: ObjectRequest, manifest_resp: BackendResponse, access: SegmentAccess) -> Response:
    await manifest_resp.close()
    value = lookup(manifest_resp.headers, "X-Object-Manifest") or ""
    parsed = dlo.parse_manifest_header(value)
    if parsed is None:
        return error_response(400, "X-Object-Manifest must be in the format container/prefix\n")
    await access.require(parsed[0], None)  # the listing, as Swift's DLO lists the container as the caller
    listed = await dlo.list_segments(req, *parsed)
    if listed is None:
        return error_response(404)
    segments, etag = listed
    headers = _entity_headers(manifest_resp.headers)
    headers["X-Object-Manifest"] = value

    async def load() -> Sequence[Segment]:
        return segments

    # a DLO serves one range at most: several are ignored (200 with everything), as Swift's DLO
    return await _respond(req, headers, etag, sum(s.length for s in segments), load, None, access,
                          multi_range=False)


async def _no_segments() -> Sequence[Segment]:
    return []


def _entity_headers(backend: Mapping[str, str]) -> dict[str, str]:
    """The manifest's headers worth returning for the large object (metadata, dates, type)."""
    out = {}
    for name, value in backend.items():
        low = name.lower()
        if low == VERSION_ID_SYSMETA:  # object versioning: the version this manifest is
            out["X-Object-Version-Id"] = value or "null"
            continue
        if low in DROP_HEADERS or low.startswith(DROP_PREFIXES):
            continue
        if low == "content-type":
            value = ";".join(p for p in value.split(";") if not p.strip().startswith("swift_bytes="))
        out[name] = value
    return out


# -- the response ---------------------------------------------------------------------------------

async def _respond(req: ObjectRequest, headers: dict[str, str], etag: str, size: int,
                   load: SegmentLoader, expand: Expander | None, access: SegmentAccess,
                   part: tuple[int, int] | None = None, multi_range: bool = True) -> Response:
    """Conditionals, then 200 / 206 / multipart 206 / 416, streaming the segments for GET.

    ``part``: the half-open byte range of the SLO part a ``?part-number`` asked for (206, HEAD too).
    ``multi_range`` False: a Range of several ranges is ignored (200 with the whole object)."""
    headers["Etag"] = f'"{etag}"'
    headers["Accept-Ranges"] = "bytes"
    last_modified = lookup(headers, "Last-Modified")
    status = conditional.evaluate(req.method, req.headers, etag, last_modified)
    if status is not None:
        kept = conditional.conditional_headers(headers)
        if status == 304:
            return Response(b"", status_code=304, headers=kept)
        return error_response(status, headers=kept)
    if part is not None:
        return await _respond_part(req, headers, size, part, load, expand, access)
    ctype = lookup(headers, "Content-Type") or "application/octet-stream"
    spec = None if req.method == "HEAD" else http_ranges.parse_range(req.headers.get("range"))
    if spec is not None and len(spec) > 1 and not multi_range:
        spec = None
    wanted = http_ranges.ranges_for_length(spec, size)
    if wanted == []:
        headers["Content-Range"] = http_ranges.unsatisfiable_range(size)
        return error_response(416, headers=_without(headers, "content-type", "content-length"))
    if req.method == "HEAD":
        headers["Content-Length"] = str(size)
        return Response(b"", status_code=200, headers=headers)
    segments = await load()
    account = req.account

    def body(start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes [start, end) of the large object."""
        return stream_range(req.client, account, segments, start, end - 1, access, expand)

    if wanted is None or size == 0:
        headers["Content-Length"] = str(size)
        stream = await _first_segment_checked(body(0, size)) if size else _empty()
        return StreamingResponse(stream, status_code=200, headers=headers)
    if len(wanted) == 1:
        start, end = wanted[0]
        headers["Content-Range"] = http_ranges.content_range(start, end, size)
        headers["Content-Length"] = str(end - start)
        return StreamingResponse(await _first_segment_checked(body(start, end)), status_code=206,
                                 headers=headers)
    boundary = http_ranges.new_boundary()

    async def fetch(start: int, end: int) -> AsyncIterator[bytes]:
        return body(start, end)

    headers["Content-Type"] = http_ranges.multipart_content_type(boundary)
    for key in [k for k in headers if k.lower() == "content-type" and k != "Content-Type"]:
        del headers[key]
    headers["Content-Length"] = str(http_ranges.multipart_length(wanted, boundary, ctype, size))
    stream = http_ranges.multipart_byteranges(wanted, fetch, boundary, ctype, size)
    return StreamingResponse(stream, status_code=206, headers=headers)


async def _respond_part(req: ObjectRequest, headers: dict[str, str], size: int, part: tuple[int, int],
                        load: SegmentLoader, expand: Expander | None, access: SegmentAccess) -> Response:
    """206 with the part's bytes (a HEAD too: its Content-Length is the part's, as Swift's)."""
    start, end = part
    headers["Content-Range"] = http_ranges.content_range(start, end, size)
    headers["Content-Length"] = str(end - start)
    if req.method == "HEAD":
        return Response(b"", status_code=206, headers=headers)
    segments = await load()
    body = stream_range(req.client, req.account, segments, start, end - 1, access, expand)
    return StreamingResponse(await _first_segment_checked(body), status_code=206, headers=headers)


class FirstSegmentError(SegmentError):
    """The first segment to send is missing or changed: answered 409 before any header, as Swift's."""


async def _first_segment_checked(body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """``body`` once its first chunk was read: a first segment that is missing or changed becomes a
    ``FirstSegmentError`` here (Swift's ``validate_first_segment``), not a cut-off 200."""
    try:
        first = await anext(body, None)
    except SegmentForbidden:
        raise
    except SegmentError as err:
        raise FirstSegmentError(str(err)) from err

    async def rest() -> AsyncIterator[bytes]:
        if first is not None:
            yield first
        async for chunk in body:
            yield chunk

    return rest()


def _without(headers: dict[str, str], *names: str) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() not in names}


async def _empty() -> AsyncIterator[bytes]:
    if False:  # pragma: no cover - an async generator that yields nothing
        yield b""

