"""Request plumbing: JSON bodies, the caller's token, a DB session per request, error documents.

Handlers are plain functions ``handler(ctx) -> Response | (status, body)`` run in a worker thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from identity.errors import KeystoneError, bad_request, unauthorized
from identity.service import IdentityService
from identity.tokens import TokenInfo
from stackstore import json_body

log = logging.getLogger("stackstore.identity")


@dataclass
class Ctx:
    request: Request
    svc: IdentityService
    db: Session
    body: Any
    caller: TokenInfo | None

    @property
    def params(self) -> dict[str, str]:
        return self.request.path_params

    @property
    def query(self):
        return self.request.query_params

    @property
    def base(self) -> str:
        return self.svc.settings.public_url

    @property
    def path(self) -> str:
        return self.request.url.path

    def auth(self) -> TokenInfo:
        if self.caller is None:
            raise unauthorized()
        return self.caller

    def obj(self, key: str) -> dict:
        """``body[key]`` as a dict, else 400."""
        value = self.body.get(key) if isinstance(self.body, dict) else None
        if not isinstance(value, dict):
            raise bad_request(f"Expecting to find {key} in request body.")
        return value


Handler = Callable[[Ctx], Any]


async def _read_json(request: Request) -> Any:
    try:
        raw = await json_body.read_bounded(request)
    except json_body.BodyTooLarge:
        raise KeystoneError(413, "Request body too large.") from None
    except json_body.BodyTimeout:
        raise KeystoneError(408, "Request body not received in time.") from None
    if not raw.strip():
        return None
    try:
        return json_body.loads(raw)
    except ValueError:
        raise bad_request("Malformed request body: not JSON.") from None


def _run(svc: IdentityService, handler: Handler, request: Request, body: Any, authenticate: bool) -> Response:
    with svc.db.session() as db:
        token = request.headers.get("x-auth-token")
        caller = svc.verify(db, token) if token else None
        if token and caller is None and authenticate:
            raise unauthorized("The request you have made requires authentication.")
        if authenticate and caller is None:
            raise unauthorized()
        result = handler(Ctx(request, svc, db, body, caller))
    if isinstance(result, Response):
        return result
    status, data = result
    if data is None:
        return Response(status_code=status)
    return JSONResponse(data, status_code=status)


def endpoint(svc: IdentityService, handler: Handler, authenticate: bool = True):
    async def call(request: Request) -> Response:
        try:
            body = await _read_json(request) if request.method in ("POST", "PUT", "PATCH") else None
            response = await run_in_threadpool(_run, svc, handler, request, body, authenticate)
        except KeystoneError as err:
            response = err.response()
        except Exception:
            log.exception("identity request failed: %s %s", request.method, request.url.path)
            response = KeystoneError(500, "An unexpected error prevented the server from fulfilling your "
                                          "request.").response()
        if request.method == "HEAD":
            response.body = b""
        return response

    return call


def routes(svc: IdentityService, table: list[tuple[str, str, Handler] | tuple[str, str, Handler, bool]]
           ) -> list[Route]:
    """``[(path, "GET,HEAD", handler[, authenticate]), ...]`` → starlette routes."""
    out = []
    for entry in table:
        path, methods, handler = entry[:3]
        authenticate = entry[3] if len(entry) > 3 else True
        out.append(Route(path, endpoint(svc, handler, authenticate), methods=methods.split(",")))
    return out
