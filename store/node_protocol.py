"""The storage node's HTTP protocol: bounded heads (``stackstore.http_limits``), each response's head sent
together with its body, and a lean path for the object, container and account routes.

uvicorn writes a response's head and its body with two ``transport.write`` calls, so a small answer
(every PUT/DELETE/HEAD and a small GET) costs two ``send`` system calls; on loopback each also runs the
receiver's TCP path and wakes the proxy twice. ``HeadWithBody`` holds the head back until the body's
first write or the end of the event loop's current pass, whichever comes first, then sends both at once.

The lean path: nearly all of a node's requests are small object/container/account requests from the proxy
and the other nodes. For them uvicorn's ASGI cycle (``run_asgi``, an ``http.response.start`` and an
``http.response.body`` message, two regular expressions and a lower-casing per response header) and Starlette's
``Response.__call__`` are replaced by :func:`run_lean`: the app's ``lean_response`` (signature check, routing,
handler) answers a Starlette ``Response``, whose head and body this module writes in one ``transport.write``.
Everything else stays uvicorn's: parsing, the head limits, ``Expect: 100-continue`` and the body
(``cycle.receive``), keep-alive, pipelining, flow control, TLS. A response the lean writer does not take
(streamed bodies, background tasks, no Content-Length, a header with a control character) goes through the
ASGI messages as before, which also refuse what they always refused.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, RequestResponseCycle

from stackstore import splice
from stackstore.http_limits import BoundedHttpToolsProtocol
from stackstore.local_sockets import widen_send_buffer
from store.file_response import FileRangeResponse

STORAGE_METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS", "PATCH")  # of the storage routes
_LEAN_PREFIXES = ("/obj/", "/cont/", "/acct/")  # the storage routes (store/server.py dispatches them)
_LEAN_METHODS = frozenset(STORAGE_METHODS)
# a control character other than CR and LF (those are counted: one pair per header line): uvicorn refuses
# these in header values (HEADER_VALUE_RE); a header name or value carrying one takes the ASGI path
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

JOIN_MAX = 64 << 10  # a body write up to this size is joined to the held head; larger ones go by writelines


class HeadWithBody:
    """The transport one response is written through: its head (after any interim 1xx answer, which goes
    at once) waits for the body's first write or the end of the loop's pass; everything else passes."""

    def __init__(self, transport: asyncio.Transport):
        self._transport = transport
        self.raw = transport  # what the lean path writes a whole response to
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


def lean_route(scope: Any) -> bool:
    """Whether an HTTP request goes to the object, container or account routes (the lean path's)."""
    return scope["method"] in _LEAN_METHODS and scope["path"].startswith(_LEAN_PREFIXES)


def _lean_head(cycle: RequestResponseCycle, response: Any, body_length: int) -> bytes | None:
    """The response's head when the lean writer can send it with a body of ``body_length`` bytes; None when
    the response must take the ASGI path (which then refuses or frames it as it always did)."""
    status_line = STATUS_LINE.get(response.status_code)
    if status_line is None:
        return None
    raw = cycle.default_headers + response.raw_headers if cycle.default_headers else response.raw_headers
    # "\n" + one "name: value\r\n" line per header (Starlette's raw headers: lower-case names); every line
    # start is then a "\n" followed by a name, as no name or value may hold a line break (counted below)
    block = b"".join([b"\n"] + [name + b": " + value + b"\r\n" for name, value in raw])
    lines = len(raw)
    if block.count(b"\n") != lines + 1 or block.count(b"\r") != lines or _CONTROL.search(block):
        return None  # a line break or control character inside a name or value
    if b"\nconnection: " in block or b"\ntransfer-encoding: " in block:
        return None  # framing or connection handling the handler chose itself
    head_only = cycle.scope["method"] == "HEAD"
    at = block.find(b"\ncontent-length: ")
    if at < 0:
        if not head_only and response.status_code not in (204, 304):
            return None  # uvicorn would frame it chunked
    elif not head_only:
        length = block[at + 17:block.index(b"\r", at)]
        if not length.isdigit() or int(length) != body_length:
            return None  # uvicorn refuses a body that does not match its Content-Length
    if not cycle.keep_alive:
        block += b"connection: close\r\n"
    return status_line + block[1:] + b"\r\n"


async def _write(cycle: RequestResponseCycle, response: Any) -> bool:
    """Send a whole response in one write, as uvicorn's cycle would (its state kept current); False when
    the response must take the ASGI path instead (nothing was sent)."""
    if cycle.flow.write_paused and not cycle.disconnected:
        await cycle.flow.drain()
    if cycle.disconnected:
        return True  # as uvicorn's send: the client is gone, nothing to write
    if getattr(response, "body", None) is None or response.background is not None:
        return False  # streamed, or work to run after it: Starlette's own __call__
    head = _lean_head(cycle, response, len(response.body))
    if head is None:
        return False
    cycle.response_started = True
    cycle.waiting_for_100_continue = False  # answered before the body was asked for: no 100 Continue
    body = response.body if cycle.scope["method"] != "HEAD" else b""
    transport = cast(HeadWithBody, cycle.transport).raw  # nothing to hold back: head and body are here
    if not body:
        transport.write(head)
    elif len(body) <= JOIN_MAX:
        transport.write(head + body)
    else:
        transport.writelines((head, body))
    _complete(cycle)
    return True


def _complete(cycle: RequestResponseCycle) -> None:
    """The response went out whole: uvicorn's cycle state as its own ``send`` leaves it."""
    cycle.response_complete = True
    cycle.message_event.set()
    if not cycle.keep_alive:
        cycle.transport.close()
    cycle.on_response()


async def _send_file(cycle: RequestResponseCycle, response: FileRangeResponse) -> bool:
    """Send an object range from its file (store/file_response.py): the head through the transport, the body
    by ``sendfile`` on the socket once the head has left; False when the connection does not allow it (TLS, no
    socket) or the head must take the ASGI path (nothing was sent)."""
    transport = cast(HeadWithBody, cycle.transport).raw
    sock = transport.get_extra_info("socket")
    if sock is None or transport.get_extra_info("sslcontext") is not None or cycle.scope["method"] == "HEAD":
        return False
    if cycle.flow.write_paused and not cycle.disconnected:
        await cycle.flow.drain()
    if cycle.disconnected:
        response.reader.close()
        return True
    head = _lean_head(cycle, response, response.length)
    if head is None:
        return False
    cycle.response_started = True
    cycle.waiting_for_100_continue = False
    try:
        transport.write(head)
        await splice.transport_emptied(transport, lambda: cycle.disconnected)  # the head before the file's bytes
        if cycle.disconnected:
            stopped: str | None = "client gone"
        else:  # on a duplicate: the transport closes its number if the proxy leaves between two blocks
            with splice.duplicate(sock.fileno()) as destination:
                stopped = await response.send_from_file(destination)
    finally:
        response.reader.close()
    if stopped is not None:  # the reader sees a short body (the proxy resumes from another replica)
        transport.close()
        cycle.disconnected = True
        return True
    _complete(cycle)
    return True


async def run_lean(cycle: RequestResponseCycle, app: Any) -> None:
    """uvicorn's ``RequestResponseCycle.run_asgi`` for one lean-path request: ``app.lean_response`` answers
    (None when it already answered through ``cycle.send``, e.g. 401), :func:`_write` sends it."""
    try:
        response = await app.lean_response(cycle.scope, cycle.receive, cycle.send)
        if isinstance(response, FileRangeResponse) and await _send_file(cycle, response):
            pass
        elif response is not None and not await _write(cycle, response):
            await response(cycle.scope, cycle.receive, cycle.send)
    except BaseException as exc:  # as run_asgi: logged, 500 when nothing was sent yet, else the connection ends
        cycle.logger.error("Exception in ASGI application\n", exc_info=exc)
        if not cycle.response_started:
            await cycle.send_500_response()
        else:
            cycle.transport.close()
    else:
        if not cycle.response_started and not cycle.disconnected:
            cycle.logger.error("ASGI callable returned without starting response.")
            await cycle.send_500_response()
        elif not cycle.response_complete and not cycle.disconnected:
            cycle.logger.error("ASGI callable returned without completing response.")
            cycle.transport.close()
    finally:
        cycle.on_response = lambda: None


class NodeHttpProtocol(BoundedHttpToolsProtocol):
    """The node's uvicorn protocol (``uvicorn_options(conf, "store", NodeHttpProtocol)``): lean-path routes
    run :func:`run_lean` when the app offers ``lean_response`` (store/server.py's NodeApp); responses sent
    through ASGI messages (the other routes, streamed bodies) go out through :class:`HeadWithBody`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ready = hasattr(self.app, "lean_response") and getattr(self.app, "dispatch", None) is not None
        self._lean_app = self.app if ready else None  # NodeApp with its routes set (store/server.py create_app)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        widen_send_buffer(transport.get_extra_info("socket"))  # a local socket's answers (file bodies) in one go

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        if self.cycle is not None and self.cycle.scope is self.scope:  # a new request's cycle
            self.cycle.transport = cast(asyncio.Transport, HeadWithBody(self.transport))

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        # (app is uvicorn's 503 answer over the concurrency limit, or the app has no lean_response: ASGI as always)
        if app is not self._lean_app or not lean_route(cycle.scope):
            super()._start_asgi_task(cycle, app)
            return
        task = self.loop.create_task(run_lean(cycle, app))
        task.add_done_callback(self.tasks.discard)
        self.tasks.add(task)
