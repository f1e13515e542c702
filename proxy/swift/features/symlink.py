"""Swift's symlink feature: ``X-Symlink-Target`` links, followed on GET/HEAD as the caller.

A pipeline feature (proxy/pipeline.py), placed just before SLO/DLO so that a link's target is read
through them: a link to a large object answers with the large object, whose segments are read
relative to the target (not the link). What it does, as Swift's ``symlink`` middleware:

* ``PUT`` with ``X-Symlink-Target: <container>/<object>`` (``X-Symlink-Target-Account``) stores a
  zero-byte link (400 for a body). ``X-Symlink-Target-Etag`` makes a *static* link: the target is
  HEADed as the caller at PUT time (409 when missing or its ETag differs; a large object's manifest
  ETag counts) and its size recorded.
* ``GET``/``HEAD`` follow up to ``symloop_max`` links (409 beyond), each as a sub-request with the
  caller's identity, so the target container's ACLs apply; the answer carries ``Content-Location``.
  A static link whose target's ETag changed answers 409. ``?symlink=get`` reads the link itself.
* ``POST`` to a link applies to the link and answers 307 with ``Location`` of the target; a POST
  with ``X-Symlink-Target`` is a 400. ``COPY``/``X-Copy-From`` of a link copy its target; with
  ``?symlink=get`` they write a new link from the source's ``X-Symlink-*`` headers (the client's win).
* JSON container listings show ``symlink_path`` (and ``symlink_etag``/``symlink_bytes``).

The stored form (sysmeta, listing params) and the object controller's ``LinkResponse`` are
proxy/swift/links.py.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, unquote

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from objclient.crypto.client import stored_view
from proxy.auth.authorize import denied_response
from proxy.http.errors import HTTPError, error_response
from proxy.http.headers import unquote_wire
from proxy.pipeline import Handler
from proxy.swift import access, constraints, links, listing
from proxy.swift.context import SwiftRequest
from proxy.swift.copy import parse_copy_path
from proxy.swift.links import LinkResponse, StoredLink
from proxy.swift.obj import write_headers
from proxy.swift.obj_get import is_expired
from proxy.swift.replies import backend_failure, created_response
from proxy.symlinks import symloop_max

MD5_OF_EMPTY = "d41d8cd98f00b204e9800998ecf8427e"
TARGET_FORM = "X-Symlink-Target header must be of the form <container name>/<object name>"
POST_TO_LINK = ("The requested POST was applied to a symlink. POST directly to the target to apply "
                "requested metadata.")


def info(conf: Any) -> dict[str, Any]:
    """What ``/info`` advertises under ``symlink``."""
    return {"symloop_max": symloop_max(conf), "static_links": True}


async def feature(req: SwiftRequest, call_next: Handler) -> Response:
    """The pipeline stage (see the module docstring)."""
    name = req.operation.name if req.operation else ""
    if req.obj is None:
        return await _listing(req, call_next) if name == "list_objects" else await call_next(req)
    symlink_get = req.query.get("symlink") == "get"
    if name in ("get_object", "head_object") and not symlink_get:
        return await _follow(req, call_next)
    if name == "put_object" and "x-symlink-target" in req.headers:
        return await _put_link(req, call_next)
    if name == "post_object":
        return await _post(req, call_next)
    if name in ("copy_from", "copy_object"):
        return await (_copy_link(req, call_next) if symlink_get else _copy_target(req, call_next))
    return await call_next(req)


# -- following links ------------------------------------------------------------------------------

def _etag_of(answer: Response) -> str:
    """The ETag a static link is checked against: a large object's manifest ETag, else its ETag."""
    value = answer.headers.get("x-manifest-etag") or answer.headers.get("etag") or ""
    return value.strip().strip('"')


async def _discard(answer: Response) -> None:
    """Release an answer that will not be sent (an open backend body)."""
    if isinstance(answer, StreamingResponse):
        closer = getattr(answer.body_iterator, "aclose", None)
        if closer is not None:
            await closer()


