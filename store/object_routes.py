"""Object requests: ``/obj/<device>/<partition>/<account>/<container>/<object>``."""

from __future__ import annotations

import operator
import re
import time
from collections.abc import Mapping

from starlette.background import BackgroundTask
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse

from stackstore.footer import FOOTER_HEADER, FOOTER_LENGTH, decode_footer
from stackstore.storage_policies import POLICY_INDEX_HEADER
from stackstore.timestamp import Timestamp
from stackstore.wire import (
    BODY_DIGESTS,
    BODY_DIGESTS_IN_FOOTER,
    BODY_MD5,
    BODY_XXH3,
    BUFFERED_PUT_MAX,
    COMMIT_TIMESTAMP,
    COMMIT_TIMESTAMP_IN_FOOTER,
    COND_DATA_TIMESTAMP,
    COND_ETAG_IS_AT,
    COND_IF_MATCH,
    COND_IF_NONE_MATCH,
    CONFLICT,
    OPEN_EXPIRED,
    RESERVATION_CONFLICT,
    with_version_param,
)
from store import expiring
from store.diskfile import (
    DiskFile,
    DiskFileConflict,
    DiskFileDigestMismatch,
    DiskFileError,
    DiskFileNoSpace,
    DiskFileNotFound,
    DiskFileQuarantined,
    DiskFileWriter,
    ObjectReader,
    StoredVersion,
)
from store.file_response import SENDFILE_MIN, FileRangeResponse
from store.node import Node
from store.reqparse import HTTPError, StoragePath, int_header, timestamp_header, title_case
from store.updates import ObjectRow, container_targets

PERSISTED = frozenset({"content-type", "content-encoding", "content-disposition", "content-language",
                       "cache-control", "expires", "x-delete-at", "x-object-manifest",
                       "x-static-large-object", "x-robots-tag"})
PERSISTED_PREFIXES = ("x-object-meta-", "x-object-sysmeta-", "x-object-transient-sysmeta-")
# A stale PUT of a body up to this size is refused at commit time, in the I/O thread that commits
# (one hop). Bigger bodies arrive after ``Expect: 100-continue``: check before asking for them.
SMALL_PUT = BUFFERED_PUT_MAX  # the client's threshold for sending a body without Expect (stackstore/wire.py)


# the names above as one pattern: the stored headers are picked out by a C filter, not a Python test per header
_PERSISTED_NAME = re.compile("|".join([*(re.escape(name) + "$" for name in sorted(PERSISTED)),
                                       *(re.escape(prefix) for prefix in PERSISTED_PREFIXES)]))


def persisted_headers(request: Request) -> dict[str, str]:
    """Headers stored with a PUT (title-cased names; of a repeated name, its last value)."""
    values = dict(request.headers.items())
    out = {title_case(key): values[key] for key in filter(_PERSISTED_NAME.match, values)}
    out.setdefault("Content-Type", "application/octet-stream")
    return out


def _delete_at(request: Request) -> str | None:
    """Validated X-Delete-At (400 when malformed or already past)."""
    value = request.headers.get("x-delete-at")
    if value is None:
        return None
    try:
        delete_at = int(value)
    except ValueError:
        raise HTTPError(400, "bad X-Delete-At") from None
    if delete_at < time.time():  # as Swift's object server: the second itself is not past yet
        raise HTTPError(400, "X-Delete-At in past")
    return str(delete_at)


def request_policy(node: Node, request: Request) -> int:
    """The storage policy index of an object request (``X-Backend-Storage-Policy-Index``, default 0);
    400 when it names no configured policy."""
    raw = request.headers.get(POLICY_INDEX_HEADER)
    if raw is None:
        return 0
    policy = node.policies.by_index(raw.strip())
    if policy is None:
        raise HTTPError(400, f"no storage policy with index {raw!r}")
    return policy.index


def _diskfile(node: Node, sp: StoragePath, request: Request) -> DiskFile:
    node.device_path(sp.device)
    hash_hex = node.object_hash(sp.account, sp.container_name, sp.object_name)
    policy = request_policy(node, request)
    partition = node.rings.current_partition(policy, sp.partition, hash_hex)  # a stale ring's request
    return node.diskfiles.get(sp.device, partition, hash_hex, f"/{sp.account}/{sp.container_name}/{sp.object_name}",
                              policy)


