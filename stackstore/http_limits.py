"""Bounded HTTP input for every StackStore server process (proxy workers, storage nodes, API services).

uvicorn's httptools protocol accepts request heads of any size and waits forever for one to finish.
:class:`BoundedHttpToolsProtocol` adds, per connection:

* a request line (method + target) longer than ``max_request_line`` bytes → 414;
* one header line (name + value) longer than ``max_header_line`` bytes, more than ``max_header_count``
  header lines, or a head (request line + headers) longer than ``max_header_bytes`` → 431;
* a head not complete ``header_timeout`` seconds after the connection opened or its first byte arrived
  (slow-loris) → 408 and the connection is closed.

Those answers carry ``Connection: close``. A subclass may answer a limit as the API it serves does
(:meth:`BoundedHttpToolsProtocol.refusal`; the proxy answers as Swift's server: proxy/http/protocol.py).
:func:`uvicorn_options` adds uvicorn's own bounds: idle keep-alive timeout and a cap on concurrent
connections + requests per process (503 beyond it). The limits come from ``[http]`` in the
configuration, overridden by the same keys in a service's section.
"""

from __future__ import annotations

import asyncio
import http
import sys
from dataclasses import dataclass, fields
from itertools import chain
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

LINGER_SECONDS = 2.0  # input read and dropped after a limit answer, before the connection closes

# The limits a request head can exceed (the ``limit`` :meth:`BoundedHttpToolsProtocol.refusal` is asked about).
REQUEST_LINE = "request line"
HEADER_LINE = "header line"
HEADER_COUNT = "header count"
HEAD_SIZE = "head size"


@dataclass(frozen=True)
class HttpLimits:
    """Per-process bounds on request heads and connections (see the module docstring)."""

    max_request_line: int = 8192
    max_header_line: int = 8192
    max_header_bytes: int = 65536
    max_header_count: int = 256
    header_timeout: float = 30.0
    keep_alive_timeout: float = 5.0
    max_connections: int = 1000
    # load balancers believed to name the client in X-Forwarded-For ("a,b" or "*"); empty: nobody, the peer is it
    forwarded_allow_ips: str = ""

    @classmethod
    def from_config(cls, conf: Any, section: str | None = None) -> HttpLimits:
        """``[http]`` values overridden by the same keys of ``[<section>]``; unset keys keep the defaults."""
        values: dict[str, Any] = {}
        tables = [conf.get("http", {})] + ([conf.get(section, {})] if section else [])
        for table in tables:
            for f in fields(cls):
                if f.name in table:
                    values[f.name] = type(getattr(cls, f.name))(table[f.name])  # the default's type
        return cls(**values)


