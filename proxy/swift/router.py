"""The Swift API router: parse ``/v1/<account>[/<container>[/<object>]]``, look the operation up in
the router table (proxy/swift/operations.py) and run the feature pipeline (proxy/pipeline.py:
CORS, temp URL, authentication, authorization, bulk, SLO, DLO) down to the operation's handler."""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote_to_bytes

from starlette.requests import Request
from starlette.responses import Response

from proxy.auth.base import AuthBackend
from proxy.context import ProxyState
from proxy.http.errors import HTML, HTTPError
from proxy.http.transid import trans_id_of
from proxy.pipeline import build, swift_features
from proxy.swift import constraints, operations
from proxy.swift.context import SwiftRequest

API_VERSIONS = ("v1", "v1.0")


def split_path(raw_path: bytes) -> tuple[str, str | None, str | None]:
    """(account, container, object) of a raw ``/v1/...`` path, percent-decoded and never normalised.

    Like Swift, the whole path is decoded before splitting; ``/v1/a/c/`` is the container ``c`` and
    ``/v1/a/c//x`` the object ``/x``. 412 for invalid UTF-8 or NUL and for the version alone, 404 for a
    malformed path.
    """
    try:
        path = unquote_to_bytes(raw_path).decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPError(412, "Invalid UTF8 or contains NULL", content_type=HTML) from None
    if "\x00" in path:
        raise HTTPError(412, "Invalid UTF8 or contains NULL", content_type=HTML)
    parts = path.split("/", 4)
    if parts[0] != "" or parts[1] not in API_VERSIONS:
        raise HTTPError(404)
    if len(parts) < 3 or parts[2:] == [""]:  # the version alone (``/v1``, ``/v1/``) names nothing: 412
        raise HTTPError(412, "Bad URL", content_type=HTML)
    if not parts[2]:
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

    def __init__(self, state: ProxyState, auth: AuthBackend | list[AuthBackend]):
        self.state = state
        self.auths: list[AuthBackend] = list(auth) if isinstance(auth, list | tuple) else [auth]
        self.pipeline = build(swift_features(self.auths), run_operation)

    async def __call__(self, request: Request) -> Response:
        try:
            req = self._parse(request)
        except HTTPError as err:
            return err.response()
        return await self.pipeline(req)

    def _parse(self, request: Request) -> SwiftRequest:
        scope = request.scope
        acct, cont, name = split_path(scope.get("raw_path") or scope["path"].encode())
        constraints.check_names(acct, cont, name)
        req = SwiftRequest(request=request, state=self.state, account=acct, container=cont, obj=name,
                           query=parse_query(scope.get("query_string", b"")), trans_id=trans_id_of(scope))
        req.operation = operations.lookup(req)
        return req


async def run_operation(req: SwiftRequest) -> Response:
    """The pipeline's endpoint: the router table entry's handler (authorized by then)."""
    if req.operation is None:
        req.operation = operations.lookup(req)
    return await req.operation.handler(req)