def _ts_headers(ts: Timestamp | None) -> dict[str, str]:
    return {"X-Backend-Timestamp": ts.normal} if ts is not None else {}


async def _send_row_update(node: Node, df: DiskFile, request: Request, sp: StoragePath, row: ObjectRow) -> None:
    targets, part = container_targets(request.headers)
    if targets and part is not None:
        await node.updater.object_changed(df.device_path, df.hash_hex, sp.account, sp.container_name,
                                          sp.object_name, targets, part, row)


async def put_object(node: Node, request: Request, sp: StoragePath) -> Response:
    """Store a PUT's body; a conditional PUT (stackstore/wire.py) holds its name's reservation throughout."""
    if COND_IF_NONE_MATCH.lower() not in request.headers and COND_IF_MATCH.lower() not in request.headers:
        return await _put_object(node, request, sp)
    df = _diskfile(node, sp, request)
    name = (df.device_path, df.policy, df.hash_hex)
    if not node.reservations.take(name):
        raise HTTPError(409, "a conditional write of this object is in progress",
                        {CONFLICT: RESERVATION_CONFLICT})
    try:
        await _check_condition(node, df, request)
        return await _put_object(node, request, sp)
    finally:
        node.reservations.release(name)


async def _check_condition(node: Node, df: DiskFile, request: Request) -> None:
    """412 unless the stored object satisfies the PUT's If-None-Match: * / If-Match: <etag>."""
    try:
        reader = await df.open_on_loop()
    except (DiskFileNotFound, DiskFileQuarantined):
        current = None
    else:
        reader.close()
        current = _client_etag(reader, request.headers.get(COND_ETAG_IS_AT.lower(), ""))
    if_none_match = request.headers.get(COND_IF_NONE_MATCH.lower())
    if if_none_match is not None and current is not None and if_none_match.strip().strip('"') in ("*", current):
        raise HTTPError(412, "object exists (If-None-Match)")
    if_match = request.headers.get(COND_IF_MATCH.lower())
    if if_match is not None and (current is None or if_match.strip().strip('"') not in (current, "*")):
        raise HTTPError(412 if current is not None else 404, "ETag differs (If-Match)")


def _client_etag(reader: ObjectReader, etag_is_at: str) -> str:
    """The ETag a client knows the object by: the first metadata named in ``etag_is_at`` that is
    stored, else the data's md5."""
    stored = {k.lower(): v for k, v in reader.headers.items()}
    stored[COND_DATA_TIMESTAMP.lower()] = reader.timestamp.normal  # the write's own identity
    for name in etag_is_at.split(","):
        value = stored.get(name.strip().lower())
        if value:
            return value.strip('"')
    return reader.etag


