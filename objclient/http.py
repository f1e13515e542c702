"""A small pooled HTTP/1.1 client for storage nodes: an asyncio Protocol, httptools response parsing.

* ``Pool.request`` sends a request with an in-memory body and returns a :class:`Response` whose body
  streams from the socket; the connection goes back to the pool only once that body was fully read.
* ``Pool.call`` is the one-shot form for small node-to-node requests (row updates, replication calls):
  the whole exchange within one timeout, the body read into memory up to a bound (:class:`Reply`).
* ``Pool.begin_upload`` sends a request head for a streamed body (Content-Length or chunked), optionally
  with ``Expect: 100-continue``: the node's ``100 Continue`` yields an :class:`Upload`, a final status
  (507, 409, ...) yields that :class:`Response` before any data was sent.

Received bytes are handed out as the ``bytes`` pieces they arrived in (no stream buffer to copy through); the
socket is paused while more than ``READ_HIGH_WATER`` bytes are unread. The protocol chooses how much each
socket read takes (``asyncio.BufferedProtocol``): the first read of a GET's answer takes only ``HEAD_PIECE``
bytes, so a long body stays in the socket for a splice relay instead of a quarter of it being read into user
space with the head.

Errors are :class:`HttpError` subclasses: :class:`ConnectFailed`, :class:`NodeTimeout`,
:class:`BrokenResponse` (connection dropped, short body, malformed response), :class:`BodyTooLarge`.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import cast

import httptools

from objclient.headers import HeaderDict
from stackstore import node_signing
from stackstore.local_sockets import LocalSockets, widen_send_buffer

READ_SIZE = 1 << 20  # bytes asked for per body read (returns at most one received piece, up to this)
READ_HIGH_WATER = 1 << 21  # pause the socket once this much is received but not yet read
READ_LOW_WATER = 1 << 19  # ... and resume it once the reader got below this
MAX_HEAD = 1 << 19  # a response head longer than this is broken
WRITE_HIGH_WATER = 1 << 19  # drain an upload once this much is queued in the transport
_CONTENT_LENGTH = re.compile(rb"\r\n[Cc]ontent-[Ll]ength: *(\d{1,18})\r\n")
HOLD_BODY = 128 << 10  # a GET body this long stays in the socket until read or detached (splice relays)
READ_PIECE = 256 << 10  # bytes one socket read takes (as uvloop's own reads)
HEAD_PIECE = 16 << 10  # ... and the first read of a GET's answer: its head, little of its body
SMALL_BODY_MAX = 1 << 20  # Pool.call reads at most this much of a response body unless told otherwise


class HttpError(Exception):
    """Talking to a storage node failed."""


class ConnectFailed(HttpError):
    """The TCP connection could not be established (refused, unreachable)."""


class NodeTimeout(HttpError):
    """Connecting, or waiting for a response or body bytes, took too long."""


class BrokenResponse(HttpError):
    """The connection dropped or the node sent something that is not valid HTTP/1.1."""


class BodyTooLarge(BrokenResponse):
    """A response body read into memory was longer than the caller's limit (the connection is dropped)."""


def _wake(waiter: asyncio.Future | None) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


def _expire(waiter: asyncio.Future) -> None:
    """A wait's deadline passed: its waiter answers False."""
    if not waiter.done():
        waiter.set_result(False)


class _ReadBuffer(threading.local):
    """The buffer socket reads land in, one per thread: a protocol copies each read out of it at once (its
    ``buffer_updated`` follows its ``get_buffer`` with no other callback between), so one event loop's
    connections share it."""

    def __init__(self) -> None:
        self.view = memoryview(bytearray(READ_PIECE))


_read_buffer = _ReadBuffer()


