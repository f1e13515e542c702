"""Outermost ASGI layer: request ids on every response; unexpected exceptions become a bare 500."""

from __future__ import annotations

import logging
from urllib.parse import quote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from proxy.http.errors import STATUS
from proxy.http.protocol import is_unframed_put
from proxy.http.transid import SCOPE_KEY, new_trans_id

log = logging.getLogger("stackstore.proxy")


class RequestIdMiddleware:
    """Adds ``X-Trans-Id``/``X-Openstack-Request-Id``; answers 500 instead of a traceback."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = ""
        for name, value in scope.get("headers", ()):
            if name == b"x-trans-id-extra":
                extra = "-" + quote(value.decode("latin-1"), safe="")[:32]
        trans_id = scope[SCOPE_KEY] = new_trans_id(extra)
        id_headers = [(b"x-trans-id", trans_id.encode()), (b"x-openstack-request-id", trans_id.encode())]
        started = False

        async def send_with_ids(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = dict(message)
                message["headers"] = [
                    (k, v) for k, v in message.get("headers", ())
                    if k.lower() not in (b"x-trans-id", b"x-openstack-request-id")
                ] + id_headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_ids)
        except Exception:
            log.exception("unhandled error in %s %s (%s)", scope.get("method"), scope.get("path"), trans_id)
            if started:
                raise  # the body is already going out: the server drops the connection
            title, text = STATUS[500]
            body = f"<html><h1>{title}</h1><p>{text}</p></html>".encode()
            await send_with_ids({"type": "http.response.start", "status": 500, "headers": [
                (b"content-type", b"text/html; charset=UTF-8"), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})


class KeepAliveEcho:
    """Answers ``Connection: keep-alive`` to a request that asked for it, as Swift's server does
    (HTTP/1.0-style clients look for it); requests that did not ask get no ``Connection`` header."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _asks_keep_alive(scope):
            await self.app(scope, receive, send)
            return

        async def send_keep_alive(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if not any(k.lower() == b"connection" for k, _ in headers):
                    message = {**message, "headers": headers + [(b"connection", b"keep-alive")]}
            await send(message)

        await self.app(scope, receive, send_keep_alive)


def _asks_keep_alive(scope: Scope) -> bool:
    if is_unframed_put(scope.get("method", "").encode(), scope.get("headers", [])):
        return False  # the protocol closes the connection after it (proxy/http/protocol.py)
    for name, value in scope.get("headers", ()):
        if name == b"connection":
            return b"keep-alive" in [token.strip().lower() for token in value.split(b",")]
    return False
