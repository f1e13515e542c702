"""The proxy's HTTP/1.1 connection protocol: the bounded protocol every StackStore server uses
(stackstore/http_limits.py: head limits, head timeout) with Swift's answers where the parser would
otherwise pre-empt the application with its own ``400 Invalid HTTP request``, and Swift's header names.

* **A PUT with neither Content-Length nor Transfer-Encoding.** HTTP gives such a request no body, so a
  parser reads whatever follows the headers as the next request and fails on it, or not, depending on
  whether the body arrives in the same read as the headers. Swift answers ``411 Length Required``
  (the Swift API's constraint check does). Here the connection stops parsing after such a request:
  anything that follows is the unframed body, discarded, and the connection closes after the answer,
  so the client gets the application's answer whatever the timing. A ``Transfer-Encoding`` other
  than plain ``chunked`` (``gzip,chunked``) is treated alike: the application answers 501.
* **Raw (unquoted) bytes above 0x7F in the request target.** The parser refuses them (``Invalid char
  in url path``); Swift accepts raw UTF-8 and answers 412 for invalid UTF-8. Such bytes in a request
  line are percent-encoded before the parser sees them, which names the same resource (every router
  decodes the path), so the application sees them and judges them. A request line is recognised when
  it starts a read (the usual case: a client sends its next request after reading the answer); one
  pipelined behind another in the same read is parsed as sent.
* **Methods the parser does not know** (``LICK``): it refuses them with a 400; Swift answers 405
  with ``Allow``. A request line that starts a read with such a method (an HTTP token) is parsed as a
  ``GET`` and the application sees the method that was sent.
* **Heads over the limits** are answered as Swift's server (eventlet's, under Swift's ``http_protocol``)
  answers them, not with the other services' 431: a header line of ``max_header_line`` bytes or more
  (name, ``: ``, value and CRLF; Swift's ``max_header_size``, advertised in ``/info``) is ``400 Header
  Line Too Long``; a head over ``max_header_bytes`` is ``400 Headers Too Large``. Too many headers stay
  431 (Swift's ``Too many headers``) and a request line too long 414, as in Swift.
* **Header names.** uvicorn writes response header names in lower case; Swift's answers carry them
  Title-Cased (``X-Object-Meta-Color``, ``Content-Length``), and clients that read headers as sent
  (Swift's own functional tests do) see the difference. Each response head is written with
  Swift's names, except where the application marked the request's scope ``LOWER_CASE_HEADERS``
  (the S3 API: AWS sends lower-case names, and S3 clients report ``x-amz-meta-*`` keys as sent).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Any, cast

from proxy.http.relay import CLIENT_CYCLE
from stackstore.http_limits import HEAD_SIZE, HEADER_LINE, BoundedHttpToolsProtocol

LOWER_CASE_HEADERS = "stackstore.lower_case_headers"  # scope key: leave this answer's header names as they are


# Methods left to the parser as sent (it knows these; CONNECT keeps its special meaning).
PARSER_METHODS = frozenset({
    b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"OPTIONS", b"CONNECT", b"TRACE", b"PATCH", b"COPY", b"MOVE",
    b"LOCK", b"UNLOCK", b"MKCOL", b"PROPFIND", b"PROPPATCH", b"SEARCH", b"PURGE", b"REPORT",
})
TOKEN_CHARS = frozenset(b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
MAX_METHOD_LENGTH = 64


def stand_in_method(line: bytes) -> tuple[bytes, str | None]:
    """(line to parse, method sent) for the start of a request line: a method the parser does not
    know becomes ``GET`` for parsing; the second item is the method to restore (None: unchanged)."""
    method, space, rest = line.partition(b" ")
    if not space or method in PARSER_METHODS or not method or len(method) > MAX_METHOD_LENGTH \
            or not TOKEN_CHARS.issuperset(method):
        return line, None
    return b"GET " + rest, method.decode("ascii")


# Swift's answers (eventlet's reason phrases) to a head over a limit, where they differ from the 431
SWIFT_REFUSALS = {HEADER_LINE: (400, "Header Line Too Long"), HEAD_SIZE: (400, "Headers Too Large")}
LINE_OVERHEAD = len(b": ") + len(b"\r\n")  # a header line as Swift's server measures it: with separator and CRLF


class UnframedBodyError(Exception):
    """Raised from a parser callback to stop parsing what follows an unframed PUT."""


def quote_high_bytes(url: bytes) -> bytes:
    """``url`` with every byte above 0x7F percent-encoded (ASCII is left exactly as sent)."""
    if url.isascii():
        return url
    return b"".join(b"%%%02X" % byte if byte > 0x7F else bytes((byte,)) for byte in url)


def is_unframed_put(method: bytes, headers: list[tuple[bytes, bytes]]) -> bool:
    """True when the request's body has framing the API refuses, so what follows the headers cannot be
    parsed as HTTP: a PUT without ``Content-Length`` and ``Transfer-Encoding`` (411), or any request
    whose ``Transfer-Encoding`` is not just ``chunked`` (501)."""
    framing = [(name, value) for name, value in headers if name in (b"content-length", b"transfer-encoding")]
    if any(name == b"transfer-encoding" and value.strip().lower() != b"chunked" for name, value in framing):
        return True
    return method == b"PUT" and not framing


def title_case_head(head: bytes) -> bytes:
    """A response head (status line, header lines, blank line) with header names Title-Cased as
    Swift's swob sends them (``x-object-meta-color`` → ``X-Object-Meta-Color``)."""
    lines = head.split(b"\r\n")
    for i in range(1, len(lines)):
        name, colon, value = lines[i].partition(b":")
        if colon:
            lines[i] = name.title() + colon + value
    return b"\r\n".join(lines)


