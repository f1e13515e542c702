"""Entry point of the S3 API: ``S3App(state)``, the ASGI app the proxy's router sends S3 requests to.

Parses addressing (path or virtual-host style), authenticates (SigV4 header/query, SigV2
header/query; an unsigned request as anonymous), dispatches (``proxy.s3.router``: the operation from
the table, authorized once by ``proxy.s3.access``, then its handler) and turns every
S3Error into S3's XML error document.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from proxy.context import ProxyState
from proxy.http.errors import HTTPError
from proxy.http.request import IndexedHeaders, ProxyRequest
from proxy.http.transid import trans_id_of
from proxy.s3 import auth_v2, auth_v4, namespace, owners
from proxy.s3.access_log import stage as access_log
from proxy.s3.bucket import is_valid_name
from proxy.s3.context import AuthInfo, S3Request, anonymous_auth, split_path
from proxy.s3.cors import responses as cors
from proxy.s3.credentials import ConfigCredentials, CredentialStore
from proxy.s3.errors import S3Error, from_backend
from proxy.s3.post import handler as post_handler
from proxy.s3.router import dispatch
from proxy.s3.website import endpoint as website

log = logging.getLogger("stackstore.proxy.s3")


def credential_store(state: ProxyState) -> CredentialStore:
    """The store in ``state.extras["s3_credentials"]`` (identity may install its own), else config."""
    store = state.extras.get("s3_credentials")
    if store is None:
        store = state.extras["s3_credentials"] = ConfigCredentials(state.conf)
    return store


def parse_request(request: Request, state: ProxyState) -> S3Request:
    scope = request.scope
    raw_path = scope.get("raw_path")
    raw_path = raw_path.decode("latin-1") if raw_path else request.url.path
    raw_path = raw_path.split("?", 1)[0] or "/"
    raw_query = scope.get("query_string", b"").decode("latin-1")
    query: dict[str, str] = {}
    for name, value in auth_v4.query_pairs(raw_query):
        query.setdefault(name.decode("utf-8", "replace"), value.decode("utf-8", "replace"))
    conf = state.conf.get("proxy", {}) if hasattr(state.conf, "get") else {}
    bucket, key, vhost = split_path(raw_path, request.headers.get("host", ""), str(conf.get("s3_domain", "")))
    return S3Request(request, state, trans_id_of(scope), bucket, key, query, raw_path, raw_query, vhost)


async def authenticate(req: S3Request) -> AuthInfo:
    store = credential_store(req.state)
    raw_headers = req.request.headers.raw
    auth = req.headers.get("authorization", "")
    method = req.method
    if auth.startswith(auth_v4.ALGORITHM) or "X-Amz-Algorithm" in req.query:
        indexed = req.request.headers
        info = await auth_v4.verify(method, req.raw_path, req.raw_query, raw_headers, req.query, store,
                                    decoded=indexed.pairs() if isinstance(indexed, IndexedHeaders) else None)
    elif auth.startswith("AWS ") or ("AWSAccessKeyId" in req.query and "Signature" in req.query):
        info = await auth_v2.verify(method, req.raw_path, req.raw_query, raw_headers, req.query, store,
                                    req.bucket if req.vhost else None)
    elif auth:
        raise S3Error("AccessDenied", "Unsupported Authorization Type")
    else:
        return anonymous_auth()  # allowed exactly where a grant reaches everyone (proxy.s3.access)
    if not info.credential.active:
        raise S3Error("AccessDenied")
    owner = owners.owner_of(info.credential.identity, info.credential.email)
    if owner is not None:
        try:
            await owners.remember(req.state, owner)
        except Exception:  # best effort: grants by id/e-mail to this owner resolve once a write succeeds
            log.warning("could not record the S3 owner of %s", owner.account, exc_info=True)
    return info


async def handle_s3(request: Request, state: ProxyState) -> Response:
    """Answer one S3 request; never raises (errors become S3 XML documents). A website host's request is
    the website endpoint's (HTML errors)."""
    site = website.addressed_bucket(request.headers.get("host", ""), website.website_domain(state))
    if site is not None:
        resp = await website.serve(request, state, site)
        if resp.status_code >= 300 and _unread_body(request):
            resp.headers["Connection"] = "close"  # a refused PUT/POST's body must not be parsed as a request
        return resp
    req: S3Request | None = None
    started = time.monotonic()
    error_code = ""
    trans_id = trans_id_of(request.scope)
    try:
        req = parse_request(request, state)
        if req.method == "OPTIONS":  # a CORS preflight: never signed
            account = await cors.preflight_account(req)
            if account:  # the bucket's logging, for successful preflights too
                req.extras["bucket_account"] = account
                await access_log.note_bucket_config(req)
            resp = await cors.preflight(req, account)
        elif post_handler.is_post_object(req):  # authenticated by the form's signed policy
            resp = await post_handler.post_object(req)
        else:
            req.auth = await authenticate(req)
            resp = await dispatch(req)
            if req.headers.get("origin"):
                resp.headers.update(await cors.actual_request_headers(req, req.account))
    except (S3Error, HTTPError) as raised:
        # shared code below the S3 layer (the versioning engine) raises HTTPError: its S3 equivalent
        err = raised if isinstance(raised, S3Error) else from_backend(raised.status, req.bucket if req else None)
        error_code = err.code
        resp = err.response(req.resource if req else request.url.path, trans_id, head=request.method == "HEAD")
        del err  # its traceback holds this frame, which would hold it: a reference cycle per error answer
        if req is not None and req.method != "OPTIONS" and req.headers.get("origin"):
            resp.headers.update(await _error_cors_headers(req))
    except Exception:
        log.exception("S3 %s %s (%s) failed", request.method, request.url.path, trans_id)
        error_code = "InternalError"
        resp = S3Error("InternalError").response(req.resource if req else request.url.path, trans_id,
                                                 head=request.method == "HEAD")
    _tag_request_id(resp, trans_id)
    if resp.status_code >= 300 and _unread_body(request):
        resp.headers["Connection"] = "close"  # the rest of the body must not be parsed as a request
    await access_log.prepare(req, resp, error_code, started)
    return resp


