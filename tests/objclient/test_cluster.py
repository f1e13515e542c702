"""StorageClient against real storage node processes and real rings (4 nodes, 3 replicas)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import time
import tracemalloc
import uuid

import pytest

from ring import hash_path
from tests.objclient.streams import body, byte_range, md5_of

MiB = 1 << 20


def run(coro):
    return asyncio.run(coro)


def names() -> tuple[str, str]:
    return "AUTH_b" + uuid.uuid4().hex[:8], "c" + uuid.uuid4().hex[:8]


async def setup_container(client, account: str, container: str) -> None:
    assert (await client.put_account(account)).status in (201, 202)
    assert (await client.put_container(account, container)).status == 201


async def read_md5(resp) -> tuple[str, int]:
    h = hashlib.md5()
    total = 0
    async for chunk in resp.body:
        h.update(chunk)
        total += len(chunk)
    return h.hexdigest(), total


def object_files(nodes, account, container, obj) -> dict[int, list]:
    """node index -> the object's .data files on that node."""
    hexhash = hash_path(nodes.suffix, account, container, obj).hex()
    found = {}
    for i in range(1, len(nodes.node_names) + 1):
        files = list(nodes.devices_root(i).glob(f"*/objects/*/*/{hexhash}/*.data"))
        if files:
            found[i] = files
    return found


def primaries_and_handoffs(nodes, account, container, obj):
    ring = nodes.rings().object
    part, prim = ring.get_nodes(account, container, obj)
    return [nodes.index_of(d) for d in prim], [nodes.index_of(d) for d in ring.handoffs(part)], prim


def test_round_trip_small_object(cluster_nodes):
    account, container = names()

    async def main():
        client = cluster_nodes.client()
        await setup_container(client, account, container)
        data = os.urandom(300_000)
        headers = {"Content-Type": "application/x-test", "X-Object-Meta-Color": "blue"}
        obj = "dir/ünïcode obj?%#"
        resp = await client.put_object(account, container, obj, headers, body_of(data), len(data))
        assert resp.status == 201
        assert resp.headers["ETag"] == hashlib.md5(data).hexdigest()
        got = await client.get_object(account, container, obj)
        assert got.status == 200 and await got.read() == data
        assert got.headers["content-type"] == "application/x-test"
        assert got.headers["x-object-meta-color"] == "blue"
        assert got.headers["etag"] == hashlib.md5(data).hexdigest()
        head = await client.head_object(account, container, obj)
        assert head.status == 200 and int(head.headers["content-length"]) == len(data)
        part = await client.get_object(account, container, obj, {"Range": "bytes=10-19"})
        assert part.status == 206 and await part.read() == data[10:20]
        assert (
            await client.post_object(account, container, obj, {"X-Object-Meta-Color": "red"})
        ).status == 202
        head = await client.head_object(account, container, obj)
        assert head.headers["x-object-meta-color"] == "red"
        # chunked upload (no Content-Length)
        resp = await client.put_object(account, container, "chunked", {}, body_of(data), None)
        assert resp.status == 201 and resp.headers["etag"] == hashlib.md5(data).hexdigest()
        assert await (await client.get_object(account, container, "chunked")).read() == data
        assert (await client.put_object(account, container, "empty", {}, body_of(b""), 0)).status == 201
        assert await (await client.get_object(account, container, "empty")).read() == b""
        assert (await client.delete_object(account, container, obj)).status == 204
        assert (await client.get_object(account, container, obj)).status == 404
        assert (await client.head_object(account, container, obj)).status == 404
        assert (await client.delete_object(account, container, obj)).status == 404
        assert (await client.get_object(account, container, "never")).status == 404
        await client.close()

    run(main())


def test_unsatisfiable_range_is_416(cluster_nodes):
    account, container = names()

    async def main():
        client = cluster_nodes.client()
        await setup_container(client, account, container)
        data = b"x" * 1000
        assert (await client.put_object(account, container, "o", {}, body_of(data), len(data))).status == 201
        bad = await client.get_object(account, container, "o", {"Range": "bytes=5000-"})
        await client.close()
        assert bad.status == 416 and bad.headers["content-range"] == "bytes */1000"

    run(main())


