"""Server-side copy: ``COPY`` with ``Destination`` and ``PUT`` with ``X-Copy-From``.

The source streams from the cluster straight into the destination PUT. A large-object source is
resolved through the SLO/DLO feature (its concatenated data is copied) unless
``multipart-manifest=get`` asks for the manifest itself. A single ``Range`` copies that part of a
plain object (416 when nothing of it exists); several ranges copy the whole object.

Both paths are checked as the caller (the router table's access for the request's own path, ``check``
for the other one), and a large-object source's segments are read with the caller's rights too
(``access.segment_access``): a forbidden segment is the copy's 403 and nothing is written. The source
is read first, as Swift's copy does: a missing source is a 404 whoever the destination.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Mapping
from typing import cast
from urllib.parse import quote

from starlette.responses import Response, StreamingResponse

from objclient import BackendResponse
from proxy.auth.authorize import denied_response
from proxy.http import ranges
from proxy.http.bodies import stream_backend
from proxy.http.errors import HTTPError, error_response
from proxy.http.headers import unquote_wire
from proxy.large_objects.access import WatchedBody
from proxy.large_objects.response import get_large_object
from proxy.large_objects.slo import is_slo
from proxy.large_objects.slo_manifest import MAX_MANIFEST_SIZE
from proxy.swift import access, constraints
from proxy.swift.context import SwiftRequest
from proxy.swift.features import slo
from proxy.swift.headers import OBJECT_SYSTEM_HEADERS, object_write_headers
from proxy.swift.obj_get import is_expired, is_large_object
from proxy.swift.replies import backend_failure, created_response
from stackstore.timestamp import Timestamp

Location = tuple[str, str, str]  # account, container, object
# headers, body, length, etag to check, the backend response under the body (``release`` closes it)
Source = tuple[Mapping[str, str], AsyncIterable[bytes], int | None, str | None, BackendResponse]
MAX_STORED_MANIFEST = 4 * MAX_MANIFEST_SIZE  # a stored manifest's entries are longer than the PUT form's


def parse_copy_path(value: str, header: str) -> tuple[str, str]:
    """``/c/o`` or ``c/o`` (percent-encoded or raw UTF-8) → (container, object); 412 otherwise."""
    path = unquote_wire(value)
    if path is None:
        raise HTTPError(412, f"{header} header must be UTF-8")
    if not path.startswith("/"):
        path = "/" + path
    container, _, obj = path[1:].partition("/")
    if not container or not obj:
        raise HTTPError(412, f"{header} header must be of the form <container name>/<object name>")
    return container, obj


def _account_header(req: SwiftRequest, header: str) -> str:
    """The account named by ``header`` (percent-encoded or raw UTF-8), or the request's own."""
    value = req.headers.get(header)
    if not value:
        return req.account
    account = unquote_wire(value)
    if account is None:
        raise HTTPError(412, f"{header} header must be UTF-8")
    return account


async def copy_verb(req: SwiftRequest) -> Response:
    """``COPY /v1/a/c/o`` + ``Destination: /c2/o2`` [+ ``Destination-Account``]."""
    dest = req.headers.get("destination")
    if not dest:
        return error_response(412, "Destination header required")
    container, obj = parse_copy_path(dest, "Destination")
    account = _account_header(req, "destination-account")
    constraints.check_names(account, container, obj)

    async def check_destination() -> Response | None:  # the source: the table's COPY
        return await access.check(req.subrequest("PUT", account, container, obj))

    return await do_copy(req, (req.account, req.container_name, req.object_name), (account, container, obj),
                         check_destination)


async def copy_from(req: SwiftRequest) -> Response:
    """``PUT /v1/a/c/o`` + ``X-Copy-From: /c1/o1`` [+ ``X-Copy-From-Account``]."""
    container, obj = parse_copy_path(req.headers["x-copy-from"], "X-Copy-From")
    account = _account_header(req, "x-copy-from-account")
    constraints.check_names(account, container, obj)
    denied = await access.check(req.subrequest("GET", account, container, obj))  # the destination: the table's PUT
    if denied is not None:
        return denied
    return await do_copy(req, (account, container, obj), (req.account, req.container_name, req.object_name))


async def _open_source(req: SwiftRequest, src: Location, manifest_get: bool) -> Source | Response:
    """(source headers, body iterator, length, etag to verify or None, the backend response that
    ``release`` closes when the body is not read) or an error Response."""
    resp = await req.client.get_object(*src)
    if resp.status != 200 or is_expired(resp.headers):
        await resp.close()
        return error_response(404 if resp.status in (200, 404) else 503)
    if is_large_object(resp.headers) and not manifest_get:
        # the large-object answer reads the source's own path; ?part-number= picks one SLO part, as Swift
        part = {"part-number": req.query["part-number"]} if "part-number" in req.query else None
        sub = req.subrequest("GET", *src, query=part)
        out = await get_large_object(sub, resp, access.segment_access(sub))
        if out.status_code in (400, 401, 403, 416):
            return out
        if out.status_code not in (200, 206):
            return error_response(out.status_code)
        body: AsyncIterable[bytes]
        if isinstance(out, StreamingResponse):
            # a large-object answer streams bytes (starlette types its iterator as str | bytes | memoryview)
            body = cast(AsyncIterable[bytes], out.body_iterator)
        else:
            body = _one(bytes(out.body))
        raw_length = out.headers.get("content-length")
        return resp.headers, body, int(raw_length) if raw_length else None, None, resp
    length = int(resp.headers.get("content-length") or 0)
    wanted = ranges.ranges_for_length(ranges.parse_range(req.headers.get("range")), length)
    if wanted == []:
        await resp.close()
        return error_response(416, headers={"Content-Range": ranges.unsatisfiable_range(length)})
    if wanted is not None and len(wanted) == 1:  # a partial copy, as Swift's copy middleware makes
        start, end = wanted[0]
        return resp.headers, stream_backend(resp, start, end), end - start, None, resp
    return resp.headers, stream_backend(resp), length, resp.headers.get("etag"), resp