class _NodeProtocol(asyncio.BufferedProtocol):
    """Keeps the received ``bytes`` pieces as they arrived (no concatenation) and wakes the reader;
    pauses the socket while too much is unread, and wakes a drainer when the transport resumes writing."""

    transport: asyncio.Transport  # set by connection_made, before anything else is called

    def __init__(self) -> None:
        self.pieces: deque[bytes | memoryview] = deque()
        self.buffered = 0
        self.eof = False
        self.lost = False
        self.error: Exception | None = None
        self.writing_paused = False
        self.reading_paused = False
        self._read_waiter: asyncio.Future | None = None
        self._drain_waiter: asyncio.Future | None = None
        self.detached = False  # the socket is read by a splice relay: the event loop must not resume reading
        self.hold_body = False  # the next answer is a GET's: see _hold_long_body
        self.held = False  # reading stopped by _hold_long_body, until recv or a splice relay takes the rest

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are look-alikes
        self._view = _read_buffer.view  # the event loop's thread calls get_buffer and buffer_updated

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._view[:HEAD_PIECE] if self.hold_body else self._view

    def buffer_updated(self, nbytes: int) -> None:
        self._received(bytes(self._view[:nbytes]))

    def _received(self, data: bytes) -> None:
        self.pieces.append(data)
        self.buffered += len(data)
        if self.hold_body:
            self._hold_long_body(data)
        if self.buffered > READ_HIGH_WATER and not self.reading_paused:
            self.reading_paused = True
            self.transport.pause_reading()
        _wake(self._read_waiter)

    def _hold_long_body(self, data: bytes) -> None:
        """The first piece of a GET's answer: if its head announces a body of which at least ``HOLD_BODY``
        bytes are still in the socket, stop reading right here, before the event loop reads on (it reads
        several pieces per readiness): the body may be relayed in the kernel (``Response.detach_body``)."""
        self.hold_body = False
        end = data.find(b"\r\n\r\n")
        if end < 0:
            return  # a head longer than a piece: not worth it
        length = _CONTENT_LENGTH.search(data, 0, end + 2)
        if length is not None and int(length.group(1)) - (len(data) - end - 4) >= HOLD_BODY:
            self.hold()

    def eof_received(self) -> bool:
        self.eof = True
        _wake(self._read_waiter)
        return False  # close the transport: a node that stops sending is done with this connection

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = self.lost = True
        self.error = exc
        _wake(self._read_waiter)
        _wake(self._drain_waiter)

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        _wake(self._drain_waiter)

    async def wait_readable(self, deadline: float) -> bool:
        """Until bytes arrive, EOF or the connection is lost (True), or the loop's clock reaches ``deadline``
        (False). A timer on the waiter itself: ``asyncio.timeout`` costs ~70 Python steps per use, and every
        node request waits for its answer's head."""
        loop = asyncio.get_running_loop()
        self._read_waiter = waiter = loop.create_future()
        timer = loop.call_at(deadline, _expire, waiter)
        try:
            return await waiter is not False
        finally:
            self._read_waiter = None
            timer.cancel()

    async def wait_writable(self, deadline: float) -> bool:
        """Until the transport resumes writing or the connection is lost (True), or ``deadline`` (False)."""
        loop = asyncio.get_running_loop()
        self._drain_waiter = waiter = loop.create_future()
        timer = loop.call_at(deadline, _expire, waiter)
        try:
            return await waiter is not False
        finally:
            self._drain_waiter = None
            timer.cancel()

    @property
    def at_eof(self) -> bool:
        return self.eof and not self.pieces

    def take(self, size: int) -> bytes:
        """The first buffered piece, split at ``size`` if longer (the rest stays first in line)."""
        piece = self.pieces.popleft()
        if len(piece) > size:
            self.pieces.appendleft(memoryview(piece)[size:])
            piece = piece[:size]
        self.buffered -= len(piece)
        if self.reading_paused and self.buffered <= READ_LOW_WATER and not (self.held or self.detached):
            self.reading_paused = False
            if not self.transport.is_closing():
                self.transport.resume_reading()
        return piece if type(piece) is bytes else bytes(piece)

    def hold(self) -> None:
        """Leave what follows in the socket until it is read (``Connection.recv`` resumes) or a splice relay
        takes the socket over (``Response.detach_body``)."""
        self.held = True
        if not self.reading_paused:
            self.reading_paused = True
            self.transport.pause_reading()

    def resume(self) -> None:
        """Read the socket again (after :meth:`hold`, or after a splice relay had it: ``Response.spliced``)."""
        self.reading_paused = self.held = False
        if not self.transport.is_closing():
            self.transport.resume_reading()

    def unread(self, piece: bytes | memoryview) -> None:
        self.pieces.appendleft(piece)
        self.buffered += len(piece)


@dataclass
class SpliceSource:
    """What :meth:`Response.detach_body` hands over: body bytes already received (send them first), the socket's
    descriptor and how many body bytes are still to come from it, and the node read timeout."""

    pieces: list[bytes]
    fd: int
    remaining: int
    timeout: float


