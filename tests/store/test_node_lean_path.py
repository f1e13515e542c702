"""The node's lean path (store/node_protocol.py ``run_lean``) on the wire, against a real node process:
whole answers, keep-alive and pipelining, HTTP/1.0, HEAD, ``Expect: 100-continue``, refusals; and, in-process
with a handler that fails, uvicorn's answers to an exception."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import uvicorn

from stackstore.http_limits import HttpLimits, bounded_protocol
from store.node_protocol import NodeHttpProtocol
from tests.store.conftest import next_ts, signed_head

PATH = "/obj/d1/7/AUTH_test/c/lean-{}"


def _request(method: str, path: str, body: bytes = b"", version: str = "HTTP/1.1", **headers: str) -> bytes:
    lines = [f"{method} {path} {version}", "Host: node"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    if body or method == "PUT":
        lines.append(f"Content-Length: {len(body)}")
    return signed_head("\r\n".join(lines).encode()) + b"\r\n\r\n" + body


def _read_answer(sock: socket.socket, buffered: bytearray, head_only: bool = False) -> tuple[int, dict, bytes]:
    """One response from ``sock`` (``buffered`` keeps what was read past it): status, headers, body."""
    while b"\r\n\r\n" not in buffered:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a whole head: {bytes(buffered)!r}"
        buffered += chunk
    head, _, rest = bytes(buffered).partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        assert name.lower() not in headers, f"header sent twice: {name}"
        headers[name.lower()] = value.strip()
    length = 0 if head_only or status_line.split()[1] in ("204", "304") else int(headers["content-length"])
    body = bytearray(rest)
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed inside a body"
        body += chunk
    buffered[:] = body[length:]
    return int(status_line.split()[1]), headers, bytes(body[:length])


def test_pipelined_requests_on_one_connection_are_answered_in_order(node):
    name = next_ts()
    with socket.create_connection(("127.0.0.1", node.port), timeout=10) as sock:
        sock.sendall(_request("PUT", PATH.format(name), b"hello lean", X_Timestamp=next_ts(),
                              Content_Type="text/plain")
                     + _request("GET", PATH.format(name))
                     + _request("HEAD", PATH.format(name))
                     + _request("GET", PATH.format("absent-" + name)))
        buffered = bytearray()
        status, headers, body = _read_answer(sock, buffered)
        assert (status, body, headers["content-length"]) == (201, b"", "0")
        status, headers, body = _read_answer(sock, buffered)
        assert (status, body, headers["content-type"]) == (200, b"hello lean", "text/plain")
        status, headers, body = _read_answer(sock, buffered, head_only=True)
        assert (status, headers["content-length"]) == (200, "10")  # the object's length, no body
        status, headers, body = _read_answer(sock, buffered)
        assert status == 404 and "connection" not in headers
        assert not buffered  # nothing sent after the last answer: the HEAD carried no body
        sock.sendall(_request("DELETE", PATH.format(name), X_Timestamp=next_ts()))  # still open: keep-alive
        assert _read_answer(sock, buffered)[0] == 204


def test_http_1_0_and_connection_close_end_the_connection_after_the_answer(node):
    for request in (_request("GET", PATH.format("none"), version="HTTP/1.0"),
                    _request("GET", PATH.format("none"), Connection="close")):
        with socket.create_connection(("127.0.0.1", node.port), timeout=10) as sock:
            sock.sendall(request)
            buffered = bytearray()
            status, headers, _ = _read_answer(sock, buffered)
            assert status == 404 and headers["connection"] == "close"
            assert sock.recv(1) == b""  # closed by the node


def test_expect_100_continue_is_answered_before_the_body_and_not_for_a_refusal(node):
    name = next_ts()
    head = (f"PUT {PATH.format(name)} HTTP/1.1\r\nHost: node\r\nX-Timestamp: {next_ts()}\r\n"
            "Content-Type: text/plain\r\nContent-Length: 4\r\nExpect: 100-continue").encode()
    with socket.create_connection(("127.0.0.1", node.port), timeout=10) as sock:
        sock.sendall(signed_head(head) + b"\r\n\r\n")
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"body")
        assert _read_answer(sock, bytearray())[0] == 201
    # refused before the body is read (no X-Timestamp): the answer comes without a 100 Continue
    with socket.create_connection(("127.0.0.1", node.port), timeout=10) as sock:
        sock.sendall(signed_head(f"PUT {PATH.format(name)} HTTP/1.1\r\nHost: node\r\nContent-Length: 4\r\n"
                                 "Expect: 100-continue".encode()) + b"\r\n\r\n")
        status, _, _ = _read_answer(sock, bytearray())
        assert status == 400


def test_an_unsigned_request_is_refused_and_the_connection_closed(node):
    with socket.create_connection(("127.0.0.1", node.port), timeout=10) as sock:
        sock.sendall(f"GET {PATH.format('x')} HTTP/1.1\r\nHost: node\r\n\r\n".encode())
        status, headers, body = _read_answer(sock, bytearray())
        assert (status, body, headers["connection"]) == (401, b"unauthorized", "close")
        assert sock.recv(1) == b""


class _FailingApp:
    """A node app whose lean handler fails: first before answering, then after its answer began."""

    dispatch = object()  # what NodeHttpProtocol checks before it takes the lean path

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope, receive, send):  # the ASGI path (not taken by these requests)
        raise AssertionError("the lean path was expected")

    async def lean_response(self, scope, receive, send):
        self.calls += 1
        if scope["path"].endswith("/after-start"):
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"10")]})
        raise RuntimeError("handler bug")


def test_a_failing_lean_handler_answers_500_or_ends_the_connection():
    """As uvicorn's run_asgi: an exception before any answer is a 500 (and the node keeps serving), after
    the answer began the connection is closed rather than leaving a short body on it."""
    app = _FailingApp()
    sock = socket.create_server(("127.0.0.1", 0))
    config = uvicorn.Config(app, http=bounded_protocol(HttpLimits(), NodeHttpProtocol), lifespan="off",
                            log_level="critical", loop="asyncio", access_log=False, proxy_headers=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    try:
        for _ in range(100):
            if server.started:
                break
            time.sleep(0.05)
        port = sock.getsockname()[1]
        for _ in range(2):  # the node survives a failing request
            with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
                conn.sendall(b"GET /obj/d1/7/a/c/o HTTP/1.1\r\nHost: node\r\n\r\n")
                status, headers, _ = _read_answer(conn, bytearray())
                assert status == 500 and headers["connection"] == "close"
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            conn.sendall(b"GET /obj/d1/7/a/c/after-start HTTP/1.1\r\nHost: node\r\n\r\n")
            received = b""
            while chunk := conn.recv(65536):
                received += chunk
            assert received.startswith(b"HTTP/1.1 200 ") and received.endswith(b"\r\n\r\n")  # head, no body
        assert app.calls == 3
    finally:
        server.should_exit = True
        thread.join(10)
