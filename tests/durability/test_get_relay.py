"""A large object GET through the proxy, its body relayed from the node to the client in the kernel
(proxy/http/relay.py): whole and exact, resumed from another replica when the serving node dies mid-body,
and a client that leaves mid-body costs the proxy nothing it keeps."""

from __future__ import annotations

import hashlib
import os
import signal
import time

import httpx
import pytest

from tests.durability.bg_helpers import Layout, Swift, start_cluster, wait_for

MiB = 1 << 20
# Loopback TCP buffers autotune up to net.ipv4.tcp_rmem's maximum (32 MiB here) at the proxy and at the client:
# the body must outgrow what they can hold, or the serving node finishes before it is killed (no resume tested).
SIZE = 96 * MiB


@pytest.fixture(scope="module")
def cl(tmp_path_factory):
    c = start_cluster(tmp_path_factory.mktemp("relay"))
    yield c
    c.stop()


def pattern(size: int) -> bytes:
    block = hashlib.sha256(b"relay").digest() * (MiB // 32)
    return (block * (size // MiB + 1))[:size]


def serving_node(cl, layout: Layout, account: str, container: str, obj: str) -> int:
    """The node holding the object's data file open (the one streaming it)."""
    _, devs = layout.object.get_nodes(account, container, obj)
    for dev in devs:
        index = layout.node_index(dev)
        hash_dir = str(layout.hash_dir(dev, account, container, obj))
        pid = cl.node_pids[f"node{index}"]
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}").startswith(hash_dir):
                    return index
            except OSError:
                continue
    raise AssertionError("no node has the object open")


@pytest.mark.parametrize("byte_range", [None, (1000, 90_000_000)])
def test_a_relayed_get_resumes_when_the_serving_node_dies(cl, byte_range):
    swift, layout = Swift(cl), Layout(cl)
    data = pattern(SIZE)
    container = f"relay-{byte_range is None}"
    assert swift.put(container).status_code in (201, 202)
    assert swift.put(container, "big", data).status_code == 201
    headers = {} if byte_range is None else {"Range": f"bytes={byte_range[0]}-{byte_range[1]}"}
    expected = data if byte_range is None else data[byte_range[0]:byte_range[1] + 1]
    got = bytearray()
    killed = None
    with swift.http.stream("GET", swift.path(container, "big"), headers=headers) as resp:
        assert resp.status_code == (200 if byte_range is None else 206)
        for chunk in resp.iter_bytes():
            got += chunk
            if killed is None and len(got) >= 4 * MiB:
                time.sleep(0.5)  # the node fills the socket buffers and waits with the file open
                killed = serving_node(cl, layout, swift.account, container, "big")
                os.kill(cl.node_pids[f"node{killed}"], signal.SIGKILL)
    try:
        assert len(got) == len(expected)
        assert hashlib.md5(got).hexdigest() == hashlib.md5(expected).hexdigest()
    finally:
        cl.start_node(killed)
        wait_for(lambda: f"node{killed}" in cl.node_pids)


def test_a_client_leaving_mid_body_leaves_the_proxy_serving(cl):
    swift = Swift(cl)
    data = pattern(8 * MiB)
    assert swift.put("relay-leave").status_code in (201, 202)
    assert swift.put("relay-leave", "o", data).status_code == 201
    for _ in range(5):
        with httpx.stream("GET", swift.path("relay-leave", "o"), headers=dict(swift.http.headers)) as resp:
            assert resp.status_code == 200
            next(resp.iter_raw(65536))  # then the connection closes, most of the body unread
    resp = swift.get("relay-leave", "o")
    assert resp.status_code == 200, (resp.headers, resp.text[:500])
    assert resp.content == data