def _full_copy(req: SwiftRequest, sub: SwiftRequest,
               headers: dict[bytes, bytes] | None = None) -> SwiftRequest:
    """``sub`` carrying all of ``req``'s headers (conditionals, Range...), ``headers`` replaced."""
    raw = [(k, v) for k, v in req.request.scope["headers"] if headers is None or k not in headers]
    raw += list((headers or {}).items())
    sub.request = Request(dict(sub.request.scope, headers=raw), sub.request.receive)
    return sub


class _Walk:
    """One read through a chain of links as the caller: counts hops, remembers the last target."""

    def __init__(self, req: SwiftRequest, call_next: Handler):
        self.req = req
        self.call_next = call_next
        self.limit = symloop_max(req.state.conf)
        self.hops = 0
        self.location: str | None = None  # Content-Location: the last target's path
        self.final: SwiftRequest = req  # the request the final answer answers

    def target_request(self, current: SwiftRequest, link: StoredLink, method: str,
                       all_headers: bool) -> SwiftRequest | None:
        """The sub-request reading ``link``'s target (None: outside a temp URL's reach)."""
        account = unquote(link.account) if link.account else current.account
        container, _, obj = unquote(link.target).partition("/")
        self.location = f"/v1/{link.account or quote(current.account)}/{link.target.lstrip('/')}"
        scope = self.req.tempurl_scope
        if self.req.authorized_by == "tempurl" and (scope is None or not scope.allows(account, container)):
            return None
        query = {k: v for k, v in self.req.query.items() if k != "symlink"}
        sub = self.req.subrequest(method, account, container, obj, query)
        return _full_copy(self.req, sub) if all_headers else sub

    async def run(self, current: SwiftRequest, answer: Response, target_etag: str | None = None,
                  follow_dynamic: bool = True, all_headers: bool = True) -> Response:
        """Follow ``answer`` (to ``current``) while it is a link; 409 for a loop or an ETag that
        differs from a static link's."""
        while isinstance(answer, LinkResponse) and (answer.link.etag or follow_dynamic):
            link = answer.link
            found = link.etag or _etag_of(answer)
            if target_etag and target_etag != found:
                return self.conflict("X-Symlink-Target-Etag headers do not match")
            if self.hops >= self.limit:
                return error_response(409, f"Too many levels of symbolic links, maximum allowed is {self.limit}")
            self.hops += 1
            sub = self.target_request(current, link, current.method, all_headers)
            if sub is None:
                return denied_response(401, self.req.account)
            current, target_etag, follow_dynamic = sub, link.etag, True
            answer = await access.authorize(sub, self.call_next)
        self.final = current
        final_etag = await self.manifest_etag(current, answer) if target_etag and answer.status_code < 500 else ""
        if final_etag and target_etag and final_etag != target_etag:
            await _discard(answer)
            return self.conflict(f"Object Etag {final_etag!r} does not match X-Symlink-Target-Etag header "
                                 f"{target_etag!r}")
        if self.location:
            answer.headers["Content-Location"] = self.location
        return answer

    async def manifest_etag(self, current: SwiftRequest, answer: Response) -> str:
        """``_etag_of(answer)``; for a large object answered without ``X-Manifest-Etag``, the
        manifest's ETag read with ``?multipart-manifest=get`` (as the caller)."""
        etag = _etag_of(answer)
        large = (answer.headers.get("x-static-large-object") or "").lower() == "true"
        if answer.headers.get("x-manifest-etag") or not large:
            return etag
        probe = self.req.subrequest("HEAD", current.account, current.container, current.obj,
                                    {"multipart-manifest": "get"})
        manifest = await access.authorize(probe, self.call_next)
        if manifest.status_code // 100 != 2:
            return etag
        return (manifest.headers.get("etag") or "").strip().strip('"')

    def conflict(self, detail: str) -> Response:
        headers = {"Content-Location": self.location} if self.location else {}
        return error_response(409, detail, headers)


async def _follow(req: SwiftRequest, call_next: Handler) -> Response:
    """GET/HEAD: the target's answer when the object is a link."""
    answer = await call_next(req)
    if not isinstance(answer, LinkResponse):
        return answer
    return await _Walk(req, call_next).run(req, answer)


# -- creating links -------------------------------------------------------------------------------