async def body_of(data: bytes, piece: int = 65536):
    for i in range(0, len(data), piece):
        yield data[i : i + piece]


def test_put_get_64mib_streams_in_bounded_memory(cluster_nodes):
    account, container = names()
    size = 64 * MiB

    async def main():
        client = cluster_nodes.client()
        await setup_container(client, account, container)
        tracemalloc.start()
        try:
            resp = await client.put_object(account, container, "big", {}, body(size, 256 * 1024), size)
            assert resp.status == 201 and resp.headers["etag"] == md5_of(size)
            got = await client.get_object(account, container, "big")
            assert got.status == 200
            assert await read_md5(got) == (md5_of(size), size)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 24 * MiB, f"peak traced memory {peak / MiB:.1f} MiB"
        assert len(object_files(cluster_nodes, account, container, "big")) == 3
        await client.close()

    run(main())


def test_put_with_a_dead_primary_lands_on_a_handoff(cluster_nodes):
    account, container = names()
    obj = "o-dead"
    prim, handoffs, _ = primaries_and_handoffs(cluster_nodes, account, container, obj)

    async def main():
        client = cluster_nodes.client()
        await setup_container(client, account, container)
        cluster_nodes.kill(prim[0])
        data = os.urandom(2 * MiB + 5)
        resp = await client.put_object(account, container, obj, {}, body_of(data), len(data))
        assert resp.status == 201
        holders = set(object_files(cluster_nodes, account, container, obj))
        assert holders == set(prim[1:]) | {handoffs[0]}
        got = await client.get_object(account, container, obj)
        assert got.status == 200 and await got.read() == data
        await client.close()

    run(main())


def test_put_with_a_stopped_primary_times_out_to_a_handoff(cluster_nodes):
    account, container = names()
    obj = "o-stopped"
    prim, handoffs, prim_devs = primaries_and_handoffs(cluster_nodes, account, container, obj)

    async def main():
        client = cluster_nodes.client(node_timeout=1.0)
        await setup_container(client, account, container)
        os.kill(cluster_nodes.pid(prim[1]), signal.SIGSTOP)
        try:
            data = os.urandom(MiB)
            t0 = time.monotonic()
            resp = await client.put_object(account, container, obj, {}, body_of(data), len(data))
            assert resp.status == 201
            assert time.monotonic() - t0 < 5
            got = await client.get_object(account, container, obj)
            assert got.status == 200 and await got.read() == data
        finally:
            os.kill(cluster_nodes.pid(prim[1]), signal.SIGCONT)
        assert set(object_files(cluster_nodes, account, container, obj)) == {prim[0], prim[2], handoffs[0]}
        await client.close()

    run(main())


def test_507_before_the_body_switches_to_a_handoff(cluster_nodes):
    """Expect: 100-continue: a primary whose device is missing answers 507 before any data flows."""
    account, container = names()
    obj = "o-507"
    prim, handoffs, prim_devs = primaries_and_handoffs(cluster_nodes, account, container, obj)
    dev_dir = cluster_nodes.devices_root(prim[2]) / prim_devs[2].device
    hidden = dev_dir.with_name(dev_dir.name + ".away")

    ring = cluster_nodes.rings().object
    # an object on the same device, written just before it goes: whatever the node remembers of the device
    # (presence, free space) is fresh, and the PUT must still be refused before its body
    candidates = (f"warm-{i}" for i in range(10_000))
    warm = next(name for name in candidates if prim_devs[2] in ring.get_nodes(account, container, name)[1])

    async def main():
        client = cluster_nodes.client()
        await setup_container(client, account, container)
        assert (await client.put_object(account, container, warm, {}, body_of(b"w" * MiB), MiB)).status == 201
        dev_dir.rename(hidden)
        try:
            data = os.urandom(3 * MiB)
            resp = await client.put_object(account, container, obj, {}, body_of(data), len(data))
            assert resp.status == 201
            assert client.limiter.is_limited(prim_devs[2])
        finally:
            hidden.rename(dev_dir)
        assert set(object_files(cluster_nodes, account, container, obj)) == {prim[0], prim[1], handoffs[0]}
        await client.close()

    run(main())


