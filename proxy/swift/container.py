"""Container controller: HEAD/GET (listing), PUT, POST, DELETE (routed by operations.py)."""

from __future__ import annotations

from starlette.responses import Response

from objclient.response import BackendResponse
from proxy.auth.acl import check_acl
from proxy.http.errors import HTTPError, empty_response, error_response
from proxy.swift import constraints, links, listing
from proxy.swift.context import SwiftRequest
from proxy.swift.headers import (
    CONTAINER_ACL_HEADERS,
    container_response_headers,
    meta_write_headers,
)
from proxy.swift.policies import chosen_policy_headers, policy_name
from stackstore.timestamp import Timestamp


def _status(status: int) -> Response:
    return error_response(404 if status == 404 else 503 if status >= 500 else status)


async def head(req: SwiftRequest) -> Response:
    resp = await req.client.head_container(req.account, req.container_name)
    await resp.close()
    if not 200 <= resp.status < 300:
        return _status(resp.status)
    headers = container_response_headers(resp.headers, owner=req.is_owner)
    headers["X-Storage-Policy"] = policy_name(req.state, resp.headers)
    headers["Content-Type"] = listing.content_type(req.query, req.headers) + "; charset=utf-8"  # as GET's
    headers["Content-Length"] = "0"
    return Response(b"", status_code=204, headers=headers)


async def list_rows(req: SwiftRequest, params: listing.ListingParams) -> tuple[BackendResponse, list[dict]]:
    """(response, rows) of the listing the parameters ask for (``path``: answered by the container servers)."""
    return await req.client.list_container(
        req.account, req.container_name, prefix=params.prefix, delimiter=params.delimiter, marker=params.marker,
        end_marker=params.end_marker, limit=params.limit, reverse=params.reverse, path=params.path)


async def get(req: SwiftRequest) -> Response:
    media = listing.content_type(req.query, req.headers)
    params = listing.parse_params(req.query, constraints.CONTAINER_LISTING_LIMIT)
    resp, rows = await list_rows(req, params)
    if not 200 <= resp.status < 300:
        return _status(resp.status)
    for row in rows:
        version_id = row.pop("version_id", None)  # object versioning's: ``?versions`` listings show it
        if media == listing.JSON and version_id:  # the version link Swift lists for a current version with an id
            links.version_link_row(row, "v1", req.account, req.container_name, version_id)
    headers = container_response_headers(resp.headers, owner=req.is_owner)
    headers["X-Storage-Policy"] = policy_name(req.state, resp.headers)
    return listing.render(rows, media, "container", req.container_name, headers)


def _write_headers(req: SwiftRequest) -> tuple[dict[str, str], constraints.MetadataUpdate]:
    update = constraints.check_metadata(req.headers, "container")
    headers = meta_write_headers(req.headers, "container", owner=req.is_owner)
    for name, value in headers.items():
        if name.lower() in CONTAINER_ACL_HEADERS and value:
            try:
                check_acl(name, value)
            except ValueError as err:
                raise HTTPError(400, str(err)) from None
    headers.update(req.sysmeta)  # what features decided (versioning), never the client's headers
    req.timestamp = Timestamp.now().normal
    headers["X-Timestamp"] = req.timestamp
    return headers, update


async def put(req: SwiftRequest) -> Response:
    """201 when created, 202 when it existed (metadata merged)."""
    headers, _ = _write_headers(req)
    headers.update(chosen_policy_headers(req.state, req.headers))
    if not req.state.conf["proxy"].get("account_autocreate", True):
        info = await req.state.account_info(req.account)
        if not 200 <= info["status"] < 300:
            return error_response(404)
    resp = await req.client.put_container(req.account, req.container_name, headers)
    await resp.close()
    req.state.invalidate_info(req.account, req.container_name)
    if resp.status == 201:
        return empty_response(201, {"X-Timestamp": req.timestamp})
    if resp.status in (200, 202, 204):
        return error_response(202, headers={"X-Timestamp": req.timestamp})
    return _status(resp.status)


async def post(req: SwiftRequest) -> Response:
    headers, update = _write_headers(req)
    if update:
        stored = await req.client.head_container(req.account, req.container_name)
        await stored.close()
        if 200 <= stored.status < 300:
            update.check_merged(stored.headers)
    resp = await req.client.post_container(req.account, req.container_name, headers)
    await resp.close()
    req.state.invalidate_info(req.account, req.container_name)
    if 200 <= resp.status < 300:
        return empty_response(204, {"X-Timestamp": req.timestamp})
    return _status(resp.status)


async def delete(req: SwiftRequest) -> Response:
    """204, 404 when missing, 409 when not empty."""
    resp = await req.client.delete_container(req.account, req.container_name)
    await resp.close()
    req.state.invalidate_info(req.account, req.container_name)
    if 200 <= resp.status < 300:
        return empty_response(204)
    return error_response(409) if resp.status == 409 else _status(resp.status)