class Connection:
    """One keep-alive connection to ``key = (ip, port)``."""

    __slots__ = ("key", "transport", "protocol", "idle_since", "reused")

    def __init__(self, key: tuple[str, int], transport: asyncio.Transport, protocol: _NodeProtocol):
        self.key = key
        self.transport = transport
        self.protocol = protocol
        self.transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
        self.idle_since = 0.0
        self.reused = False

    @property
    def closed(self) -> bool:
        return self.transport.is_closing() or self.protocol.at_eof

    def _name(self) -> str:
        return f"{self.key[0]}:{self.key[1]}"

    def abort(self) -> None:
        """Drop the connection at once (a node mid-upload sees a short body)."""
        self.transport.abort()

    def write(self, data: bytes) -> None:
        if self.transport.is_closing():
            raise BrokenResponse(f"connection to {self._name()} closed")
        self.transport.write(data)

    def _lost(self) -> BrokenResponse:
        return BrokenResponse(f"{self._name()}: connection lost ({self.protocol.error!r})")

    def _closed_in_head(self) -> BrokenResponse:
        return BrokenResponse(f"{self._name()}: connection closed before a complete response head")

    async def recv(self, size: int, timeout: float) -> bytes:
        """Up to ``size`` bytes, at most one received piece; ``b""`` at EOF.

        Raises :class:`NodeTimeout` if nothing arrives within ``timeout``, :class:`BrokenResponse` if the
        connection was reset.
        """
        proto = self.protocol
        if not proto.pieces:
            if proto.held and not proto.detached:  # the rest of a body worth splicing, read after all
                proto.resume()
            if not proto.eof:
                deadline = asyncio.get_running_loop().time() + timeout
                while not proto.pieces and not proto.eof:
                    if not await proto.wait_readable(deadline):
                        raise NodeTimeout(f"{self._name()}: body read timed out after {timeout}s")
            if not proto.pieces:
                if proto.error is not None:
                    raise self._lost()
                return b""
        return proto.take(size)

    async def read_head(self, timeout: float) -> bytes:
        """The bytes up to and including the next ``\\r\\n\\r\\n``; what follows stays buffered."""
        proto = self.protocol
        head = b""
        deadline = None
        while True:
            while not proto.pieces:
                if proto.eof:
                    raise self._lost() if proto.error else self._closed_in_head()
                if deadline is None:
                    deadline = asyncio.get_running_loop().time() + timeout
                if not await proto.wait_readable(deadline):
                    raise NodeTimeout(f"no response from {self._name()} in {timeout}s")
            start = max(0, len(head) - 3)
            head = head + proto.take(MAX_HEAD) if head else proto.take(MAX_HEAD)
            end = head.find(b"\r\n\r\n", start)
            if end >= 0:
                end += 4
                if end == len(head):
                    return head
                proto.unread(memoryview(head)[end:])
                return head[:end]
            if len(head) > MAX_HEAD:
                raise BrokenResponse(f"{self._name()}: response head longer than {MAX_HEAD} bytes")

    async def drain(self, timeout: float) -> None:
        """Wait until the transport's write buffer is below the low-water mark again."""
        proto = self.protocol
        if proto.writing_paused and not proto.lost:
            deadline = asyncio.get_running_loop().time() + timeout
            while proto.writing_paused and not proto.lost:
                if not await proto.wait_writable(deadline):
                    raise NodeTimeout(f"{self._name()}: upload stalled")
        if proto.lost:
            raise self._lost()


class _Sink:
    """httptools callbacks: collect headers, body pieces (chunked bodies) and completion."""

    __slots__ = ("headers", "body", "complete")

    def __init__(self) -> None:
        self.headers = HeaderDict()
        self.body: list[bytes] = []
        self.complete = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.add(name.decode("latin-1"), value.decode("latin-1"))

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.complete = True


