"""StorageClient logic against in-memory stand-in nodes: handoffs, 507, hangs, resumed bodies."""

from __future__ import annotations

import asyncio
import hashlib
from types import SimpleNamespace

import pytest

from objclient.client import StorageClient
from tests.objclient.memnode import start_nodes

CONF = {
    "proxy": {
        "node_timeout": 0.5,
        "conn_timeout": 0.3,
        "error_suppression_interval": 30.0,
        "error_suppression_limit": 3,
    }
}


async def gen(data: bytes, piece: int = 7000):
    for i in range(0, len(data), piece):
        yield data[i : i + piece]


def client_for(ring) -> StorageClient:
    return StorageClient(CONF, SimpleNamespace(account=ring, container=ring, object=ring))


@pytest.mark.parametrize("size", [1000, 500_000])  # buffered (no Expect) and streamed PUTs
def test_put_handoff_on_507_and_hang_then_get(size):
    async def main():
        nodes, servers, ring = await start_nodes(["full", "ok", "hang", "ok", "ok"])
        client = client_for(ring)
        data = b"0123456789" * (size // 10)
        resp = await client.put_object("a", "c", "o", {}, gen(data), len(data))
        assert resp.status == 201
        assert resp.headers["etag"] == hashlib.md5(data).hexdigest()
        holders = [i for i, n in enumerate(nodes) if n.objects]
        assert holders == [1, 3, 4]  # both handoffs replaced the full and the hanging primaries
        # slots keep their container update headers: handoff for slot 0 got container primary 0's address
        assert nodes[3].objects["a/c/o"][1]["X-Container-Host"].endswith(str(servers[0].port))
        # the full node is error-limited at once: the next PUT goes straight to a handoff
        assert client.limiter.is_limited(ring.devs[0])
        got = await client.get_object("a", "c", "o")
        assert got.status == 200 and await got.read() == data
        await client.close()

    asyncio.run(main())


def test_get_resumes_from_another_replica(monkeypatch):
    monkeypatch.setattr("objclient.nodes.random.shuffle", lambda seq: None)  # node order 0, 1, 2

    async def main():
        nodes, servers, ring = await start_nodes(["ok", "ok", "ok"])
        client = client_for(ring)
        data = bytes(range(256)) * 8000
        assert (await client.put_object("a", "c", "o", {}, gen(data, 65536), None)).status == 201
        for n in nodes[:2]:
            n.mode = "drop"
        for hdrs, want in (
            ({}, data),
            ({"Range": "bytes=1000-99999"}, data[1000:100000]),
            ({"Range": "bytes=-5000"}, data[-5000:]),
        ):
            resp = await client.get_object("a", "c", "o", hdrs)
            assert await resp.read() == want
        # node 0 broke, node 1 resumed and broke too, node 2 finished: ranges were continued twice
        resumed = [h["range"] for _, _, h in servers[2].requests if h.get("range")]
        assert (
            len(resumed) == 3 and resumed[0].startswith("bytes=") and resumed[0].endswith(f"-{len(data) - 1}")
        )
        nodes[2].mode = "drop"
        resp = await client.get_object("a", "c", "o")
        try:
            await resp.read()
        except Exception as exc:  # every replica breaks: the body raises, never ends short silently
            assert "no replica" in str(exc) or "broke" in str(exc)
        else:
            raise AssertionError("expected the body to fail")
        await client.close()

    asyncio.run(main())


def test_quorum_failures():
    async def main():
        nodes, servers, ring = await start_nodes(["full", "full", "ok"])
        client = client_for(ring)
        resp = await client.put_object("a", "c", "o", {}, gen(b"abc"), 3)
        assert resp.status == 503
        for n in nodes:  # (a small PUT is sent with its body: the one live node may keep it)
            n.objects.clear()
        nodes[0].mode = nodes[1].mode = "ok"
        client = client_for(ring)
        resp = await client.put_object("a", "c", "o", {"ETag": "0" * 32}, gen(b"abc"), 3)
        assert resp.status == 422

        async def short():
            yield b"ab"

        resp = await client.put_object("a", "c", "o", {}, short(), 3)
        assert resp.status == 499

        async def broken():
            yield b"ab"
            raise ConnectionError("client gone")

        resp = await client.put_object("a", "c", "o", {}, broken(), None)
        assert resp.status == 499
        assert not any(n.objects for n in nodes)
        assert (await client.delete_object("a", "c", "o")).status == 404
        assert (await client.put_object("a", "c", "o", {}, gen(b""), 0)).status == 201
        assert (await client.delete_object("a", "c", "o")).status == 204
        await client.close()

    asyncio.run(main())
