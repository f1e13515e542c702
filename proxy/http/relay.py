"""An object's body relayed from its node to the client in the kernel (``stackstore.splice``).

A plain object GET (no transformation of the body: not a large object, no decryption, no multipart ranges)
streams a node's answer unchanged. :class:`RelayedResponse` sends the head the ordinary ASGI way, then lets
the internal client's :class:`objclient.reader.ResumingBody` move the body from the node's socket to the
client's with ``splice(2)`` (its resume-from-another-replica logic intact), through a
:class:`ClientOutlet` over uvicorn's request cycle. Anything that prevents it (TLS on either side, a feature
that replaced the body iterator, a framing other than Content-Length, a server without the cycle hook) falls
back to the ordinary stream.

The client's connection protocol (proxy/http/protocol.py) puts a weak reference to the request's uvicorn
cycle in the scope under :data:`CLIENT_CYCLE`; the outlet keeps that cycle's state true (the bytes still
expected, a client gone) so uvicorn finishes the response as if it had written the body itself. uvicorn is
pinned to 0.55.x (pyproject.toml) for these internals.

ASGI middlewares that count body bytes see the spliced ones in the final body message's
:data:`SPLICED_BYTES` entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from objclient.http import SpliceSource
from objclient.reader import ResumingBody
from stackstore import splice

CLIENT_CYCLE = "stackstore.client_cycle"  # scope key: weakref.ref to the uvicorn RequestResponseCycle (no loop)
SPLICED_BYTES = "stackstore.spliced_bytes"  # final body message key: body bytes that went by splice
SPLICE_MIN = 128 << 10  # bodies shorter than this are not worth the relay's set-up (proxy.http.bodies.streamed)


class ClientOutlet:
    """The client side of a relay: uvicorn's cycle for this request and the ASGI ``send`` above it."""

    def __init__(self, cycle: Any, send: Send):
        self.cycle = cycle
        self.asgi_send = send
        self.spliced = 0

    def can_splice(self) -> bool:
        cycle = self.cycle
        transport = cycle.transport
        return (not cycle.disconnected and cycle.response_started and cycle.chunked_encoding is False
                and not transport.is_closing() and transport.get_extra_info("sslcontext") is None
                and transport.get_extra_info("socket") is not None)

    async def send(self, data: bytes) -> bool:
        await self.asgi_send({"type": "http.response.body", "body": data, "more_body": True})
        return not self.cycle.disconnected

    async def splice(self, source: SpliceSource) -> splice.Relayed:
        cycle = self.cycle
        if source.remaining <= 0:
            return splice.Relayed(0)
        if source.remaining > cycle.expected_content_length:  # more than the answer's Content-Length
            return splice.Relayed(0, destination_error="body longer than the answer's Content-Length")
        transport = cycle.transport
        flush = getattr(transport, "flush", None)
        if flush is not None:
            flush()  # a head held back to go out with the body (proxy/http/protocol.py TitleCaseHeads)
        await splice.transport_emptied(transport, lambda: cycle.disconnected)  # the head and sent pieces first
        if cycle.disconnected:
            return splice.Relayed(0, destination_error="client gone")
        client_fd = transport.get_extra_info("socket").fileno()
        result = await splice.relay(source.fd, client_fd, source.remaining, source.timeout)
        cycle.expected_content_length -= result.moved
        self.spliced += result.moved
        if result.destination_error is not None:
            transport.close()
            cycle.disconnected = True  # as uvicorn's connection_lost will say: nothing more is written
        return result


def client_outlet(scope: Scope, send: Send) -> ClientOutlet | None:
    """The outlet for this request's client connection, if the server offers one and splicing works here."""
    ref = scope.get(CLIENT_CYCLE)
    cycle = ref() if ref is not None else None
    if cycle is None or not splice.available():
        return None
    return ClientOutlet(cycle, send)


class RelayedResponse(StreamingResponse):
    """A node's object body (a :class:`ResumingBody`), relayed in the kernel when the connection allows it,
    streamed otherwise (also when a feature replaced ``body_iterator``)."""

    def __init__(self, body: ResumingBody, status_code: int, headers: Mapping[str, str]):
        super().__init__(body, status_code=status_code, headers=headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = self.body_iterator
        outlet = client_outlet(scope, send) if isinstance(body, ResumingBody) else None
        if outlet is None:
            await super().__call__(scope, receive, send)
            return
        assert isinstance(body, ResumingBody)
        try:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            if await body.relay(outlet):
                await send({"type": "http.response.body", "body": b"", "more_body": False,
                            SPLICED_BYTES: outlet.spliced})
        finally:
            await body.aclose()
        if self.background is not None:
            await self.background()