async def _put_object(node: Node, request: Request, sp: StoragePath) -> Response:
    ts = timestamp_header(request)
    df = _diskfile(node, sp, request)
    length = int_header(request, "content-length")
    chunked = "chunked" in request.headers.get("transfer-encoding", "").lower()
    if length is None and not chunked:
        raise HTTPError(411, "Content-Length or chunked transfer encoding required")
    headers = persisted_headers(request)
    delete_at = _delete_at(request)
    targets = container_targets(request.headers)  # validate before reading the body
    expected_etag = request.headers.get("etag", "").strip('"').lower() or None
    stamp_in_footer = request.headers.get(COMMIT_TIMESTAMP.lower()) == COMMIT_TIMESTAMP_IN_FOOTER
    if (length is None or length > SMALL_PUT) and not stamp_in_footer:
        await _check_newer(node, df, ts)
    node.check_space(df.device_path, length or 0)
    footer_length = _footer_length(request, length)
    if stamp_in_footer and not footer_length:
        raise HTTPError(400, f"{COMMIT_TIMESTAMP} in a footer needs one")
    digests_in_footer = request.headers.get(BODY_DIGESTS.lower()) == BODY_DIGESTS_IN_FOOTER
    if digests_in_footer and not footer_length:
        raise HTTPError(400, f"{BODY_DIGESTS} in a footer needs one")
    writer = df.writer()
    if digests_in_footer:
        writer.check_sender_md5()
    etag = None
    try:
        body_length = None if length is None else length - footer_length
        footer = await _receive_body(request, writer, body_length, footer_length)
        footer_headers = _footer_headers(footer) if footer_length else {}
        if footer_length and stamp_in_footer:
            ts = _commit_timestamp(footer_headers, ts)
        sender_digests = _body_digests(footer_headers) if digests_in_footer else None
        headers.update(footer_headers)
        etag = await writer.finish(sender_digests)
        if expected_etag is not None and expected_etag != etag:
            raise HTTPError(422, "ETag mismatch")
        await writer.commit(ts, headers, newer_only=True)
    except DiskFileDigestMismatch:  # damaged between the proxy and here: the proxy answers 503
        raise HTTPError(500, "body digest mismatch") from None
    except DiskFileConflict as exc:  # the body's ETag too once it was read: the proxy answers it (S3)
        conflict = _ts_headers(exc.timestamp) | ({"ETag": etag} if etag else {})
        raise HTTPError(409, "newer object exists", conflict) from None
    except (DiskFileNoSpace, OSError) as exc:
        raise HTTPError(507, "device write failed") from exc
    finally:
        await writer.aclose()
    if delete_at is not None:
        await expiring.record(node, sp.device, [expiring.Entry(
            int(delete_at), df.hash_hex, df.name, df.partition, ts.normal, df.policy)])
    if targets[0]:
        row = {"size": str(writer.size), "etag": etag, "content-type": headers["Content-Type"]}
        row.update(update_overrides(request, footer_headers))
        row["etag"] = with_version_param(row["etag"], headers)
        await _send_row_update(node, df, request, sp, ObjectRow.put(ts, row["size"], row["etag"],
                                                                    row["content-type"]))
    return Response(status_code=201, headers={"ETag": etag})


def _commit_timestamp(footer: dict[str, str], lower_bound: Timestamp) -> Timestamp:
    """The write's version carried in its footer (removed from ``footer``); 400 when missing, malformed
    or older than the request's X-Timestamp."""
    value = next((footer.pop(k) for k in list(footer) if k.lower() == COMMIT_TIMESTAMP.lower()), None)
    try:
        ts = Timestamp(value) if value is not None else None
    except ValueError:
        ts = None
    if ts is None or ts < lower_bound:
        raise HTTPError(400, f"bad {COMMIT_TIMESTAMP} in the footer")
    return ts


def _body_digests(footer: dict[str, str]) -> tuple[str, str]:
    """The sender's (MD5 hex, xxh3-64 hex) of the body, removed from ``footer``; 400 when malformed."""
    found = {k.lower(): footer.pop(k) for k in list(footer) if k.lower() in (BODY_MD5.lower(), BODY_XXH3.lower())}
    md5, xxh3 = found.get(BODY_MD5.lower(), ""), found.get(BODY_XXH3.lower(), "")
    if not (_is_hex(md5, 32) and _is_hex(xxh3, 16)):
        raise HTTPError(400, f"bad {BODY_MD5}/{BODY_XXH3} in the footer")
    return md5, xxh3


def _is_hex(value: str, digits: int) -> bool:
    return len(value) == digits and all(c in "0123456789abcdef" for c in value)


def _footer_length(request: Request, length: int | None) -> int:
    """The metadata footer's size (stackstore/footer.py); 0 without one. A chunked body (``length``
    None) ends with it too."""
    value = int_header(request, FOOTER_HEADER.lower())
    if value is None:
        return 0
    if value != FOOTER_LENGTH or (length is not None and length < value):
        raise HTTPError(400, "bad X-Backend-Footer-Length")
    return value


