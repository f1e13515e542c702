"""A request asking to switch to WebSocket (``Upgrade: websocket``) is an ordinary HTTP request to every
server of the cloud, as to Swift's and Keystone's: uvicorn would otherwise hand it to the application as a
WebSocket session, which no StackStore API has (the proxy answered 500, the other services 403)."""

from __future__ import annotations

import socket
import time

import pytest

from tests.security.conftest import raw_exchange, service_ports, status_of

SERVICES = ["proxy", "node", "identity", "volumes", "compute", "images"]
UPGRADE = (b"Connection: Upgrade, close\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")


def _get(port: int, path: bytes, extra: bytes = b"Connection: close\r\n") -> bytes:
    return raw_exchange(port, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n" + extra + b"\r\n")


@pytest.mark.parametrize("service", SERVICES)
def test_upgrade_to_websocket_is_answered_as_plain_http(cluster, service):
    port = service_ports(cluster)[service]
    path = b"/healthcheck" if service in ("proxy", "node") else b"/"
    plain = _get(port, path)
    upgraded = _get(port, path, UPGRADE)
    assert status_of(upgraded) == status_of(plain) != 0
    assert status_of(upgraded) not in (101, 500)


def test_upgrade_on_a_swift_request_is_judged_as_the_request(cluster):
    port = service_ports(cluster)["proxy"]
    assert status_of(_get(port, b"/v1/AUTH_test", UPGRADE)) == 401  # no token: Swift's 401, not a 500


def _token(port: int) -> str:
    answer = raw_exchange(port, b"GET /auth/v1.0 HTTP/1.1\r\nHost: x\r\nX-Auth-User: test:tester\r\n"
                                b"X-Auth-Key: testing\r\nConnection: close\r\n\r\n")
    return next(line.split(b":", 1)[1].strip().decode() for line in answer.split(b"\r\n")
                if line.lower().startswith(b"x-auth-token:"))


@pytest.mark.parametrize("split", [False, True])
def test_an_upgrade_request_keeps_its_body_and_the_connection_its_next_request(cluster, split):
    """The parser ends a ``Connection: Upgrade`` message at its head; the PUT's body is still the object's (Swift
    stores it) and a request pipelined after it is answered on the same connection."""
    port = service_ports(cluster)["proxy"]
    token = _token(port).encode()
    auth = b"Host: x\r\nX-Auth-Token: " + token + b"\r\n"
    assert status_of(raw_exchange(port, b"PUT /v1/AUTH_test/upgrades HTTP/1.1\r\n" + auth +
                                  b"Content-Length: 0\r\nConnection: close\r\n\r\n")) in (201, 202)
    body = bytes(range(256)) * 20
    head = (b"PUT /v1/AUTH_test/upgrades/o HTTP/1.1\r\n" + auth + b"Connection: Upgrade\r\nUpgrade: h2c\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n")
    following = b"HEAD /v1/AUTH_test/upgrades/o HTTP/1.1\r\n" + auth + b"Connection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        if split:
            sock.sendall(head + body[:1000])
            time.sleep(0.2)
            sock.sendall(body[1000:] + following)
        else:
            sock.sendall(head + body + following)
        answers = b""
        while chunk := sock.recv(65536):
            answers += chunk
    assert answers.startswith(b"HTTP/1.1 201"), answers[:200]
    assert answers.count(b"HTTP/1.1 200") == 1, answers
    stored = raw_exchange(port, b"GET /v1/AUTH_test/upgrades/o HTTP/1.1\r\n" + auth + b"Connection: close\r\n\r\n")
    assert stored.endswith(b"\r\n\r\n" + body)
