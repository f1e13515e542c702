"""The storage node's HTTP protocol: bounded heads (``stackstore.http_limits``), and each response's
head sent together with its body.

uvicorn writes a response's head and its body with two ``transport.write`` calls, so a small answer
(every PUT/DELETE/HEAD and a small GET) costs two ``send`` system calls; on loopback each also runs the
receiver's TCP path and wakes the proxy twice. ``HeadWithBody`` holds the head back until the body's
first write or the end of the event loop's current pass, whichever comes first, then sends both at once.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from stackstore.http_limits import BoundedHttpToolsProtocol

JOIN_MAX = 64 << 10  # a body write up to this size is joined to the held head; larger ones go by writelines


class HeadWithBody:
    """The transport one response is written through: its head (after any interim 1xx answer, which goes
    at once) waits for the body's first write or the end of the loop's pass; everything else passes."""

    def __init__(self, transport: asyncio.Transport):
        self._transport = transport
        self._head_pending = True
        self._held: bytes | None = None

    def write(self, data: bytes) -> None:
        """``transport.write``: the response head is held (see the class), the rest written through."""
        if self._head_pending and data.startswith(b"HTTP/") and data[9:10] != b"1":
            self._head_pending = False
            self._held = data
            asyncio.get_running_loop().call_soon(self.flush)
            return
        held, self._held = self._held, None
        if held is None:
            self._transport.write(data)
        elif len(data) <= JOIN_MAX:
            self._transport.write(held + data)
        else:
            self._transport.writelines((held, data))

    def flush(self) -> None:
        """Send a held head now (no body came in the same pass of the loop)."""
        held, self._held = self._held, None
        if held is not None and not self._transport.is_closing():
            self._transport.write(held)

    def close(self) -> None:
        """Send what is held, then close the transport."""
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class NodeHttpProtocol(BoundedHttpToolsProtocol):
    """The node's uvicorn protocol (``uvicorn_options(conf, "store", NodeHttpProtocol)``)."""

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        if self.cycle is not None and self.cycle.scope is self.scope:  # a new request's cycle
            self.cycle.transport = cast(asyncio.Transport, HeadWithBody(self.transport))