class _HeadLimitExceeded(httptools.HttpParserError):
    """Raised from a parser callback; httptools turns it into an HttpParserCallbackError."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with bounded request heads and a head timeout; ``limits`` is set
    on the subclass :func:`bounded_protocol` makes."""

    limits: HttpLimits = HttpLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_pending = True  # a request head has been started (or is awaited) and is not complete
        self._head_bytes = 0
        self._upgrade_body: int | None = None  # bytes still to come of an upgrade request's body (see below)
        self._fed = b""  # what was last handed to the parser
        self._header_line_budget = self.header_line_budget()
        self._max_header_count = self.limits.max_header_count
        self._limit_answer: tuple[int, str] | None = None  # (status, text) for the head refused over a limit
        self._head_timer: asyncio.TimerHandle | None = None
        self._closing_at: asyncio.TimerHandle | None = None

    # -- connection ---------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        if self._closing_at is not None:
            self._closing_at.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._closing_at is not None:
            return  # answered and closing: what the client still sends is read and dropped
        if self._upgrade_body:
            data = self._take_upgrade_body(data)
            if not data:
                return
        self._fed = data
        if self._head_pending:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._head_pending and self._head_timer is None and self.parser is not None:
            # a head begun in this read and not finished in it: its timeout runs from now. A head that came
            # whole (the usual case) never arms a timer, where arming at its first byte and cancelling at its
            # last cost a timer per request (~2% of a node's loop under small PUTs, py-spy, session 28)
            self._arm_head_timer()
        if self._head_pending and self._head_bytes > self.limits.max_header_bytes and self.parser is not None \
                and self._closing_at is None and not self.transport.is_closing():
            if not self.headers and self._url_open():
                limit = REQUEST_LINE
            elif self._long_header_index() is not None:
                limit = HEADER_LINE  # met before the head's size by a reader going line by line
            else:
                limit = HEAD_SIZE
            self._limit_answer = self.refusal(limit)
            self.send_400_response("")

    def _url_open(self) -> bool:
        """Whether the head so far is all request line (no header started yet)."""
        return len(getattr(self, "url", b"")) >= self._head_bytes - 32

    # -- parser callbacks ---------------------------------------------------------------------------
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_pending = True

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > self.limits.max_request_line:
            self.refuse(REQUEST_LINE)

    def on_header(self, name: bytes, value: bytes) -> None:
        # uvicorn's own on_header, inlined (one Python call less per header of every request). The header count
        # is bounded here, as headers arrive: one read (up to 256 KiB) of tiny header lines would otherwise become
        # tens of thousands of tuples before any check. The line limit is checked once the head is complete
        # (on_headers_complete): a long line is one object, and the head's size is bounded as it arrives.
        headers = self.headers
        if len(headers) >= self._max_header_count:
            self._refuse_count(name, value)
        name = name.lower()
        value = value.rstrip(b" \t")  # trailing whitespace is not part of the value (RFC 9110 5.5)
        if name == b"expect" and value.lower() == b"100-continue":
            self.expect_100_continue = True
        headers.append((name, value))

    def _refuse_count(self, name: bytes, value: bytes) -> None:
        """Refuse a head with one header too many, unless a reader going line by line would have met a line
        over the budget first (among those kept, or this one)."""
        too_long = self._long_header_index()
        if too_long is not None or len(name) + len(value) > self._header_line_budget:
            self.refuse(HEADER_LINE)
        self.refuse(HEADER_COUNT)

    def _long_header_index(self) -> int | None:
        """The index of the first header whose name + value is over the line budget, else None. Checked
        header by header only when all of them together are (one C call for the usual head)."""
        headers, budget = self.headers, self._header_line_budget
        if sum(map(len, chain.from_iterable(headers))) <= budget:
            return None
        for index, (name, value) in enumerate(headers):
            if len(name) + len(value) > budget:
                return index
        return None

    def header_line_budget(self) -> int:
        """The longest header name + value (bytes) accepted; a longer one is refused as ``HEADER_LINE``."""
        return self.limits.max_header_line

    def on_headers_complete(self) -> None:
        if self._long_header_index() is not None:  # (the count is checked as headers arrive)
            self.refuse(HEADER_LINE)
        self._head_pending = False
        self._head_bytes = 0
        self._cancel_head_timer()
        super().on_headers_complete()
        self._upgrade_body = self._body_of_upgrade() if self.parser.should_upgrade() else None

    # -- upgrade requests -----------------------------------------------------------------------------
    # No StackStore server switches protocols (uvicorn runs with ws="none"): a request asking to (``Connection:
    # upgrade`` with ``Upgrade: h2c``, ``websocket``...) is an ordinary request, as to Swift's server. But the
    # parser (llhttp) ends such a message at its head and would parse its body as the next request; a body with
    # a Content-Length is taken here instead, and the message completes after it.
    def _body_of_upgrade(self) -> int | None:
        """The Content-Length of an upgrade request with a body (its bytes are delivered by this class)."""
        if self.cycle is None or self.cycle.scope is not self.scope:
            return None
        lengths = [value for name, value in self.headers if name == b"content-length"]
        if len(lengths) != 1 or not lengths[0].isdigit():
            return None  # no body, or one the parser would have refused: left to it
        length = int(lengths[0])
        return length or None

    def on_message_complete(self) -> None:
        if self._upgrade_body:  # the parser's end of an upgrade request's head: its body is still to come
            return
        super().on_message_complete()

    def _unsupported_upgrade_warning(self) -> None:
        # uvicorn calls this where the parser stopped at an upgrade: the rest of what it was fed is the body
        stopped = sys.exc_info()[1]
        if not self._upgrade_body or not isinstance(stopped, httptools.HttpParserUpgrade) or not stopped.args:
            return
        rest = self._fed[stopped.args[0]:]
        if rest:
            self.data_received(rest)

    def _take_upgrade_body(self, data: bytes) -> bytes:
        """Deliver what ``data`` holds of an upgrade request's body (completing the message at its end); the
        bytes after it."""
        assert self._upgrade_body is not None
        body, rest = data[:self._upgrade_body], data[self._upgrade_body:]
        self._upgrade_body -= len(body)
        if body:
            self.on_body(body)
        if not self._upgrade_body:
            self._upgrade_body = None
            self.on_message_complete()
        return rest

    # -- answers ------------------------------------------------------------------------------------
    def refusal(self, limit: str) -> tuple[int, str]:
        """(status, text; "" for the status's phrase) answering a head over ``limit`` (``REQUEST_LINE``,
        ``HEADER_LINE``, ``HEADER_COUNT`` or ``HEAD_SIZE``): 414 for the request line, else 431."""
        return (414, "") if limit == REQUEST_LINE else (431, "")

    def refuse(self, limit: str) -> None:
        """From a parser callback: stop parsing; the head is answered with :meth:`refusal` of ``limit``."""
        self._limit_answer = self.refusal(limit)
        raise _HeadLimitExceeded(limit)

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to an unparsable head (400, closed lingeringly: a client still sending reads
        it rather than a reset); a head over a limit gets its :meth:`refusal` instead."""
        answer, self._limit_answer = self._limit_answer, None
        self._send_and_close(*(answer or (400, msg)))

    def _send_and_close(self, status: int, message: str = "") -> None:
        self._cancel_head_timer()
        phrase = http.HTTPStatus(status).phrase
        body = (message or phrase).encode("ascii", "replace")
        content = [f"HTTP/1.1 {status} {phrase}\r\n".encode("ascii")]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend([b"content-type: text/plain; charset=utf-8\r\n",
                        b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                        b"connection: close\r\n\r\n", body])
        self.transport.write(b"".join(content))
        # Lingering close: closing a socket with unread input sends a reset, which may destroy the
        # answer before the client reads it. Shut down our side, drop further input, close soon
        # (not while a response is still being written: that one ends the connection as before).
        if self.cycle is None or self.cycle.response_complete:
            self.close_lingering()
        else:
            self.transport.close()

    def close_lingering(self) -> None:
        """Close the connection once the answer written so far is out: half-close it (the client reads the
        whole answer), then read and drop whatever the client still sends for up to ``LINGER_SECONDS``
        before closing. A client still sending a request body it was answered early for (a refusal, a
        limit) then reads that answer instead of a connection reset."""
        if self._closing_at is not None or self.transport.is_closing():
            return
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        self.transport.write_eof()
        self._closing_at = self.loop.call_later(LINGER_SECONDS, self.transport.close)

    # -- head timeout -------------------------------------------------------------------------------
    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        if self.limits.header_timeout > 0:
            self._head_timer = self.loop.call_later(self.limits.header_timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or self._closing_at is not None:
            return
        if self._head_pending and (self.cycle is None or self.cycle.response_complete):
            self._send_and_close(408)  # no request in progress: say why before closing
        elif self._head_pending:
            self.transport.close()  # a pipelined head stalled behind a running request


def bounded_protocol(limits: HttpLimits,
                     base: type[BoundedHttpToolsProtocol] = BoundedHttpToolsProtocol) -> type[BoundedHttpToolsProtocol]:
    """A protocol class (uvicorn's ``http=``) enforcing ``limits``: ``base`` (a subclass adding a
    service's own protocol behaviour, or the plain bounded protocol) with those limits."""
    return type(base.__name__, (base,), {"limits": limits})


def uvicorn_options(conf: Any, section: str | None = None,
                    protocol: type[BoundedHttpToolsProtocol] = BoundedHttpToolsProtocol) -> dict[str, Any]:
    """uvicorn ``Config`` keyword arguments bounding this process's HTTP input (``[http]`` limits,
    overridden by ``[<section>]``): ``protocol`` with those limits, keep-alive timeout, connection cap, no
    WebSocket, and whose ``X-Forwarded-For`` is believed (``forwarded_allow_ips``; by default nobody's:
    uvicorn's default believes any local process, which could then pose as any address to ``aws:SourceIp``)."""
    limits = HttpLimits.from_config(conf, section)
    trusted = limits.forwarded_allow_ips.strip()
    return {"http": bounded_protocol(limits, protocol), "timeout_keep_alive": limits.keep_alive_timeout,
            "limit_concurrency": limits.max_connections or None,
            "proxy_headers": bool(trusted), "forwarded_allow_ips": trusted or None,
            # no API here speaks WebSocket: a request asking to switch is served as plain HTTP, as Swift's and
            # Keystone's servers do (uvicorn's default hands it to the application as a WebSocket session)
            "ws": "none"}
