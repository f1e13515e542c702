"""A request asking to switch to WebSocket (``Upgrade: websocket``) is an ordinary HTTP request to every
server of the cloud, as to Swift's and Keystone's: uvicorn would otherwise hand it to the application as a
WebSocket session, which no StackStore API has (the proxy answered 500, the other services 403)."""

from __future__ import annotations

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
