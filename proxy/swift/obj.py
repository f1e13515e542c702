"""Object controller: PUT, POST and DELETE (GET/HEAD in obj_get, copies in copy; the router table
in operations.py picks the handler)."""

from __future__ import annotations

from starlette.responses import Response

from proxy.http.bodies import UploadBody
from proxy.http.errors import HTTPError, empty_response, error_response
from proxy.swift import constraints
from proxy.swift.context import SwiftRequest
from proxy.swift.headers import guess_content_type, object_write_headers
from proxy.swift.replies import backend_failure, created_response
from stackstore import wire
from stackstore.numbers import parse_int
from stackstore.timestamp import Timestamp


def write_headers(req: SwiftRequest, *, post: bool = False) -> dict[str, str]:
    """Validated headers to store with the object (metadata, content type, expiry, timestamp)."""
    h = req.headers
    constraints.check_metadata(h, "object")
    if "x-static-large-object" in h and not post and req.authorized_by != "container_sync":  # sync: a manifest
        raise HTTPError(400, "X-Static-Large-Object is a reserved header. To create a static large "
                             "object add query param multipart-manifest=put.")
    if h.get("x-object-manifest") is not None:
        constraints.check_manifest_header(h["x-object-manifest"])
    out = object_write_headers(h, post=post)
    out.pop("X-Delete-At", None)
    delete_at = constraints.delete_at(h)
    if delete_at is not None:
        out["X-Delete-At"] = delete_at
    if not post or "content-type" in h:
        out["Content-Type"] = guess_content_type(req.obj or "", h)
    req.timestamp = req.timestamp or Timestamp.now().normal
    out["X-Timestamp"] = req.timestamp
    if not post:
        out.update(req.sysmeta)  # what features decided (the version id), never the client's headers
    return out


async def put(req: SwiftRequest) -> Response:
    """``PUT /v1/a/c/o``: stream the body to the replicas; 201 with the md5 Etag."""
    length = constraints.body_length(req.headers)
    headers = write_headers(req)
    info = await req.state.container_info(req.account, req.container_name)
    if not 200 <= info["status"] < 300:
        return error_response(404)
    condition = None
    if_none_match = req.headers.get("if-none-match")
    if if_none_match is not None:
        if if_none_match.strip() != "*":
            return error_response(400, "If-None-Match only supports *")
        condition = {wire.COND_IF_NONE_MATCH: "*"}  # decided by the nodes, atomically (stackstore/wire.py)
    guard = req.versioned.guard if condition is None else None  # the client's If-None-Match decides otherwise
    body = UploadBody(req.request, constraints.MAX_FILE_SIZE if length is None else length)
    try:
        resp = await req.client.put_object(req.account, req.container_name, req.object_name, headers, aiter(body),
                                           content_length=length, condition=condition or guard)
    except Exception:
        if body.too_large:
            return error_response(413, "Your request is too large.")
        if body.disconnected:
            return error_response(499)
        raise
    await resp.close()
    if body.too_large:
        return error_response(413, "Your request is too large.")
    if body.disconnected:
        return error_response(499)
    if condition is not None and resp.status in (409, 412):  # 409: a concurrent conditional PUT won
        return error_response(412)
    if guard is not None and resp.status in (404, 409, 412):  # nothing was read: versioning tries again
        req.versioned.lost_race = True
        return error_response(409)
    if resp.status == 202:  # a newer write is already stored (a container sync of an older one): Swift's 202
        return error_response(202)
    if resp.status != 201:
        return backend_failure(resp.status)
    return created_response(req, resp.headers)


async def post(req: SwiftRequest) -> Response:
    """``POST /v1/a/c/o``: replace the user metadata (and expiry/content type); 202."""
    headers = write_headers(req, post=True)
    resp = await req.client.post_object(req.account, req.container_name, req.object_name, headers)
    await resp.close()
    if resp.status in (200, 202, 204):
        return error_response(202, headers={"X-Timestamp": req.timestamp})
    return error_response(404) if resp.status == 404 else backend_failure(resp.status)


async def delete(req: SwiftRequest) -> Response:
    """``DELETE /v1/a/c/o``: 204, or 404 when there was nothing to delete. ``X-If-Delete-At`` (an
    integer, else 400) deletes only an object expiring at that time (412 otherwise), as Swift."""
    headers: dict[str, str] = {}
    if_delete_at = req.headers.get("x-if-delete-at")
    if if_delete_at is not None:
        if parse_int(if_delete_at) is None:
            return error_response(400, "Bad X-If-Delete-At header value")
        headers["X-If-Delete-At"] = if_delete_at.strip()
    req.timestamp = req.timestamp or Timestamp.now().normal  # container sync keeps the source's timestamp
    if req.versioned.delete_through:  # versioning: the archived write and nothing newer (engine.delete_if_current)
        req.timestamp = Timestamp(req.versioned.delete_through).just_after().normal
    resp = await req.client.delete_object(req.account, req.container_name, req.object_name,
                                          headers={**headers, "X-Timestamp": req.timestamp})
    await resp.close()
    if req.versioned.delete_through and resp.status == 409:  # a newer write is current: versioning archives it, retries
        req.versioned.lost_race = True
        return error_response(409)
    if resp.status in (200, 204):
        return empty_response(204, {"X-Timestamp": req.timestamp})
    return error_response(404) if resp.status == 404 else backend_failure(resp.status)
