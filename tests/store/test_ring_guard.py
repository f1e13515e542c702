"""A node refuses requests built for a partition space its rings do not know (another partition power or
hash path suffix) and serves every other, whatever ring version the sender used."""

from __future__ import annotations

import uuid

import httpx

from ring import Ring
from ring.builder import RingBuilder
from ring.hashing import hash_path, partition_of
from store.ring_guard import known_partitions
from tests.store.conftest import NODE_AUTH, SUFFIX, NodeProcess, next_ts, object_dir, wait_for


def _builder(port: int) -> RingBuilder:
    builder = RingBuilder(6, 1, 0)
    builder.add_device(1, 1, "127.0.0.1", port, "d1", 100.0)
    builder.rebalance(seed=1)
    return builder


def _put(http: httpx.Client, part: int, account: str, obj: str) -> int:
    headers = {"X-Timestamp": next_ts(), "Content-Type": "text/plain"}
    return http.put(f"/obj/d1/{part}/{account}/c/{obj}", content=b"x", headers=headers).status_code


def test_partition_powers_a_ring_knows(tmp_path) -> None:
    builder = _builder(6201)
    path = tmp_path / "object.ring"
    digest = hash_path(SUFFIX, "a", "c", "o")
    builder.write_ring(path)
    assert known_partitions(Ring(path, SUFFIX), digest) == {partition_of(digest, 6)}
    builder.prepare_increase_partition_power()  # relinking: the next power's partitions too
    builder.write_ring(path)
    assert known_partitions(Ring(path, SUFFIX), digest) == {partition_of(digest, 6), partition_of(digest, 7)}
    builder.increase_partition_power()  # increased: senders still on the previous ring too
    builder.write_ring(path)
    assert known_partitions(Ring(path, SUFFIX), digest) == {partition_of(digest, 6), partition_of(digest, 7)}
    builder.finish_increase_partition_power()
    builder.write_ring(path)
    assert known_partitions(Ring(path, SUFFIX), digest) == {partition_of(digest, 7)}


def test_requests_for_an_unknown_partition_space_are_refused(make_node) -> None:
    node: NodeProcess = make_node(start=False, replicator_interval=3600.0, fsync=False)
    builder = _builder(node.port)
    ring_dir = node.tmp / "data" / "rings"
    for name in ("object", "container", "account"):
        builder.write_ring(ring_dir / f"{name}.ring")
    node.start()
    account = "AUTH_" + uuid.uuid4().hex[:8]
    digest = hash_path(SUFFIX, account, "c", "o")
    right, other_power = partition_of(digest, 6), partition_of(digest, 8)
    wrong = next(p for p in range(64) if p != right)
    with httpx.Client(base_url=node.url, timeout=10, auth=NODE_AUTH) as http:
        assert _put(http, right, account, "o") == 201
        # another partition power (or hash suffix): refused, nothing filed where no reader would look
        for part in (wrong, other_power if other_power != right else wrong):
            resp = http.put(f"/obj/d1/{part}/{account}/c/o", content=b"x",
                            headers={"X-Timestamp": next_ts(), "Content-Type": "text/plain"})
            assert resp.status_code == 503 and "partition" in resp.text
            assert not object_dir(node.devices_root, "d1", part, account, "c", "o").exists()
        container_part = partition_of(hash_path(SUFFIX, account, "c"), 6)
        assert http.head(f"/cont/d1/{(container_part + 1) % 64}/{account}/c").status_code == 503
        assert http.head(f"/cont/d1/{container_part}/{account}/c").status_code == 404  # served: no such container
        # a partition power increase announced: the next power's partitions are this node's too
        builder.prepare_increase_partition_power()
        builder.write_ring(ring_dir / "object.ring")
        following = partition_of(digest, 7)
        assert wait_for(lambda: _put(http, following, account, "o") == 201, timeout=10)
    assert "Traceback" not in node.logs()
