"""The replicator's cached suffix hashes (store/replication/suffix_hashes.py) on a real device: a DiskFileManager with
a real group commit, objects stored as rows (small) and as files (large). What the cache may skip to stay cheap
(listing the partition) and how it is written (in place, never shrinking) must not change what it answers."""

from __future__ import annotations

import asyncio
import json
import os
import time

import pytest

from ring import Device
from stackstore.timestamp import Timestamp
from store import inline_objects, layout
from store.diskfile import DiskFileManager, suffix_states, suffixes_states
from store.group_commit import GroupCommit
from store.replication import suffix_hashes
from store.replication.object_replicator import DISCOVER_CYCLE, Job, ObjectReplicator
from store.replication.settings import Settings
from store.replication.suffix_hashes import get_hashes

PART = 5
SMALL = "00000000000000000000000000000aaa"  # a row: no suffix directory
LARGE = "00000000000000000000000000000bbb"  # a file in <partition>/bbb/<hash>/
BOTH = "00000000000000000000000000000ccc"  # an old file and a newer row
INLINE_MAX = 1024


@pytest.fixture
def mgr(tmp_path, executor):
    (tmp_path / "d1").mkdir()
    group = GroupCommit(executor, mode="syncfs")
    yield DiskFileManager(str(tmp_path), executor, group, block_size=4096, inline_max_size=INLINE_MAX)
    group.close()
    inline_objects.close_all()


@pytest.fixture
def part_path(mgr):
    path = layout.partition_path(mgr.device_path("d1"), PART)
    yield path
    suffix_hashes.forget(path)


async def _put(mgr: DiskFileManager, h: str, body: bytes, ts: Timestamp | None = None) -> None:
    w = mgr.get("d1", PART, h, f"/a/c/{h}").writer()
    try:
        await w.write(body)
        await w.finish()
        await w.commit(ts or Timestamp(time.time()), {"Content-Type": "application/octet-stream"}, newer_only=True)
    finally:
        await w.aclose()


def _populate(mgr: DiskFileManager) -> None:
    now = time.time()
    asyncio.run(_put(mgr, SMALL, b"s"))
    asyncio.run(_put(mgr, LARGE, b"L" * (INLINE_MAX + 1)))
    asyncio.run(_put(mgr, BOTH, b"B" * (INLINE_MAX + 1), Timestamp(now - 10)))
    asyncio.run(_put(mgr, BOTH, b"b", Timestamp(now)))


def _newest_row(mgr: DiskFileManager, h: str) -> str:
    store = inline_objects.existing(mgr.device_path("d1"))
    assert store is not None
    return max(store.names(0, PART, h))


def test_states_of_several_suffixes_are_those_of_each_alone(mgr, part_path):
    _populate(mgr)
    suffixes = ["aaa", "bbb", "ccc", "ddd"]  # rows only, files only, both, nothing
    together = suffixes_states(part_path, suffixes)
    assert together == {s: suffix_states(part_path, s) for s in suffixes}
    assert set(together["aaa"]) == {SMALL} and set(together["bbb"]) == {LARGE} and together["ddd"] == {}
    assert together["ccc"][BOTH].data == _newest_row(mgr, BOTH)  # the row, newer than the file


def test_a_suffix_changed_without_an_invalidation_is_found_by_discovery_only(mgr, part_path):
    _populate(mgr)
    first = get_hashes(part_path, reclaim_age=10_000)
    assert set(first) == {"aaa", "bbb", "ccc"}
    # a file and a row that arrived without recording their suffix (a lost invalidation)
    hidden_dir = os.path.join(part_path, "eee", "0" * 29 + "eee")
    os.makedirs(hidden_dir)
    with open(os.path.join(hidden_dir, Timestamp(time.time()).normal + ".data"), "wb") as fh:
        fh.write(b"x")
    store = inline_objects.existing(mgr.device_path("d1"))
    assert store is not None
    store.write([(inline_objects.row_key(0, PART, "0" * 29 + "fff", Timestamp(time.time()).normal + ".data"),
                  b"row without a mark")])
    assert get_hashes(part_path, reclaim_age=10_000) == first  # the cache is trusted between discoveries
    found = get_hashes(part_path, reclaim_age=10_000, discover=True)
    assert set(found) == {"aaa", "bbb", "ccc", "eee", "fff"}
    assert {k: found[k] for k in first} == first


