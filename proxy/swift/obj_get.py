"""Object GET and HEAD: headers, expiry, conditionals, single and multiple byte ranges."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

from starlette.responses import Response, StreamingResponse

from objclient.response import BackendResponse
from proxy.expiry import is_expired
from proxy.http import conditional
from proxy.http import ranges as rng
from proxy.http.bodies import stream_backend, streamed
from proxy.http.errors import error_response
from proxy.large_objects.response import ManifestResponse
from proxy.swift import links
from proxy.swift.context import SwiftRequest
from proxy.swift.headers import object_response_headers
from stackstore.numbers import parse_uint


def is_large_object(headers: Mapping[str, str]) -> bool:
    slo = (headers.get("x-static-large-object") or "").strip().lower() in ("true", "1", "yes", "on", "t", "y")
    return slo or headers.get("x-object-manifest") is not None


def _range_value(spec: rng.RangeSpec) -> str:
    return "bytes=" + ",".join(f"{'' if a is None else a}-{'' if b is None else b}" for a, b in spec)


async def get_or_head(req: SwiftRequest) -> Response:
    """``GET``/``HEAD /v1/a/c/o``: 200, 206 (single or multipart ranges), 304, 404, 412, 416.

    A large object's manifest comes back as a ``ManifestResponse`` for the SLO/DLO pipeline features,
    a symlink as a ``LinkResponse`` for the symlink feature (unless ``?symlink=get`` asks for the link).
    """
    head = req.method == "HEAD"
    spec = rng.parse_range(req.headers.get("range"))
    if head:
        resp = await req.client.head_object(req.account, req.container_name, req.object_name)
    else:
        backend_headers = {"Range": _range_value(spec)} if spec and len(spec) == 1 else {}
        resp = await req.client.get_object(req.account, req.container_name, req.object_name, headers=backend_headers)
        if resp.status == 416:  # maybe a (short) manifest, or a node's view of the range: decide here
            await resp.close()
            resp = await req.client.get_object(req.account, req.container_name, req.object_name)
    if resp.status not in (200, 206):
        await resp.close()
        return error_response(404 if resp.status == 404 else 503 if resp.status >= 500 else resp.status)
    if is_expired(resp.headers) and not req.open_expired:  # the nodes' clocks may lag; open_expired: asked for
        await resp.close()
        return error_response(404)
    headers = object_response_headers(resp.headers)
    link = links.stored_link(resp.headers)
    if link is not None:
        if req.query.get("symlink") != "get":
            await resp.close()
            return links.LinkResponse(link, headers, resp.headers)  # the symlink feature follows it
        headers |= links.client_headers(resp.headers)
    if is_large_object(resp.headers) and (req.query.get("multipart-manifest") != "get" or (
            resp.headers.get("x-static-large-object") and resp.status == 200 and not spec)):
        return ManifestResponse(resp, headers, head)  # the SLO/DLO features answer for it
    status = conditional.evaluate(req.method, req.headers, resp.headers.get("etag"),
                                  resp.headers.get("last-modified"), both_preconditions=True)
    if status is not None:
        await resp.close()
        kept = conditional.conditional_headers(headers)
        return Response(b"", status_code=304, headers=kept) if status == 304 else error_response(412, headers=kept)
    if resp.status == 206 or not spec:
        return _send(req, resp, resp.status, headers)
    length = int(resp.headers.get("content-length") or 0)
    ranges = rng.ranges_for_length(spec, length)
    if ranges is None:
        return _send(req, resp, 200, headers)
    if len(ranges) == 1 and not head:  # a node that ignored our Range: cut the bytes out ourselves
        start, end = ranges[0]
        headers |= {"Content-Range": rng.content_range(start, end, length), "Content-Length": str(end - start)}
        return streamed(stream_backend(resp, start, end), 206, headers, end - start)
    await resp.close()
    if not ranges:  # the object's own headers (ETag, Accept-Ranges, metadata) come along, as Swift's
        kept = {k: v for k, v in headers.items() if k.lower() not in ("content-type", "content-length")}
        return error_response(416, headers=kept | {"Content-Range": rng.unsatisfiable_range(length)})
    return await ranged_response(req, headers, ranges, length)


def _send(req: SwiftRequest, resp: BackendResponse, status: int, headers: dict[str, str]) -> Response:
    if req.method == "HEAD":
        return Response(b"", status_code=status, headers=headers)
    return streamed(stream_backend(resp), status, headers, parse_uint(resp.headers.get("content-length")))


async def ranged_response(req: SwiftRequest, headers: dict[str, str], ranges: list[tuple[int, int]],
                          length: int) -> Response:
    """206 for resolved ``ranges`` of a plain object: one range, or ``multipart/byteranges``."""
    etag = headers.get("Etag")
    ctype = headers.get("Content-Type", "application/octet-stream")

    async def fetch(start: int, end: int) -> AsyncIterator[bytes]:
        part = await req.client.get_object(req.account, req.container_name, req.object_name,
                                           headers={"Range": f"bytes={start}-{end - 1}"})
        if part.status not in (200, 206) or (etag and part.headers.get("etag") != etag):
            await part.close()
            raise RuntimeError("object changed while serving ranges")
        return stream_backend(part) if part.status == 206 else stream_backend(part, start, end)

    if len(ranges) == 1:
        start, end = ranges[0]
        headers |= {"Content-Range": rng.content_range(start, end, length), "Content-Length": str(end - start)}
        if req.method == "HEAD":
            return Response(b"", status_code=206, headers=headers)
        return StreamingResponse(await fetch(start, end), status_code=206, headers=headers)
    boundary = rng.new_boundary()
    headers["Content-Type"] = rng.multipart_content_type(boundary)
    headers["Content-Length"] = str(rng.multipart_length(ranges, boundary, ctype, length))
    if req.method == "HEAD":
        return Response(b"", status_code=206, headers=headers)
    body = rng.multipart_byteranges(ranges, fetch, boundary, ctype, length)
    return StreamingResponse(body, status_code=206, headers=headers)