async def _receive_body(request: Request, writer: DiskFileWriter, body_length: int | None,
                        footer_length: int = 0) -> bytes:
    """Write the request body (its first ``body_length`` bytes when known); return what follows them
    (the footer). A chunked body with a footer keeps its last ``footer_length`` bytes back as the footer.
    499 when the body ends short."""
    tail = bytearray()
    held_back = body_length is None and footer_length > 0
    try:
        async for chunk in request.stream():
            if held_back:
                tail += chunk
                if len(tail) > footer_length:
                    cut = len(tail) - footer_length
                    await writer.write(bytes(tail[:cut]))
                    del tail[:cut]
                continue
            room = len(chunk) if body_length is None else max(0, body_length - writer.size)
            if room:
                await writer.write(chunk[:room] if room < len(chunk) else chunk)
            if room < len(chunk):
                tail += chunk[room:]
    except ClientDisconnect:
        raise HTTPError(499, "client disconnected") from None
    if body_length is not None and writer.size != body_length:
        raise HTTPError(499, "body shorter than Content-Length")
    return bytes(tail)


def _footer_headers(footer: bytes) -> dict[str, str]:
    if len(footer) != FOOTER_LENGTH:
        raise HTTPError(499, "body shorter than Content-Length")
    try:
        return {title_case(k): v for k, v in decode_footer(footer).items()}
    except ValueError as exc:
        raise HTTPError(400, str(exc)) from None


async def _check_newer(node: Node, df: DiskFile, ts: Timestamp) -> None:
    """409 when the object's newest .data/.ts is as new as ``ts`` (a listdir: from the kernel's caches, else in
    an I/O thread)."""
    try:
        await df.check_newer_on_loop(ts)
    except DiskFileConflict as exc:
        raise HTTPError(409, "newer object exists", _ts_headers(exc.timestamp)) from None


OVERRIDE_PREFIXES = ("x-object-sysmeta-container-update-override-", "x-backend-container-update-override-")


_OVERRIDE_NAME = re.compile("|".join(map(re.escape, OVERRIDE_PREFIXES)))  # either prefix, matched in C
_FIRST = operator.itemgetter(0)


def update_overrides(request: Request, footer: Mapping[str, str] | None = None) -> dict[str, str]:
    """Listing-row values a PUT asks for instead of its own (size, etag, content-type): a manifest's, or
    an encrypted object's plaintext ETag (known after the body: in the metadata ``footer``, which wins
    over the same sysmeta sent as a header); ``X-Backend-Container-Update-Override-*`` wins over both."""
    out: dict[str, str] = {}
    items = request.headers.items()
    if not footer and not any(map(_OVERRIDE_NAME.match, map(_FIRST, items))):
        return out  # the usual PUT: no override anywhere (asked in C, not by a Python step per header)
    sources = [items, [(k.lower(), v) for k, v in (footer or {}).items()], items]
    for prefix, pairs in zip((OVERRIDE_PREFIXES[0], OVERRIDE_PREFIXES[0], OVERRIDE_PREFIXES[1]), sources,
                             strict=True):
        for key, value in pairs:
            if key.startswith(prefix) and key[len(prefix):] in ("size", "etag", "content-type"):
                out[key[len(prefix):]] = value
    if "size" in out and not out["size"].isdigit():
        raise HTTPError(400, "bad container update override size")
    return out


def stored_overrides(headers: Mapping[str, str]) -> dict[str, str]:
    """The listing-row values a stored object (a manifest) keeps in its persisted override sysmeta."""
    prefix = OVERRIDE_PREFIXES[0]
    out: dict[str, str] = {}
    for key, value in headers.items():
        low = key.lower()
        if low.startswith(prefix) and low[len(prefix):] in ("size", "etag", "content-type"):
            out[low[len(prefix):]] = value
    return out


def opens_expired(request: Request) -> bool:
    """Whether the (signed) request asks for an object even past its X-Delete-At (``wire.OPEN_EXPIRED``)."""
    return (request.headers.get(OPEN_EXPIRED) or "").strip().lower() in ("1", "true", "yes", "on", "t", "y")


async def _open(node: Node, df: DiskFile, open_expired: bool = False) -> ObjectReader:
    """Open without waiting on the disk on the event loop (``DiskFile.open_on_loop``). ``open_expired``: an
    object past its X-Delete-At (not yet reaped by the expirer) opens too."""
    try:
        return await df.open_on_loop(0.0 if open_expired else None)
    except DiskFileNotFound as exc:
        raise HTTPError(404, "", _ts_headers(exc.timestamp)) from None
    except DiskFileQuarantined:
        raise HTTPError(404) from None


