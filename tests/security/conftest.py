"""One real cloud for the security tests, with a short slow-header timeout and a small connection cap
on the image service so that both limits can be observed quickly."""

from __future__ import annotations

import socket

import pytest

from tests.cluster import Cluster

HEADER_TIMEOUT = 3.0
IMAGES_MAX_CONNECTIONS = 40


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("cloud"), http={"header_timeout": HEADER_TIMEOUT},
                images={"max_connections": IMAGES_MAX_CONNECTIONS}).start()
    yield c
    c.stop()


def service_ports(cluster) -> dict[str, int]:
    """Every HTTP server of the cloud: proxy, one storage node, the four API services."""
    conf = cluster.conf
    ports = {"proxy": conf["proxy"]["port"], "node": conf["store"]["base_port"] + 1}
    ports.update({s: conf[s]["port"] for s in ("identity", "volumes", "compute", "images")})
    return ports


def raw_exchange(port: int, data: bytes, timeout: float = 10.0) -> bytes:
    """Send ``data`` on a fresh connection and read until the server closes it (or ``timeout``)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before reading it all; the answer may still be there
        out = b""
        try:
            while chunk := sock.recv(65536):
                out += chunk
        except ConnectionResetError:
            pass
        return out


def status_of(response: bytes) -> int:
    """The status code of a raw HTTP/1.1 response (0 when there is none)."""
    parts = response.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