def test_get_resumes_when_the_serving_node_dies_mid_body(cluster_nodes):
    account, container = names()
    size = 48 * MiB

    async def main():
        client = cluster_nodes.client()
        await setup_container(client, account, container)
        assert (await client.put_object(account, container, "big", {}, body(size), size)).status == 201
        for headers, start, end in (({}, 0, size - 1), ({"Range": "bytes=1000-40000000"}, 1000, 40000000)):
            got = await client.get_object(account, container, "big", headers)
            serving = cluster_nodes.index_of(
                next(
                    d
                    for d in cluster_nodes.rings().object.devices
                    if got.node == f"{d.ip}:{d.port}/{d.device}"
                )
            )

            h = hashlib.md5()
            total = 0
            killed = False
            async for chunk in got.body:
                h.update(chunk)
                total += len(chunk)
                if not killed and total >= 4 * MiB:
                    cluster_nodes.kill(serving)
                    killed = True
            assert total == end - start + 1
            if start == 0:
                assert h.hexdigest() == md5_of(size)
            else:
                assert got.status == 206
                ref = hashlib.md5()
                for s in range(start, end + 1, 8 * MiB):
                    ref.update(byte_range(size, s, min(end, s + 8 * MiB - 1)))
                assert h.hexdigest() == ref.hexdigest()
            cluster_nodes.restart(serving)
        await client.close()

    run(main())


def test_corrupt_replicas_are_never_served(cluster_nodes):
    account, container = names()
    size = 5 * MiB

    async def main():
        client = cluster_nodes.client()
        await setup_container(client, account, container)
        assert (await client.put_object(account, container, "o", {}, body(size), size)).status == 201
        files = object_files(cluster_nodes, account, container, "o")
        assert len(files) == 3
        for (_, paths), offset in zip(sorted(files.items())[:2], (100, 3 * MiB + 7), strict=True):
            with open(paths[0], "r+b") as fh:
                fh.seek(offset)
                byte = fh.read(1)
                fh.seek(offset)
                fh.write(bytes([byte[0] ^ 0xFF]))
        for _ in range(3):
            got = await client.get_object(account, container, "o")
            assert got.status == 200
            assert await read_md5(got) == (md5_of(size), size)
        await client.close()

    run(main())


def test_quorum_needs_two_live_replicas(cluster_nodes):
    account, container = names()
    obj = "o-quorum"
    prim, handoffs, _ = primaries_and_handoffs(cluster_nodes, account, container, obj)

    async def main():
        client = cluster_nodes.client()
        await setup_container(client, account, container)
        cluster_nodes.kill(prim[0])
        cluster_nodes.kill(prim[1])
        data = os.urandom(100_000)
        # two primaries down: one primary + one handoff still make a quorum
        assert (await client.put_object(account, container, obj, {}, body_of(data), len(data))).status == 201
        got = await client.get_object(account, container, obj)
        assert got.status == 200 and await got.read() == data
        cluster_nodes.kill(handoffs[0])
        # only one node left: no quorum
        assert (await client.put_object(account, container, obj, {}, body_of(data), len(data))).status == 503
        assert (await client.delete_object(account, container, obj)).status == 503
        await client.close()

    run(main())