def _response_headers(reader: ObjectReader) -> dict[str, str]:
    headers = dict(reader.headers)
    headers.update({
        "Content-Type": reader.content_type,
        "ETag": reader.etag,
        "X-Timestamp": reader.timestamp.normal,
        "Last-Modified": reader.newest_timestamp.http_date,
        "X-Backend-Timestamp": reader.newest_timestamp.normal,
        "X-Backend-Data-Timestamp": reader.timestamp.normal,
        "Accept-Ranges": "bytes",
    })
    return headers


def parse_range(value: str, size: int) -> tuple[int, int] | None:
    """(start, end inclusive) for a single ``bytes=`` range; None to ignore it; 416 if unsatisfiable."""
    unit, _, spec = value.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    first, last = first.strip(), last.strip()
    if not dash or (first and not first.isdigit()) or (last and not last.isdigit()) or not (first or last):
        return None
    unsatisfiable = HTTPError(416, "", {"Content-Range": f"bytes */{size}"})
    if not first:
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise unsatisfiable
        return max(size - suffix, 0), size - 1
    start = int(first)
    if last and int(last) < start:
        return None
    end = int(last) if last else size - 1
    if start >= size:
        raise unsatisfiable
    return start, min(end, size - 1)


async def get_object(node: Node, request: Request, sp: StoragePath, head: bool = False) -> Response:
    df = _diskfile(node, sp, request)
    reader = await _open(node, df, opens_expired(request))
    try:
        headers = _response_headers(reader)
        status, start, end = 200, 0, reader.size - 1
        if "range" in request.headers:
            rng = parse_range(request.headers["range"], reader.size)
            if rng is not None:
                status, (start, end) = 206, rng
                headers["Content-Range"] = f"bytes {start}-{end}/{reader.size}"
        headers["Content-Length"] = str(end - start + 1)
        if head or end < start:
            reader.close()
            return Response(status_code=status, headers=headers)
        bs = reader.block_size
        try:
            if not reader.in_memory and end - start + 1 >= SENDFILE_MIN:
                await reader.check_block(start // bs)  # corrupt before headers -> 404
                return FileRangeResponse(reader, start, end, status, headers)
            first = await reader.read_block(start // bs)  # corrupt before headers -> 404
            if end < (start // bs + 1) * bs:  # the whole answer is in this block
                reader.close()
                lo = start - (start // bs) * bs
                return Response(memoryview(first)[lo:lo + end - start + 1], status_code=status, headers=headers)
        except DiskFileQuarantined:
            raise HTTPError(404) from None
        except DiskFileError:
            raise HTTPError(503, "read failed") from None
        return StreamingResponse(reader.iter_range(start, end, first), status_code=status, headers=headers,
                                 background=BackgroundTask(reader.close))
    except BaseException:
        reader.close()
        raise


async def post_object(node: Node, request: Request, sp: StoragePath) -> Response:
    ts = timestamp_header(request)
    df = _diskfile(node, sp, request)
    delete_at = _delete_at(request)
    reader = await _open(node, df, opens_expired(request))
    reader.close()
    if reader.newest_timestamp >= ts:
        raise HTTPError(409, "newer metadata exists", _ts_headers(reader.newest_timestamp))
    meta = {title_case(k): v for k, v in request.headers.items()
            if k.startswith(("x-object-meta-", "x-object-transient-sysmeta-"))}
    # sysmeta merges: keep what the object has, add/replace what the POST sends, "" removes
    sysmeta = {k: v for k, v in reader.headers.items() if k.lower().startswith("x-object-sysmeta-")}
    sysmeta.update({title_case(k): v for k, v in request.headers.items() if k.startswith("x-object-sysmeta-")})
    meta.update({k: v for k, v in sysmeta.items() if v != ""})
    if "content-type" in request.headers:
        meta["Content-Type"] = request.headers["content-type"]
    elif "Content-Type" in reader.headers:  # a POST without one keeps the type an earlier POST set, as Swift's
        meta["Content-Type"] = reader.headers["Content-Type"]
    if "x-object-manifest" in request.headers:  # kept only when sent again (put_metadata)
        meta["X-Object-Manifest"] = request.headers["x-object-manifest"]
    if delete_at is not None:
        meta["X-Delete-At"] = delete_at
    try:
        await df.put_metadata(ts, meta)
    except (DiskFileNoSpace, OSError) as exc:
        raise HTTPError(507, "device write failed") from exc
    old_delete_at = expiring.parse_delete_at(reader.headers.get("X-Delete-At"))
    if delete_at is not None or old_delete_at is not None:  # the entry moves (or goes) with the POST
        await expiring.record(
            node, sp.device,
            [expiring.Entry(int(delete_at), df.hash_hex, df.name, df.partition, ts.normal, df.policy)]
            if delete_at else [],
            [expiring.entry_key(old_delete_at, df.hash_hex)] if old_delete_at is not None else [])
    # every POST moves the listing row to the POST's time (Swift's row meta timestamp: the listing's
    # last_modified, and what container sync compares to re-send a changed object); the type is the POST's,
    # else the one an earlier POST set, else the stored row's (a manifest's override)
    row = {"size": str(reader.size), "etag": reader.etag, **stored_overrides(reader.headers)}
    row["content-type"] = row_content_type(request.headers.get("content-type"), reader, row)
    row["etag"] = with_version_param(row["etag"], meta)
    await _send_row_update(node, df, request, sp, ObjectRow.put(ts, row["size"], row["etag"], row["content-type"]))
    return Response(status_code=202, headers={"X-Backend-Timestamp": ts.normal})


def row_content_type(posted: str | None, reader: ObjectReader, row: Mapping[str, str]) -> str:
    """The listing row's content type after a POST: the POST's; else one an earlier POST set (the merged
    type differs from the data's); else the row's override (a manifest's) or the data's type."""
    if posted is not None:
        return posted
    data_type = (reader.meta.get("headers") or {}).get("Content-Type")
    if reader.headers.get("Content-Type") != data_type:
        return reader.content_type
    return row.get("content-type") or reader.content_type


async def delete_object(node: Node, request: Request, sp: StoragePath) -> Response:
    ts = timestamp_header(request)
    df = _diskfile(node, sp, request)
    if_delete_at = request.headers.get("x-if-delete-at")
    if if_delete_at is not None:
        try:
            if_delete_at_ts = Timestamp(if_delete_at)
        except ValueError:
            raise HTTPError(400, "bad X-If-Delete-At") from None

    def write_if(stored: StoredVersion) -> bool:
        """Whether the tombstone goes in (run by the committing I/O thread, with the version it read)."""
        if stored.live and stored.newest is not None and stored.newest >= ts:
            raise HTTPError(409, "newer object exists", _ts_headers(stored.newest))
        if if_delete_at is not None:
            if stored.newest is None:
                raise HTTPError(404)
            if stored.newest >= ts:
                raise HTTPError(409, "newer object exists", _ts_headers(stored.newest))
            if stored.delete_at is None or Timestamp(stored.delete_at) != if_delete_at_ts:
                raise HTTPError(412, "X-If-Delete-At mismatch")
        return stored.newest is None or stored.newest < ts

    try:
        stored = await df.put_tombstone(ts, write_if)
    except (DiskFileNoSpace, OSError) as exc:
        raise HTTPError(507, "device write failed") from exc
    assert stored is not None
    if stored.newest is None or stored.newest < ts:
        await _send_row_update(node, df, request, sp, ObjectRow.delete(ts))
    resp_ts = max(stored.newest, ts) if stored.newest is not None else ts
    return Response(status_code=204 if stored.live else 404, headers={"X-Backend-Timestamp": resp_ts.normal})


async def handle(node: Node, request: Request, sp: StoragePath) -> Response:
    method = request.method
    if method == "GET":
        return await get_object(node, request, sp)
    if method == "HEAD":
        return await get_object(node, request, sp, head=True)
    if method == "PUT":
        return await put_object(node, request, sp)
    if method == "POST":
        return await post_object(node, request, sp)
    if method == "DELETE":
        return await delete_object(node, request, sp)
    raise HTTPError(405, headers={"Allow": "GET, HEAD, PUT, POST, DELETE"})