def _tag_request_id(resp: Response, trans_id: str) -> None:
    """``x-amz-request-id`` (replacing any) and ``x-amz-id-2`` (unless set) on every answer: on the raw header
    list in one pass (each ``MutableHeaders`` assignment scans the list again)."""
    raw = resp.raw_headers
    value = trans_id.encode("latin-1")
    present = dict(raw)  # the names, looked up without a Python loop (an answer without either is the usual case)
    if b"x-amz-request-id" in present:
        raw[:] = [(name, v) for name, v in raw if name != b"x-amz-request-id"]
    if b"x-amz-id-2" not in present:
        raw.append((b"x-amz-id-2", value))
    raw.append((b"x-amz-request-id", value))


async def _error_cors_headers(req: S3Request) -> dict[str, str]:
    """CORS headers for an error answer (as S3: a browser must be able to read a 403 or a 404 too), from
    the addressed bucket's rules; none when they cannot be found."""
    try:
        account = req.extras.get("bucket_account") or await cors.preflight_account(req) or \
            (req.credential.account if req.auth is not None else None)
        return await cors.actual_request_headers(req, account) if account else {}
    except Exception:  # the error answer matters more than its CORS headers
        log.warning("no CORS headers for the error answer of %s %s", req.method, req.resource, exc_info=True)
        return {}


def _unread_body(request: Request) -> bool:
    """The client sent a body the handler did not read to the end (an early error answer)."""
    if getattr(request, "_stream_consumed", False):
        return False
    length = request.headers.get("content-length")
    return bool(length and length != "0") or "chunked" in request.headers.get("transfer-encoding", "").lower()


class S3App:
    """The S3 API as an ASGI app (what proxy/router.py sends S3 requests to): ``handle_s3`` per request."""

    def __init__(self, state: ProxyState):
        self.state = state

    async def addresses_bucket(self, scope: Scope) -> bool:
        """Whether an unsigned path-style request names a registered bucket (so it is S3's, anonymous)."""
        raw = scope.get("raw_path") or scope.get("path", "").encode()
        first = unquote(bytes(raw).decode("latin-1").split("?", 1)[0].lstrip("/").partition("/")[0])
        if not is_valid_name(first):
            return False
        return await namespace.owner_account(self.state, first) is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await handle_s3(ProxyRequest(scope, receive), self.state)  # headers by dictionary
        pending = scope.get(access_log.SCOPE_KEY)
        if pending is None:
            await response(scope, receive, send)
        else:  # the bucket logs: count what is sent
            await access_log.send_logged(pending, response, scope, receive, send)
