"""Account controller: HEAD/GET (container listing), POST metadata, PUT/DELETE for reseller admins
(routed by operations.py; bulk delete is the bulk feature's)."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response

from proxy.auth import account_acl
from proxy.http.errors import empty_response, error_response
from proxy.swift import constraints, listing
from proxy.swift.context import SwiftRequest
from proxy.swift.headers import account_response_headers, meta_write_headers
from proxy.swift.policies import storage_policies
from proxy.swift.quota_headers import quota_headers
from stackstore.timestamp import Timestamp
from stackstore.versioning_names import past_reserved


def _autocreate(req: SwiftRequest) -> bool:
    return bool(req.state.conf["proxy"].get("account_autocreate", True))


def _empty_account_headers() -> dict[str, str]:
    """What a never-used account looks like with account_autocreate."""
    now = Timestamp.now().normal
    return {"X-Account-Container-Count": "0", "X-Account-Object-Count": "0", "X-Account-Bytes-Used": "0",
            "X-Timestamp": now, "X-Put-Timestamp": now, "Accept-Ranges": "bytes"}


def _status(status: int) -> Response:
    return error_response(404 if status == 404 else 503 if status >= 500 else status)


async def head(req: SwiftRequest) -> Response:
    resp = await req.client.head_account(req.account)
    await resp.close()
    if resp.status == 404 and _autocreate(req):
        headers = _empty_account_headers()
    elif not 200 <= resp.status < 300:
        return _status(resp.status)
    else:
        headers = account_response_headers(resp.headers, owner=req.is_owner)
    headers["Content-Type"] = listing.content_type(req.query, req.headers) + "; charset=utf-8"  # as GET's
    headers["Content-Length"] = "0"
    _show_sysmeta(req, resp.headers, headers)
    return Response(b"", status_code=204, headers=headers)


async def get(req: SwiftRequest) -> Response:
    media = listing.content_type(req.query, req.headers)
    p = listing.parse_params(req.query, constraints.ACCOUNT_LISTING_LIMIT)
    resp, rows = await req.client.list_account(req.account, prefix=p.prefix, delimiter=p.delimiter,
                                               marker=p.marker if p.reverse else past_reserved(p.marker),
                                               end_marker=past_reserved(p.end_marker) if p.reverse else p.end_marker,
                                               limit=p.limit, reverse=p.reverse)
    if resp.status == 404 and _autocreate(req):
        headers, rows = _empty_account_headers(), []
    elif not 200 <= resp.status < 300:
        return _status(resp.status)
    else:
        headers = account_response_headers(resp.headers, owner=req.is_owner)
        _show_sysmeta(req, resp.headers, headers)
    return listing.render(rows, media, "account", req.account, headers)


def _show_sysmeta(req: SwiftRequest, backend: Mapping[str, str], out: dict[str, str]) -> None:
    """``X-Account-Access-Control`` from its sysmeta, for the account's owners only (as Swift); the
    account quotas (``X-Account-Quota-*``) for every reader."""
    out.update(quota_headers(backend, storage_policies(req.state)))
    if req.is_owner:
        value = account_acl.shown(backend.get(account_acl.SYSMETA))
        if value is not None:
            out["X-Account-Access-Control"] = value


async def _write_headers(req: SwiftRequest) -> dict[str, str]:
    """Metadata to store for an account PUT/POST: ``X-Account-Meta-*`` and, from an owner, a valid
    ``X-Account-Access-Control`` (400 otherwise) as its sysmeta; metadata limits apply to the stored
    metadata as this request changes it (as Swift checks the aggregate)."""
    update = constraints.check_metadata(req.headers, "account")
    if update:
        stored = await req.client.head_account(req.account)
        await stored.close()
        if 200 <= stored.status < 300:
            update.check_merged(stored.headers)
    headers = meta_write_headers(req.headers, "account")
    acl = req.headers.get(account_acl.HEADER)
    if acl is not None:
        value = account_acl.validate(acl)
        if req.is_owner:
            headers["X-Account-Sysmeta-Core-Access-Control"] = value
    headers.update(req.sysmeta)  # what features decided (account quotas), never the client's headers
    return headers


async def post(req: SwiftRequest) -> Response:
    """Set ``X-Account-Meta-*`` (e.g. ``Temp-URL-Key``) and the account ACL; 204."""
    headers = await _write_headers(req)
    req.timestamp = Timestamp.now().normal
    headers["X-Timestamp"] = req.timestamp
    resp = await req.client.post_account(req.account, headers)
    await resp.close()
    if resp.status == 404 and _autocreate(req):
        created = await req.client.put_account(req.account, {"X-Timestamp": req.timestamp})
        await created.close()
        resp = await req.client.post_account(req.account, headers)
        await resp.close()
    req.state.invalidate_info(req.account)
    if 200 <= resp.status < 300:
        return empty_response(204, {"X-Timestamp": req.timestamp})
    return _status(resp.status)


async def put(req: SwiftRequest) -> Response:
    """Create an account (reseller admins only; authorization already checked)."""
    headers = await _write_headers(req)
    req.timestamp = Timestamp.now().normal
    headers["X-Timestamp"] = req.timestamp
    resp = await req.client.put_account(req.account, headers)
    await resp.close()
    req.state.invalidate_info(req.account)
    if resp.status == 201:
        return empty_response(201, {"X-Timestamp": req.timestamp})
    if 200 <= resp.status < 300:
        return error_response(202, headers={"X-Timestamp": req.timestamp})
    return _status(resp.status)


async def delete(req: SwiftRequest) -> Response:
    resp = await req.client.delete_account(req.account)
    await resp.close()
    req.state.invalidate_info(req.account)
    if 200 <= resp.status < 300:
        return empty_response(204)
    return _status(resp.status)