def _encode_head(method: str, path: str, host: str, headers: Mapping[str, str],
                 signing_key: bytes | None = None) -> bytes:
    """The request head as bytes; with ``signing_key`` it carries ``X-Backend-Signature`` over the
    head exactly as the node will decode it (``stackstore.node_signing``)."""
    names = list(headers)
    values = list(map(str, headers.values()))
    # checked and joined by C calls, not a Python loop over the headers (a PUT sends ~20 to each of 3 nodes)
    joined_names, joined_values = "".join(names), "".join(values)
    if ("\n" in joined_names or "\r" in joined_names or ":" in joined_names or "\n" in joined_values
            or "\r" in joined_values):
        bad = next(n for n, v in zip(names, values, strict=True) if "\n" in n + v or "\r" in n + v or ":" in n)
        raise ValueError(f"invalid header {bad!r}")
    text = "".join([f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n", *map("{}: {}\r\n".format, names, values)])
    try:
        raw = text.encode("latin-1")
        encoding = "latin-1"
    except UnicodeEncodeError:
        raw, encoding = text.encode("utf-8"), "utf-8"
    if signing_key is not None:
        if encoding == "latin-1":  # the node decodes what it received as latin-1: the same text
            signature = node_signing.sign(signing_key, method, path, headers)
        else:
            def wire(value: str) -> str:
                return value.encode(encoding).decode("latin-1")

            signature = node_signing.sign(signing_key, method, wire(path),
                                          {wire(k): wire(str(v)) for k, v in headers.items()})
        raw += f"{node_signing.SIGNATURE_HEADER}: {signature}\r\n".encode("ascii")
    return raw + b"\r\n"


async def _read_head(conn: Connection, timeout: float) -> tuple[int, httptools.HttpResponseParser, _Sink]:
    """Read and parse one response head (status line + headers)."""
    try:
        block = await conn.read_head(timeout)
    except HttpError:
        conn.abort()
        raise
    sink = _Sink()
    parser = httptools.HttpResponseParser(sink)
    try:
        parser.feed_data(block)
    except httptools.HttpParserError as exc:
        conn.abort()
        raise BrokenResponse(f"{conn.key[0]}:{conn.key[1]}: bad response head: {exc}") from None
    return parser.get_status_code(), parser, sink


def _keep_alive(version: str, headers: HeaderDict) -> bool:
    """Whether the connection stays open after this response (httptools' should_keep_alive() is only
    meaningful before the message completed, which bodyless responses already did)."""
    tokens = headers.get("connection", "").lower()
    if version == "1.1":
        return "close" not in tokens
    return "keep-alive" in tokens


class Response:
    """A node's response; the body is read on demand, then the connection returns to the pool."""

    __slots__ = (
        "status",
        "headers",
        "_pool",
        "_conn",
        "_parser",
        "_sink",
        "_mode",
        "_remaining",
        "_keep_alive",
        "_timeout",
        "done",
    )

    _NONE, _LENGTH, _CHUNKED, _EOF = range(4)

    def __init__(
        self,
        pool: Pool,
        conn: Connection,
        method: str,
        status: int,
        parser: httptools.HttpResponseParser,
        sink: _Sink,
        reusable: bool = True,
        timeout: float | None = None,
    ):
        """``timeout``: seconds each body read may wait for bytes (default: the pool's node_timeout)."""
        self.status = status
        self.headers = sink.headers
        self._pool = pool
        self._conn = conn
        self._parser = parser
        self._sink = sink
        self._timeout = pool.node_timeout if timeout is None else timeout
        self._keep_alive = reusable and _keep_alive(parser.get_http_version(), self.headers)
        self._remaining = 0
        self.done = False
        te = self.headers.get("transfer-encoding", "")
        cl = self.headers.get("content-length")
        if method == "HEAD" or status in (204, 304) or status < 200:
            self._mode = self._NONE
        elif "chunked" in te.lower():
            self._mode = self._CHUNKED
        elif cl is not None:
            self._mode = self._LENGTH
            try:
                self._remaining = int(cl)
            except ValueError:
                conn.abort()
                raise BrokenResponse(f"bad Content-Length {cl!r}") from None
        else:
            self._mode = self._EOF
            self._keep_alive = False
        if self._mode == self._NONE or (self._mode == self._LENGTH and not self._remaining):
            self._finish()

    @property
    def node(self) -> tuple[str, int]:
        return self._conn.key

    def _finish(self) -> None:
        self.done = True
        if self._keep_alive:
            self._pool.release(self._conn)
        else:
            self._conn.abort()

    def close(self) -> None:
        """Stop reading; an unfinished body means the connection cannot be reused."""
        if not self.done:
            self.done = True
            self._conn.abort()

    def detach_body(self) -> SpliceSource | None:
        """Hand the rest of a Content-Length body over to be moved in the kernel (``stackstore.splice``):
        the socket stops being read by the event loop; the answer holds the bytes already received and the
        socket's descriptor. None when that cannot be done (chunked or EOF-framed body, TLS, done), and
        nothing changed. Call :meth:`spliced` afterwards."""
        if self._mode != self._LENGTH or self.done or not self._remaining:
            return None
        transport = self._conn.transport
        sock = transport.get_extra_info("socket")
        if sock is None or transport.get_extra_info("sslcontext") is not None or transport.is_closing():
            return None
        proto = self._conn.protocol
        proto.hold()
        proto.detached = True
        pieces: list[bytes] = []
        while proto.pieces and self._remaining:
            piece = proto.take(self._remaining)
            self._remaining -= len(piece)
            pieces.append(piece)
        return SpliceSource(pieces, sock.fileno(), self._remaining, self._timeout)

    def spliced(self, moved: int) -> None:
        """After :meth:`detach_body`: ``moved`` more body bytes left the socket. A complete body gives the
        connection back to the pool (read again by the event loop); an incomplete one closes it."""
        self._remaining -= moved
        proto = self._conn.protocol
        proto.detached = False
        if self._remaining or proto.pieces:
            self.close()
            return
        proto.resume()
        self._finish()

    def _broken(self, msg: str) -> BrokenResponse:
        self.close()
        host, port = self._conn.key
        return BrokenResponse(f"{host}:{port}: {msg}")

    async def _recv(self, size: int) -> bytes:
        try:
            return await self._conn.recv(size, self._timeout)
        except HttpError:
            self.close()
            raise

    async def read_chunk(self, size: int = READ_SIZE) -> bytes:
        """The next piece of the body; ``b""`` once it is complete. Raises on a short body."""
        if self.done:
            return b""
        if self._mode == self._LENGTH:
            data = await self._recv(min(self._remaining, size))
            if not data:
                raise self._broken(f"connection closed with {self._remaining} body bytes missing")
            self._remaining -= len(data)
            if not self._remaining:
                self._finish()
            return data
        if self._mode == self._EOF:
            data = await self._recv(size)
            if not data:
                self._finish()
            return data
        sink = self._sink
        while not sink.body:
            if sink.complete:
                self._finish()
                return b""
            data = await self._recv(size)
            if not data:
                raise self._broken("connection closed inside a chunked body")
            try:
                self._parser.feed_data(data)
            except httptools.HttpParserError as exc:
                raise self._broken(f"bad chunked body: {exc}") from None
        pieces, sink.body = sink.body, []
        if sink.complete:
            self._finish()
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    async def iter_body(self, size: int = READ_SIZE) -> AsyncIterator[bytes]:
        """Async iterator over the body pieces."""
        while data := await self.read_chunk(size):
            yield data

    async def read(self, limit: int | None = None) -> bytes:
        """The whole body (small bodies only: listings, errors, JSON answers).

        With ``limit``, a body longer than ``limit`` bytes raises :class:`BodyTooLarge` (and the
        connection is dropped) instead of being read on: also a body without Content-Length.
        """
        if limit is not None and self._mode == self._LENGTH and self._remaining > limit:
            raise self._too_large(limit)
        parts = []
        size = 0
        while data := await self.read_chunk():
            size += len(data)
            if limit is not None and size > limit:
                raise self._too_large(limit)
            parts.append(data)
        return b"".join(parts)

    def _too_large(self, limit: int) -> BodyTooLarge:
        self.close()
        host, port = self._conn.key
        return BodyTooLarge(f"{host}:{port}: response body longer than {limit} bytes")

    async def drain_body(self, limit: int = 65536) -> None:
        """Read and discard a small body so the connection can be reused; close if it is large."""
        if self.done:
            return
        if self._mode == self._LENGTH and self._remaining <= limit:
            try:
                await self.read()
            except HttpError:
                pass
        else:
            self.close()


class Upload:
    """A request whose head has been sent; write the body with :meth:`write`, then :meth:`finish`."""

    __slots__ = ("_pool", "_conn", "_method", "_chunked", "sent")

    def __init__(self, pool: Pool, conn: Connection, method: str, chunked: bool):
        self._pool = pool
        self._conn = conn
        self._method = method
        self._chunked = chunked
        self.sent = 0

    @property
    def node(self) -> tuple[str, int]:
        return self._conn.key

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Queue body bytes (never blocks; call :meth:`drain` when :attr:`needs_drain`)."""
        if not data:
            return
        conn = self._conn
        if conn.closed:
            raise BrokenResponse(f"connection to {conn.key[0]}:{conn.key[1]} closed during upload")
        if self._chunked:
            conn.transport.writelines((b"%x\r\n" % len(data), data, b"\r\n"))
        else:
            conn.transport.write(data)
        self.sent += len(data)

    @property
    def needs_drain(self) -> bool:
        return self._conn.transport.get_write_buffer_size() > WRITE_HIGH_WATER

    async def drain(self, timeout: float | None = None) -> None:
        """Wait (up to ``timeout``, default node_timeout) until the node has taken the queued bytes."""
        try:
            await self._conn.drain(self._pool.node_timeout if timeout is None else timeout)
        except HttpError:
            self.abort()
            raise

    async def finish(self, timeout: float | None = None) -> Response:
        """End the body and wait for the node's final response (``timeout``: for its head and each
        read of its body; default node_timeout)."""
        if self._chunked:
            self._conn.write(b"0\r\n\r\n")
        return await self._pool._final_response(self._conn, self._method, timeout)

    def abort(self) -> None:
        self._conn.abort()


@dataclass(frozen=True)
class Reply:
    """A complete small response: what :meth:`Pool.call` returns."""

    status: int
    headers: HeaderDict
    body: bytes


class Pool:
    """Keep-alive connections per ``(ip, port)``, at most ``max_idle`` idle ones each."""

    def __init__(
        self,
        conn_timeout: float = 0.5,
        node_timeout: float = 10.0,
        max_idle: int = 128,
        idle_timeout: float = 4.0,
        signing_key: bytes | None = None,
        ssl_context: ssl.SSLContext | None = None,
        local_sockets: LocalSockets | None = None,
    ):
        self.conn_timeout = conn_timeout
        self.ssl_context = ssl_context  # nodes serve HTTPS ([cluster] internal_tls): verified with it
        # nodes of this host reached through their Unix sockets (stackstore/local_sockets.py; plain HTTP only)
        self.local_sockets = local_sockets if ssl_context is None else None
        self.signing_key = signing_key  # the cluster's node key: every request head is signed with it
        self.node_timeout = node_timeout
        self.max_idle = max_idle
        self.idle_timeout = idle_timeout  # below the nodes' keep-alive timeout (uvicorn: 5 s)
        self._idle: dict[tuple[str, int], deque[Connection]] = {}

    async def acquire(self, ip: str, port: int) -> Connection:
        key = (ip, port)
        idle = self._idle.get(key)
        if idle:
            now = time.monotonic()
            while idle:
                conn = idle.pop()
                if now - conn.idle_since < self.idle_timeout and not conn.closed:
                    conn.reused = True
                    return conn
                conn.abort()
        path = self.local_sockets.path_for(ip, port) if self.local_sockets is not None else None
        try:
            async with asyncio.timeout(self.conn_timeout):
                if path is not None:
                    transport, protocol = await asyncio.get_running_loop().create_unix_connection(
                        _NodeProtocol, path
                    )
                    widen_send_buffer(transport.get_extra_info("socket"))  # request bodies (PUT) in one go
                else:
                    transport, protocol = await asyncio.get_running_loop().create_connection(
                        _NodeProtocol, ip, port, ssl=self.ssl_context
                    )
        except TimeoutError:
            raise NodeTimeout(f"connect to {ip}:{port} timed out after {self.conn_timeout}s") from None
        except OSError as exc:  # ssl.SSLError (a certificate that does not verify) included
            raise ConnectFailed(f"connect to {ip}:{port}: {exc}") from None
        return Connection(key, transport, protocol)

    def release(self, conn: Connection) -> None:
        if conn.closed:
            conn.abort()
            return
        now = time.monotonic()
        idle = self._idle.setdefault(conn.key, deque())
        while idle and (len(idle) >= self.max_idle or now - idle[0].idle_since >= self.idle_timeout):
            idle.popleft().abort()
        conn.idle_since = now
        idle.append(conn)

    async def close(self) -> None:
        for idle in self._idle.values():
            while idle:
                idle.pop().abort()
        self._idle.clear()

    async def _final_response(
        self, conn: Connection, method: str, timeout: float | None = None, reusable: bool = True
    ) -> Response:
        wait = self.node_timeout if timeout is None else timeout
        while True:
            status, parser, sink = await _read_head(conn, wait)
            if status >= 200 or status == 101:
                return Response(self, conn, method, status, parser, sink, reusable, timeout)

    async def request(
        self,
        ip: str,
        port: int,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes = b"",
        timeout: float | None = None,
    ) -> Response:
        """Send a request with an in-memory body; retry once if a reused connection turned out stale."""
        head_headers = dict(headers)
        if body or method in ("PUT", "POST"):
            head_headers["Content-Length"] = str(len(body))
        head = _encode_head(method, path, f"{ip}:{port}", head_headers, self.signing_key)
        for attempt in range(2):
            conn = await self.acquire(ip, port)
            try:
                conn.protocol.hold_body = method == "GET" and self.ssl_context is None  # may be relayed
                conn.write(head + body if body else head)
                return await self._final_response(conn, method, timeout)
            except BrokenResponse:
                conn.abort()
                if conn.reused and attempt == 0:
                    continue
                raise
            except BaseException:  # cancelled (hedged read lost) or timed out: the state is unknown
                conn.abort()
                raise
        raise AssertionError("unreachable")

    async def call(
        self,
        ip: str,
        port: int,
        method: str,
        path: str,
        headers: Mapping[str, object] | None = None,
        body: bytes = b"",
        *,
        timeout: float | None = None,
        max_body: int = SMALL_BODY_MAX,
    ) -> Reply:
        """One small request over a pooled connection: connect, send, and read the whole response
        (chunked bodies decoded, a body without Content-Length read to EOF) within ``timeout`` seconds
        (default node_timeout).

        Raises :class:`NodeTimeout` when the exchange took longer, :class:`BodyTooLarge` when the body
        is longer than ``max_body``, another :class:`HttpError` when the node could not be reached or
        answered garbage, or when ``headers`` cannot be sent (CR/LF in a value).
        """
        timeout = self.node_timeout if timeout is None else timeout
        sendable = {name: str(value) for name, value in (headers or {}).items()}
        try:
            async with asyncio.timeout(timeout):
                resp = await self.request(ip, port, method, path, sendable, body, timeout)
                try:
                    data = await resp.read(max_body)
                finally:
                    resp.close()  # a no-op once the body was read (the connection went back to the pool)
        except TimeoutError:
            raise NodeTimeout(f"{method} {ip}:{port}{path}: no complete answer in {timeout}s") from None
        except ValueError as exc:  # a header that cannot be encoded
            raise HttpError(f"{method} {ip}:{port}{path}: {exc}") from None
        return Reply(resp.status, resp.headers, data)

    async def begin_upload(
        self,
        ip: str,
        port: int,
        method: str,
        path: str,
        headers: Mapping[str, str],
        content_length: int | None,
        expect: bool = True,
        timeout: float | None = None,
    ) -> Upload | Response:
        """Send the head of a streamed-body request.

        With ``expect`` the node is asked for ``100 Continue`` first: an :class:`Upload` is returned only
        once it arrived; a final response (507, 409, ...) is returned as a :class:`Response` instead.
        """
        head_headers = dict(headers)
        chunked = content_length is None
        if chunked:
            head_headers["Transfer-Encoding"] = "chunked"
        else:
            head_headers["Content-Length"] = str(content_length)
        if expect:
            head_headers["Expect"] = "100-continue"
        head = _encode_head(method, path, f"{ip}:{port}", head_headers, self.signing_key)
        for attempt in range(2):
            conn = await self.acquire(ip, port)
            try:
                conn.write(head)
                if not expect:
                    return Upload(self, conn, method, chunked)
                status, parser, sink = await _read_head(
                    conn, self.node_timeout if timeout is None else timeout
                )
            except BrokenResponse:
                conn.abort()
                if conn.reused and attempt == 0:
                    continue
                raise
            except BaseException:
                conn.abort()
                raise
            if status == 100:
                return Upload(self, conn, method, chunked)
            # A final answer before the body was sent: the connection state is unknown, never reuse it.
            return Response(self, conn, method, status, parser, sink, reusable=False)
        raise AssertionError("unreachable")