async def release(body: AsyncIterable[bytes], backend: BackendResponse) -> None:
    """Close a source that will not be copied: its body iterator and the backend response under it."""
    closing = getattr(body, "aclose", None)
    if closing is not None:
        await closing()
    await backend.close()


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _dest_headers(req: SwiftRequest, src_headers: Mapping[str, str], manifest_get: bool, large: bool) -> dict[str, str]:
    fresh = constraints.true_value(req.headers.get("x-fresh-metadata"))
    out: dict[str, str] = {}
    for name, value in src_headers.items():
        low = name.lower()
        if low == "content-type" or (not fresh and (
                low.startswith("x-object-meta-") or (low in OBJECT_SYSTEM_HEADERS and low != "x-object-manifest"))):
            out[name] = value
        elif (manifest_get or not large) and (low.startswith("x-object-sysmeta-") or low in (
                "x-static-large-object", "x-object-manifest")):
            out[name] = value
    constraints.check_metadata(req.headers, "object")
    for name, value in object_write_headers(req.headers).items():
        if name.lower() != "etag":
            _set(out, name, value)
    delete_at = constraints.delete_at(req.headers)
    if delete_at is not None:
        _set(out, "X-Delete-At", delete_at)
    for name, value in req.sysmeta.items():  # what features decided (the version id)
        _set(out, name, value)
    return out


def _set(headers: dict[str, str], name: str, value: str) -> None:
    for key in [k for k in headers if k.lower() == name.lower()]:
        del headers[key]
    headers[name] = value


async def _copy_slo_manifest(req: SwiftRequest, src: Location, dst: Location, src_headers: Mapping[str, str],
                             body: AsyncIterable[bytes]) -> Response:
    """The manifest of an SLO copied as Swift does: re-PUT at ``dst`` through the SLO manifest PUT."""
    stored = bytearray()
    async for chunk in body:
        stored += chunk
        if len(stored) > MAX_STORED_MANIFEST:
            return error_response(413, "Your request is too large.")
    headers = _dest_headers(req, src_headers, manifest_get=False, large=True)
    resp = await slo.copy_manifest(req, dst, bytes(stored), headers)
    if resp.status_code == 201:
        resp.headers.update(_copied_from(src, dst, src_headers))
    return resp


def _copied_from(src: Location, dst: Location, src_headers: Mapping[str, str]) -> dict[str, str]:
    extra = {"X-Copied-From": f"{quote(src[1])}/{quote(src[2])}"}
    if src_headers.get("last-modified"):
        extra["X-Copied-From-Last-Modified"] = src_headers["last-modified"]
    if src[0] != dst[0]:
        extra["X-Copied-From-Account"] = quote(src[0])
    return extra


async def do_copy(req: SwiftRequest, src: Location, dst: Location,
                  check_destination: Callable[[], Awaitable[Response | None]] | None = None) -> Response:
    """Stream ``src`` into a PUT of ``dst``; 201 with ``X-Copied-From`` headers. The source is opened
    first; then ``check_destination`` (the destination's authorization, when not already checked)
    and the destination container's existence (404) are checked."""
    manifest_get = req.query.get("multipart-manifest") == "get"
    opened = await _open_source(req, src, manifest_get)
    if isinstance(opened, Response):
        return opened
    src_headers, body, length, etag, backend = opened
    refused = await check_destination() if check_destination is not None else None
    if refused is None:
        info = await req.state.container_info(dst[0], dst[1])
        if not 200 <= info["status"] < 300:
            refused = error_response(404)
    if refused is not None:
        await release(body, backend)
        return refused
    if length is not None and length > constraints.MAX_FILE_SIZE:
        await release(body, backend)
        return error_response(413, "Your request is too large.")
    if manifest_get and is_slo(src_headers):
        return await _copy_slo_manifest(req, src, dst, src_headers, body)
    headers = _dest_headers(req, src_headers, manifest_get, is_large_object(src_headers))
    if etag:
        headers["Etag"] = etag.strip('"')
    req.timestamp = req.timestamp or Timestamp.now().normal
    headers["X-Timestamp"] = req.timestamp
    watched = WatchedBody(body)  # a forbidden nested segment fails the storage PUT: nothing is written
    guard = req.versioned.guard  # versioning: replace only the version it archived (nodes decide before the body)
    resp = await req.client.put_object(*dst, headers, aiter(watched), content_length=length, condition=guard)
    await resp.close()
    if guard is not None and resp.status in (404, 409, 412):  # another write is current: versioning retries
        await release(body, backend)
        req.versioned.lost_race = True
        return error_response(409)
    if watched.forbidden is not None:
        return denied_response(watched.forbidden.status, req.account)
    if resp.status != 201:
        return backend_failure(resp.status)
    return created_response(req, resp.headers, _copied_from(src, dst, src_headers))