class TitleCaseHeads:
    """A transport for one response: its head (written by uvicorn in one piece, after any interim
    ``100 Continue``) goes out with Title-Cased header names unless ``scope`` (the request's) says
    ``LOWER_CASE_HEADERS``; everything else passes unchanged.

    The head is held back until the body's first write or the end of the event loop's current pass,
    whichever comes first, and then sent with it: one ``send`` instead of two for a small answer (on
    loopback each ``send`` also runs the receiver's TCP path)."""

    def __init__(self, transport: Any, scope: dict[str, Any], close: Callable[[], None] | None = None):
        self._transport = transport
        self._scope = scope
        self._close = close or transport.close  # how the connection closes after this answer
        self._head_pending = True
        self._held: bytes | None = None

    def write(self, data: bytes) -> None:
        if self._head_pending and data.startswith(b"HTTP/"):
            status = data[9:10]
            if not self._scope.get(LOWER_CASE_HEADERS):
                data = title_case_head(data)
            if status != b"1":  # an interim 1xx answer goes at once: the real head is still to come
                self._head_pending = False
                self._held = data
                asyncio.get_running_loop().call_soon(self.flush)
                return
        if self._held is not None:
            data, self._held = self._held + data, None
        self._transport.write(data)

    def flush(self) -> None:
        """Send a held head now (nothing else came in the same pass of the loop)."""
        if self._held is not None:
            held, self._held = self._held, None
            if not self._transport.is_closing():
                self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class SwiftHttpProtocol(BoundedHttpToolsProtocol):
    """The proxy's protocol: pass to ``stackstore.http_limits.uvicorn_options(conf, "proxy", SwiftHttpProtocol)``,
    which gives it the configured limits."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.discarding = False  # after an unframed PUT: the rest of the connection is its body
        self.at_request_line = True  # the next bytes start a request line
        self.line_started = False  # part of that request line was already parsed (a split read)
        self.message_open = False  # the parser is inside a request (begun, not complete)
        self.sent_method: str | None = None  # the method a stand-in replaced, for the next request

    def data_received(self, data: bytes) -> None:
        if self.discarding:
            return
        if self.at_request_line:
            end = data.find(b"\n")
            line, rest = (data, b"") if end < 0 else (data[:end + 1], data[end + 1:])
            if not self.line_started:
                line, self.sent_method = stand_in_method(line)
            data = quote_high_bytes(line) + rest
            self.at_request_line = self.line_started = end < 0
        super().data_received(data)
        if not self.message_open:
            self.at_request_line = True

    def send_400_response(self, msg: str) -> None:
        if self.discarding:  # the parser stopped on the unframed body: the PUT's answer is coming
            return
        super().send_400_response(msg)

    def on_message_begin(self) -> None:
        if self.discarding:
            raise UnframedBodyError("data after a PUT without Content-Length or Transfer-Encoding")
        self.message_open = True
        super().on_message_begin()

    def refusal(self, limit: str) -> tuple[int, str]:
        """Swift's answer to a head over ``limit`` (see the module docstring)."""
        return SWIFT_REFUSALS.get(limit) or super().refusal(limit)

    def header_line_budget(self) -> int:
        """eventlet's MAX_HEADER_LINE test: a line (with ``: `` and CRLF) of ``max_header_line`` bytes or more
        is refused, so name + value may be ``max_header_line - LINE_OVERHEAD - 1`` bytes at most."""
        return self.limits.max_header_line - LINE_OVERHEAD - 1

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        if self.sent_method is not None:
            self.scope["method"], self.sent_method = self.sent_method, None
        started = self.cycle is not None and self.cycle.scope is self.scope  # not an upgrade
        if started:
            # the cycle writes through a wrapper with the transport's interface
            heads = TitleCaseHeads(self.transport, cast(dict[str, Any], self.scope), self.close_after_answer)
            self.cycle.transport = cast(asyncio.Transport, heads)
            self.scope[CLIENT_CYCLE] = weakref.ref(self.cycle)  # type: ignore[literal-required]
        if started and is_unframed_put(self.parser.get_method(), self.headers):
            self.discarding = True
            self.cycle.keep_alive = False

    def on_message_complete(self) -> None:
        if not self._upgrade_body:  # (else the parser's end of an upgrade request's head: its body is to come)
            self.message_open = False
        super().on_message_complete()

    def close_after_answer(self) -> None:
        """The answer is complete and the connection is not kept: while the request's body is still
        arriving (answered before it was read: a refusal, an XML document over its cap, an unframed PUT),
        close lingeringly, as Swift's server reads and drops the rest: a client that sends its whole body
        before reading the answer gets the answer rather than a reset."""
        if self.message_open or self.discarding:
            self.close_lingering()
        else:
            self.transport.close()
