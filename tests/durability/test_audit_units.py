"""Auditor pieces in-process: metadata and tombstone corruption, listing DB consistency, pacing."""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from stackstore.timestamp import Timestamp
from store.audit.listings_check import check_accounts, check_containers
from store.audit.objects import AuditResult, audit_hash_dir, audit_hash_dirs
from store.audit.ratelimit import RateLimiter
from store.diskfile import SMALL_FILE, DiskFileManager
from store.group_commit import GroupCommit
from store.layout import walk_hash_dirs
from store.listings import AccountStore, ContainerStore, container_key

HASH = "0123456789abcdef0123456789abcabc"


@pytest.fixture
def mgr(tmp_path):
    (tmp_path / "d1").mkdir()
    executor = ThreadPoolExecutor(4)
    yield DiskFileManager(str(tmp_path), executor, GroupCommit(executor, enabled=False), block_size=4096)
    executor.shutdown()


async def _run(fn, *args):
    return fn(*args)


async def _pace(_n: int) -> None:
    return None


async def _put(mgr: DiskFileManager, body: bytes):
    df = mgr.get("d1", 7, HASH, "/a/c/o")
    writer = df.writer()
    await writer.write(body)
    await writer.finish()
    await writer.commit(Timestamp(time.time()), {"Content-Type": "x/y"})
    writer.close()
    return df


def _audit(mgr: DiskFileManager):
    df = mgr.get("d1", 7, HASH, "")
    return asyncio.run(audit_hash_dir(df, _run, _pace))


def test_good_object_passes(mgr):
    asyncio.run(_put(mgr, b"x" * 10_000))
    result = _audit(mgr)
    assert result.checked and result.bytes == 10_000 and result.quarantined is None
    assert list(walk_hash_dirs(mgr.device_path("d1"))) == [(7, HASH)]


@pytest.mark.parametrize("where", ["body", "metadata", "truncated"])
def test_corruption_is_quarantined(mgr, where):
    df = asyncio.run(_put(mgr, b"y" * 10_000))
    (data,) = list(Path(df.dir).iterdir())
    raw = bytearray(data.read_bytes())
    if where == "body":
        raw[9000] ^= 1
    elif where == "metadata":
        raw[10_005] ^= 1
    else:
        raw = raw[:-3]
    data.write_bytes(bytes(raw))
    result = _audit(mgr)
    assert result.quarantined
    assert list(walk_hash_dirs(mgr.device_path("d1"))) == []
    assert (Path(mgr.device_path("d1")) / "quarantined" / "objects" / HASH).is_dir()


def test_bad_tombstone_is_quarantined(mgr):
    df = mgr.get("d1", 7, HASH, "/a/c/o")
    asyncio.run(df.put_tombstone(Timestamp(time.time())))
    assert _audit(mgr).checked
    (ts,) = list(Path(df.dir).iterdir())
    ts.write_bytes(b"garbage" + ts.read_bytes()[7:])
    assert _audit(mgr).quarantined == "bad tombstone"


def test_listing_check_finds_count_drift(tmp_path):
    store = ContainerStore(str(tmp_path))
    store.put_container("a", "c", 3, Timestamp(1000), {}, None, None)
    for i in range(5):
        store.update_row("a", "c", f"o{i}", Timestamp(1001 + i), size=10)
    store.update_row("a", "c", "o0", Timestamp(2000), deleted=True)
    problems, rows = check_containers(store)
    assert (problems.count, rows) == (0, 5)
    ckey = container_key("a", "c")
    with store.env.begin(write=True) as txn:
        rec = json.loads(txn.get(ckey, db=store.info_db))
        rec["count"] = 99
        txn.put(ckey, json.dumps(rec).encode(), db=store.info_db)
        txn.put(b"\x00" * 8 + b"orphan", b"\x00" * 30, db=store.rows_db)
    problems, _ = check_containers(store)
    assert problems.count == 2
    assert any("count is 99, rows add up to 4" in s for s in problems.samples)
    store.close()