async def eventually(fn, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await fn()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


def test_containers_accounts_and_listings(cluster_nodes):
    account, container = names()

    async def main():
        client = cluster_nodes.client()
        assert (await client.head_account(account)).status == 404
        assert (await client.put_account(account, {"X-Account-Meta-Team": "x"})).status == 201
        assert (await client.head_account(account)).headers["x-account-meta-team"] == "x"
        resp = await client.put_container(account, container, {"X-Container-Meta-Color": "green"})
        assert resp.status == 201
        assert (await client.put_container(account, container)).status == 202
        head = await client.head_container(account, container)
        assert head.status in (200, 204) and head.headers["x-container-meta-color"] == "green"
        assert (
            await client.post_container(account, container, {"X-Container-Meta-Color": "red"})
        ).status == 204
        assert (await client.head_container(account, container)).headers["x-container-meta-color"] == "red"
        for name in ("a/1", "a/2", "b", "c/x/y"):
            data = name.encode() * 3
            resp = await client.put_object(
                account, container, name, {"Content-Type": "text/plain"}, body_of(data), len(data)
            )
            assert resp.status == 201

        async def listed():
            resp, rows = await client.list_container(account, container)
            assert resp.status == 200
            assert [r["name"] for r in rows] == ["a/1", "a/2", "b", "c/x/y"]
            return rows

        rows = await eventually(listed)
        assert rows[0]["bytes"] == 9 and rows[0]["hash"] == hashlib.md5(b"a/1" * 3).hexdigest()
        _, rows = await client.list_container(account, container, delimiter="/")
        assert [r.get("name") or r.get("subdir") for r in rows] == ["a/", "b", "c/"]
        _, rows = await client.list_container(account, container, prefix="a/", limit=1)
        assert [r["name"] for r in rows] == ["a/1"]
        _, rows = await client.list_container(account, container, marker="a/2", reverse=False)
        assert [r["name"] for r in rows] == ["b", "c/x/y"]
        _, rows = await client.list_container(account, container, reverse=True, limit=2)
        assert [r["name"] for r in rows] == ["c/x/y", "b"]

        async def counted():
            head = await client.head_container(account, container)
            assert head.headers["x-container-object-count"] == "4"
            resp, rows = await client.list_account(account)
            assert resp.status == 200 and [r["name"] for r in rows] == [container]
            assert rows[0]["count"] == 4

        await eventually(counted)
        assert (await client.delete_container(account, container)).status == 409
        for name in ("a/1", "a/2", "b", "c/x/y"):
            assert (await client.delete_object(account, container, name)).status == 204

        async def emptied():
            assert (await client.list_container(account, container))[1] == []

        await eventually(emptied)
        assert (await client.delete_container(account, container)).status == 204
        assert (await client.head_container(account, container)).status == 404
        resp, rows = await client.list_container(account, container)
        assert resp.status == 404 and rows == []
        assert (await client.delete_account(account)).status == 204
        await client.close()

    run(main())


@pytest.mark.parametrize("n", [20])
def test_concurrent_small_objects(cluster_nodes, n):
    account, container = names()

    async def main():
        client = cluster_nodes.client()
        await setup_container(client, account, container)

        async def one(i):
            data = os.urandom(1000 + i)
            assert (
                await client.put_object(account, container, f"o{i}", {}, body_of(data), len(data))
            ).status == 201
            got = await client.get_object(account, container, f"o{i}")
            assert await got.read() == data

        await asyncio.gather(*(one(i) for i in range(n)))
        await client.close()

    run(main())


def test_reads_hedge_around_a_stopped_node_and_x_newest_finds_the_newest(cluster_nodes):
    account, container = names()
    obj = "o-hedge"
    prim, handoffs, _ = primaries_and_handoffs(cluster_nodes, account, container, obj)

    async def main():
        client = cluster_nodes.client(node_timeout=5.0, concurrency_timeout=0.2)
        await setup_container(client, account, container)
        old = b"old" * 1000
        assert (await client.put_object(account, container, obj, {}, body_of(old), len(old))).status == 201
        cluster_nodes.kill(prim[0])
        new = b"new" * 1000
        assert (await client.put_object(account, container, obj, {}, body_of(new), len(new))).status == 201
        cluster_nodes.restart(prim[0])  # holds the old version now
        for _ in range(4):
            got = await client.get_object(account, container, obj, {"X-Newest": "true"})
            assert await got.read() == new
        os.kill(cluster_nodes.pid(prim[1]), signal.SIGSTOP)
        try:
            for _ in range(8):  # random primary order: most runs ask the stopped node first at least once
                t0 = time.monotonic()
                got = await client.head_object(account, container, obj)
                assert got.status == 200 and time.monotonic() - t0 < 2
        finally:
            os.kill(cluster_nodes.pid(prim[1]), signal.SIGCONT)
        await client.close()

    run(main())