async def _has_body(req: SwiftRequest) -> bool:
    length = constraints.body_length(req.headers)
    if length is not None:
        return length != 0
    async for chunk in req.request.stream():
        if chunk:
            return True
    return False


def _decoded(value: str) -> str:
    """A header value (percent-encoded or raw UTF-8, as Swift reads it) decoded; 412 for invalid UTF-8
    or NUL (as for request paths)."""
    text = unquote_wire(value)
    if text is None or "\x00" in text:
        raise HTTPError(412, "Invalid UTF8 or contains NULL")
    return text


def _parse_target(req: SwiftRequest) -> tuple[str, str, str, str | None]:
    """(account, container, object, account as given or None) the link's headers name."""
    path = _decoded(req.headers["x-symlink-target"])
    container, _, obj = path.partition("/")
    if path.startswith("/") or not container or not obj:
        raise HTTPError(412, TARGET_FORM)
    given = req.headers.get("x-symlink-target-account")
    account = req.account
    if given is not None:
        account = _decoded(given)
        if not account:
            raise HTTPError(412, "Account name cannot be empty")
        if "/" in account:
            raise HTTPError(412, "Account name cannot contain slashes")
    if (account, container, obj) == (req.account, req.container, req.obj):
        raise HTTPError(400, "Symlink cannot target itself")
    return account, container, obj, account if given is not None else None


def _target_etag(req: SwiftRequest) -> str | None:
    value = req.headers.get("x-symlink-target-etag")
    if value is None:
        return None
    etag = value.strip()
    if len(etag) >= 2 and etag[0] == etag[-1] == '"':
        etag = etag[1:-1]
    if any(c in etag for c in ';"\\'):
        raise HTTPError(400, "Bad X-Symlink-Target-Etag format")
    return etag or None


async def _check_static_target(req: SwiftRequest, call_next: Handler, target: tuple[str, str, str],
                               etag: str) -> Response | dict[str, str]:
    """HEAD the target as the caller: the facts a static link records, or the error answer."""
    walk = _Walk(req, call_next)
    walk.location = f"/v1/{quote(target[0])}/{quote(target[1] + '/' + target[2])}"
    sub = req.subrequest("HEAD", *target)
    answer = await walk.run(sub, await access.authorize(sub, call_next), etag, follow_dynamic=False,
                            all_headers=False)
    status = answer.status_code
    if status == 404:
        return walk.conflict("X-Symlink-Target does not exist")
    if status // 100 != 2:
        return answer if status == 409 else error_response(status)
    h = answer.headers
    facts = {"bytes": h.get("content-length") or "0", "content-type": h.get("content-type") or ""}
    if (h.get("x-static-large-object") or "").lower() == "true":
        facts["slo_etag"] = (h.get("etag") or "").strip('"')
    return facts


async def _put_link(req: SwiftRequest, call_next: Handler) -> Response:
    """PUT with ``X-Symlink-Target``: store the zero-byte link, its sysmeta and listing params."""
    if req.authorized_by == "tempurl":
        return error_response(400, "Symlinks cannot be created with a temp URL.\n")
    if await _has_body(req):
        return error_response(400, "Symlink requests require a zero byte body")
    account, container, obj, given_account = _parse_target(req)
    constraints.check_names(account, container, obj)
    etag = _target_etag(req)
    headers = write_headers(req)
    if not req.headers.get("content-type"):
        headers["Content-Type"] = "application/symlink"
    target = quote(f"{container}/{obj}")
    headers[links.SYSMETA_TARGET] = target
    params = [f"{links.PARAM_TARGET}={target}"]
    if given_account is not None:
        headers[links.SYSMETA_ACCOUNT] = quote(given_account)
        params.append(f"{links.PARAM_ACCOUNT}={quote(given_account)}")
    hash_value = MD5_OF_EMPTY
    if etag:
        facts = await _check_static_target(req, call_next, (account, container, obj), etag)
        if isinstance(facts, Response):
            return facts
        if not req.headers.get("content-type") and facts["content-type"]:
            headers["Content-Type"] = facts["content-type"]
        if facts.get("slo_etag"):
            hash_value += f"; slo_etag={facts['slo_etag']}"
        headers[links.SYSMETA_ETAG] = etag
        headers[links.SYSMETA_BYTES] = facts["bytes"]
        params += [f"{links.PARAM_ETAG}={etag}", f"{links.PARAM_BYTES}={facts['bytes']}"]
    headers[links.OVERRIDE_ETAG] = "; ".join([hash_value, *params])
    info = await req.state.container_info(req.account, req.container_name)
    if not 200 <= info["status"] < 300:
        return error_response(404)
    if_none_match = req.headers.get("if-none-match")
    if if_none_match is not None:  # as any object PUT
        if if_none_match.strip() != "*":
            return error_response(400, "If-None-Match only supports *")
        existing = await stored_view(req.client).head_object(req.account, req.container_name, req.object_name)
        await existing.close()
        if existing.status == 200 and not is_expired(existing.headers):
            return error_response(412)
    resp = await req.client.put_object(req.account, req.container_name, req.object_name, headers, _no_body(),
                                       content_length=0)
    await resp.close()
    if resp.status != 201:
        return backend_failure(resp.status)
    return created_response(req, resp.headers)