def test_the_cache_file_is_rewritten_in_place_and_parses_after_shrinking(mgr, part_path):
    old = time.time() - 2000
    for h in (SMALL, LARGE, BOTH):
        asyncio.run(_put(mgr, h, b"x" * (INLINE_MAX + 1), Timestamp(old)))
    get_hashes(part_path, reclaim_age=10_000)
    path = layout.hashes_file_path(part_path)
    size = os.path.getsize(path)
    inode = os.stat(path).st_ino
    for h in (SMALL, LARGE):  # deleted long ago: two suffixes emptied, shorter JSON
        df = mgr.get("d1", PART, h, f"/a/c/{h}")
        asyncio.run(df.put_tombstone(Timestamp(time.time() - 1000)))
    now = get_hashes(part_path, reclaim_age=100)  # the old tombstones are reclaimed: their suffixes are gone
    assert set(now) == {"ccc"}
    assert os.stat(path).st_ino == inode and os.path.getsize(path) == size  # padded, not truncated
    with open(path) as fh:
        assert json.load(fh) == now  # trailing spaces are JSON whitespace
    assert suffix_hashes._load(part_path) == now


@pytest.mark.parametrize("handoff", [False, True])
def test_every_partition_is_discovered_once_per_cycle_and_a_handoff_every_pass(monkeypatch, handoff):
    """The replicator asks for discovery of each primary partition once in DISCOVER_CYCLE passes (spread over the
    passes), and of a handoff partition on every pass: its files are removed once pushed, so its hashes must
    cover everything listed."""
    asked: dict[int, list[bool]] = {}

    def fake_get_hashes(part_path, reclaim_age, recalc=None, discover=False):
        asked.setdefault(int(os.path.basename(part_path)), []).append(discover)
        return {}

    monkeypatch.setattr("store.replication.object_replicator.get_hashes", fake_get_hashes)

    class FakeNode:
        devices_root = "/nonexistent"

    monkeypatch.setattr("store.replication.object_replicator._full_listing", lambda part_path: {})
    replicator = ObjectReplicator(FakeNode(), None, Settings())  # type: ignore[arg-type]
    local = Device(id=1, region=1, zone=1, ip="127.0.0.1", port=1, device="d1", weight=1.0)
    other = Device(id=2, region=1, zone=1, ip="127.0.0.1", port=2, device="d2", weight=1.0)
    primaries = [other] if handoff else [local, other]
    parts = range(25)
    for _ in range(DISCOVER_CYCLE):
        assert replicator._hash_partitions([Job(local, part, primaries) for part in parts]) == []
        replicator.passes += 1
    for part in parts:
        assert asked[part].count(True) == (DISCOVER_CYCLE if handoff else 1)
    if not handoff:  # spread: not every partition in the same pass
        assert len({asked[p].index(True) for p in parts}) == DISCOVER_CYCLE


def test_a_partition_that_fails_to_hash_does_not_stop_the_others_of_its_trip(monkeypatch):
    def get_hashes_failing_on_3(part_path, reclaim_age, recalc=None, discover=False):
        if os.path.basename(part_path) == "3":
            raise OSError(5, "Input/output error")
        return {"abc": "0" * 32}

    monkeypatch.setattr("store.replication.object_replicator.get_hashes", get_hashes_failing_on_3)

    class FakeNode:
        devices_root = "/nonexistent"

    replicator = ObjectReplicator(FakeNode(), None, Settings())  # type: ignore[arg-type]
    local = Device(id=1, region=1, zone=1, ip="127.0.0.1", port=1, device="d1", weight=1.0)
    jobs = [Job(local, part, [local]) for part in range(6)]
    failures = replicator._hash_partitions(jobs)
    assert [(job.part, type(exc)) for job, exc in failures] == [(3, OSError)]
    assert [job.hashes for job in jobs] == [{"abc": "0" * 32}] * 3 + [None] + [{"abc": "0" * 32}] * 2
