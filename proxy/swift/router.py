"""The Swift API router: parse ``/v1/<account>[/<container>[/<object>]]``, authenticate, authorize,
run the controller, then let CORS decorate the answer."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

from starlette.requests import Request
from starlette.responses import Response

from proxy.auth.authorize import authorize, denied_response
from proxy.auth.base import AuthBackend, request_token
from proxy.http.errors import HTTPError, error_response
from proxy.http.transid import trans_id_of
from proxy.swift import account, constraints, container, obj
from proxy.swift.context import ProxyState, SwiftRequest
from proxy.swift.features import cors, tempurl

API_VERSIONS = ("v1", "v1.0")


def split_path(raw_path: bytes) -> tuple[str, str | None, str | None]:
    """(account, container, object) of a raw ``/v1/...`` path, percent-decoded and never normalised.

    Like Swift, the whole path is decoded before splitting; ``/v1/a/c/`` is the container ``c`` and
    ``/v1/a/c//x`` the object ``/x``. 412 for invalid UTF-8 or NUL, 404 for a malformed path.
    """
    try:
        path = unquote_to_bytes(raw_path).decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPError(412, "Invalid UTF8 or contains NULL") from None
    if "\x00" in path:
        raise HTTPError(412, "Invalid UTF8 or contains NULL")
    parts = path.split("/", 4)
    if len(parts) < 3 or parts[0] != "" or parts[1] not in API_VERSIONS or not parts[2]:
        raise HTTPError(404)
    acct = parts[2]
    cont = parts[3] if len(parts) > 3 and parts[3] else None
    name = parts[4] if len(parts) > 4 and parts[4] else None
    if cont is None and name is not None:
        raise HTTPError(404)
    return acct, cont, name


def parse_query(query_string: bytes) -> dict[str, str]:
    """Query parameters (first value wins; ``?bulk-delete`` → ``{"bulk-delete": ""}``); 400 on bad UTF-8."""
    try:
        pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True, encoding="utf-8",
                          errors="strict")
    except UnicodeDecodeError:
        raise HTTPError(400, "Invalid UTF8 in query") from None
    query: dict[str, str] = {}
    for key, value in pairs:
        query.setdefault(key, value)
    return query


class SwiftRouter:
    """Handles every ``/v1/...`` request for one proxy process."""

    def __init__(self, state: ProxyState, auth: AuthBackend | list[AuthBackend], conf: Any):
        self.state = state
        self.auths: list[AuthBackend] = list(auth) if isinstance(auth, list | tuple) else [auth]
        self.reseller_prefix = conf.get("tempauth", {}).get("reseller_prefix", "AUTH_")

    async def __call__(self, request: Request) -> Response:
        try:
            req = self._parse(request)
        except HTTPError as err:
            return err.response()
        try:
            response = await self._dispatch(req)
        except HTTPError as err:
            response = err.response()
        except NotImplementedError:
            response = error_response(501)
        if req.authorized_by == "tempurl":
            tempurl.decorate_response(req, response)
        if req.container is not None and request.headers.get("origin") and req.method != "OPTIONS":
            info = await self.state.container_info(req.account, req.container)
            if 200 <= info["status"] < 300:
                cors.decorate(req, response, info["meta"])
        return response

    def _parse(self, request: Request) -> SwiftRequest:
        scope = request.scope
        acct, cont, name = split_path(scope.get("raw_path") or scope["path"].encode())
        constraints.check_names(acct, cont, name)
        return SwiftRequest(request=request, state=self.state, account=acct, container=cont, obj=name,
                            query=parse_query(scope.get("query_string", b"")), trans_id=trans_id_of(scope))

    async def _dispatch(self, req: SwiftRequest) -> Response:
        if req.method == "OPTIONS":
            return await cors.preflight(req)
        denied = await self._authenticate(req)
        if denied is not None:
            return denied
        denied = await authorize(req, self.reseller_prefix)
        if denied is not None:
            return denied
        if req.obj is not None:
            return await obj.handle(req)
        if req.container is not None:
            return await container.handle(req)
        return await account.handle(req)

    async def _authenticate(self, req: SwiftRequest) -> Response | None:
        """Set ``req.identity`` from a temp URL signature or a token; 401 for a bad one.

        Each auth backend (TempAuth now, Keystone later) claims the token shapes it issued."""
        if "temp_url_sig" in req.query and req.obj is not None:
            result = await tempurl.authorize_tempurl(req)
            if isinstance(result, Response):
                return result
            req.identity, req.authorized_by = result, "tempurl"
            return None
        token = request_token(req.request)
        if token is None:
            return None
        backend = next((b for b in self.auths if b.owns_token(token)), None)
        identity = await backend.authenticate(req.request) if backend is not None else None
        if identity is None:
            return denied_response(401, req.account)
        req.identity = identity
        return None