async def _no_body() -> AsyncIterator[bytes]:
    if False:  # pragma: no cover - an async generator that yields nothing
        yield b""


# -- POST, COPY, listings -------------------------------------------------------------------------

async def _post(req: SwiftRequest, call_next: Handler) -> Response:
    """POST: applied to the object; a link answers 307 with ``Location`` of its target."""
    if "x-symlink-target" in req.headers:
        return error_response(400, "A PUT request is required to set a symlink target")
    response = await call_next(req)
    if response.status_code != 202:
        return response
    head = await req.client.head_object(req.account, req.container_name, req.object_name)
    await head.close()
    link = links.stored_link(head.headers) if head.status == 200 else None
    if link is None:
        return response
    headers = {"Location": f"/v1/{link.account or quote(req.account)}/{link.target.lstrip('/')}"}
    if link.etag:
        headers["X-Symlink-Target-Etag"] = link.etag
    return error_response(307, POST_TO_LINK, headers)


def _copy_source(req: SwiftRequest) -> tuple[str, str, str]:
    if req.method == "COPY":
        return req.account, req.container or "", req.obj or ""
    container, obj = parse_copy_path(req.headers["x-copy-from"], "X-Copy-From")
    return unquote(req.headers.get("x-copy-from-account") or req.account), container, obj


async def _copy_target(req: SwiftRequest, call_next: Handler) -> Response:
    """COPY / PUT with ``X-Copy-From`` of a link: copy the object the link leads to."""
    source = _copy_source(req)
    if not await _is_link(req, source):
        return await call_next(req)
    probe = req.subrequest("HEAD", *source)
    answer = await access.authorize(probe, call_next)  # the caller must be able to read the link
    if not isinstance(answer, LinkResponse):
        return await call_next(req)
    walk = _Walk(req, call_next)
    answer = await walk.run(probe, answer, all_headers=False)
    if answer.status_code // 100 != 2:
        await _discard(answer)
        return error_response(answer.status_code)
    final = walk.final
    if req.method == "COPY":
        moved = req.subrequest("COPY", final.account, final.container, final.obj, dict(req.query))
        replaced = {b"destination-account": quote(req.headers.get("destination-account") or req.account).encode()}
    else:
        moved = req.subrequest("PUT", req.account, req.container, req.obj, dict(req.query))
        replaced = {b"x-copy-from": quote(f"/{final.container}/{final.obj}").encode(),
                    b"x-copy-from-account": quote(final.account).encode()}
    moved.request = Request(moved.request.scope, req.request.receive)
    response = await access.authorize(_full_copy(req, moved, replaced), call_next)
    if "x-copied-from" in response.headers:  # name the source as the client gave it
        response.headers["X-Copied-From"] = f"{quote(source[1])}/{quote(source[2])}"
        dest_account = unquote(req.headers.get("destination-account") or req.account) \
            if req.method == "COPY" else req.account
        if source[0] != dest_account:
            response.headers["X-Copied-From-Account"] = quote(source[0])
        elif "x-copied-from-account" in response.headers:
            del response.headers["X-Copied-From-Account"]
    return response