def test_listing_check_accounts(tmp_path):
    store = AccountStore(str(tmp_path))
    store.put_account("a", 1, Timestamp(1000), {})
    store.update_container_row("a", 1, "c1", Timestamp(1001), Timestamp(0), 3, 30)
    store.update_container_row("a", 1, "c2", Timestamp(1002), Timestamp(0), 1, 5)
    problems, rows = check_accounts(store)
    assert (problems.count, rows) == (0, 2)
    store.close()


def test_rate_limiter_paces():
    async def go() -> float:
        limiter = RateLimiter(1000)
        start = time.monotonic()
        for _ in range(5):
            await limiter.consume(500)  # 2500 units at 1000/s with a 1000 burst: ~1.5 s
        return time.monotonic() - start

    assert 1.2 < asyncio.run(go()) < 3.0


def test_corruption_past_the_first_hops_of_a_large_object_is_quarantined(mgr):
    """An object over SMALL_FILE is verified a few blocks per trip to the I/O thread: a bad block in a later
    trip quarantines it too."""
    size = 600_000  # 147 blocks of 4 KiB: several trips
    df = asyncio.run(_put(mgr, b"z" * size))
    (data,) = list(Path(df.dir).iterdir())
    raw = bytearray(data.read_bytes())
    raw[size - 100] ^= 1
    data.write_bytes(bytes(raw))
    result = _audit(mgr)
    assert result.quarantined and result.expiring is None
    assert 0 < result.bytes < size  # the blocks before the bad one were verified
    assert (Path(mgr.device_path("d1")) / "quarantined" / "objects" / HASH).is_dir()


def test_a_batch_audits_each_hash_dir_as_alone_in_one_trip_for_the_small_ones(mgr):
    """audit_hash_dirs: the results are those each hash dir gets alone (a good small object, a corrupted one
    quarantined without stopping the others, a tombstone, a large object verified block by block, an empty hash
    dir), and the small objects cost one trip to the I/O thread together."""
    hashes = [f"{i:029x}" + HASH[-3:] for i in range(5)]
    good, bad, gone, large, empty = hashes

    async def put(h: str, body: bytes) -> None:
        writer = mgr.get("d1", 7, h, f"/a/c/{h}").writer()
        await writer.write(body)
        await writer.finish()
        await writer.commit(Timestamp(time.time()), {"Content-Type": "x/y"})
        writer.close()

    asyncio.run(put(good, b"g" * 10_000))
    asyncio.run(put(bad, b"b" * 10_000))
    asyncio.run(put(gone, b"t"))
    asyncio.run(mgr.get("d1", 7, gone, "/a/c/gone").put_tombstone(Timestamp(time.time() + 1)))
    asyncio.run(put(large, b"L" * (SMALL_FILE + 4096)))
    (data,) = list(Path(mgr.get("d1", 7, bad, "").dir).iterdir())
    raw = bytearray(data.read_bytes())
    raw[5000] ^= 1
    data.write_bytes(bytes(raw))
    trips: list[str] = []

    async def run(fn, *args):
        trips.append(fn.__name__)
        return fn(*args)

    dfs = [mgr.get("d1", 7, h, "") for h in hashes]
    results = asyncio.run(audit_hash_dirs(dfs, run, _pace, 7))
    assert trips.count("_audit_small_each") == 1 and "_open_small" in trips  # the large one: on its own
    by_hash = dict(zip(hashes, results, strict=True))
    assert all(isinstance(r, AuditResult) for r in results)
    assert by_hash[good].checked and by_hash[good].bytes == 10_000 and by_hash[good].quarantined is None
    assert by_hash[bad].quarantined and not Path(dfs[1].dir).exists()
    assert by_hash[gone].checked and by_hash[gone].bytes == 0 and by_hash[gone].quarantined is None
    assert by_hash[large].checked and by_hash[large].bytes == SMALL_FILE + 4096 and by_hash[large].quarantined is None
    assert not by_hash[empty].checked and by_hash[empty].quarantined is None
    assert sorted(h for _, h in walk_hash_dirs(mgr.device_path("d1"))) == sorted([good, gone, large])