# the source link's headers a copy of it keeps (X-Symlink-* always, these unless X-Fresh-Metadata)
COPIED_LINK_HEADERS = ("content-type", "content-encoding", "content-disposition", "content-language",
                       "cache-control", "expires", "x-delete-at")
NOT_COPIED_REQUEST_HEADERS = ("content-length", "transfer-encoding", "etag", "x-timestamp", "x-copy-from",
                              "x-copy-from-account", "destination", "destination-account", "x-fresh-metadata",
                              "x-symlink-target-bytes")


async def _is_link(req: SwiftRequest, location: tuple[str, str, str]) -> bool:
    stored = await req.client.head_object(*location)  # a cheap look before any sub-request
    await stored.close()
    return stored.status == 200 and links.stored_link(stored.headers) is not None


async def _copy_link(req: SwiftRequest, call_next: Handler) -> Response:
    """COPY / ``X-Copy-From`` with ``?symlink=get`` of a link: a link PUT at the destination carrying
    the source's ``X-Symlink-*`` headers, the client's winning (as Swift's copy of a link), so
    ``X-Symlink-Target-Account`` applies and a static link's target is checked again."""
    source = _copy_source(req)
    if not await _is_link(req, source):
        return await call_next(req)
    probe = req.subrequest("HEAD", *source, {"symlink": "get"})
    link = await access.authorize(probe, call_next)  # the caller must be able to read the link
    if link.status_code != 200:
        return error_response(link.status_code) if link.status_code not in (401, 403) else link
    if req.method == "COPY":
        if not req.headers.get("destination"):
            return error_response(412, "Destination header required")
        container, obj = parse_copy_path(req.headers["destination"], "Destination")
        dest = (unquote(req.headers.get("destination-account") or req.account), container, obj)
    else:
        dest = (req.account, req.container or "", req.obj or "")
    constraints.check_names(*dest)
    fresh = constraints.true_value(req.headers.get("x-fresh-metadata"))
    headers = {k: v for k, v in link.headers.items()
               if k.startswith("x-symlink-")
               or (not fresh and (k.startswith("x-object-meta-") or k in COPIED_LINK_HEADERS))}
    headers.update((k, v) for k, v in req.headers.items() if k not in NOT_COPIED_REQUEST_HEADERS)
    headers.pop("x-symlink-target-bytes", None)
    headers["content-length"] = "0"
    put = req.subrequest("PUT", *dest)
    raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    put.request = Request(dict(put.request.scope, headers=raw), put.request.receive)
    denied = await access.check(put)
    if denied is not None:
        return denied
    response = await _put_link(put, call_next)
    if response.status_code == 201:
        response.headers["X-Copied-From"] = f"{quote(source[1])}/{quote(source[2])}"
        if link.headers.get("last-modified"):
            response.headers["X-Copied-From-Last-Modified"] = link.headers["last-modified"]
        if source[0] != dest[0]:
            response.headers["X-Copied-From-Account"] = quote(source[0])
    return response


async def _listing(req: SwiftRequest, call_next: Handler) -> Response:
    """Container GET: read the listing as JSON, add the symlink keys, answer in the asked format."""
    if req.method != "GET":
        return await call_next(req)
    media = listing.content_type(req.query, req.headers)
    if media == listing.PLAIN:
        return await call_next(req)  # names only: links change nothing
    response = await call_next(dataclasses.replace(req, query={**req.query, "format": "json"}))
    if response.status_code != 200:
        return response
    body = getattr(response, "body", None)  # listings are rendered whole (bounded by the listing limit)
    if media == listing.JSON and (not isinstance(body, bytes) or b"symlink_target=" not in body):
        return response  # nothing to add: the JSON answer as it is
    try:
        rows = json.loads(body) if isinstance(body, bytes) else None
    except ValueError:
        rows = None
    if not isinstance(rows, list):
        return response if media == listing.JSON else await call_next(req)
    account = quote(req.account)
    rows = [links.listing_row(row, "v1", account) if isinstance(row, dict) else row for row in rows]
    headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-type", "content-length")}
    return listing.render(rows, media, "container", req.container or "", headers)
