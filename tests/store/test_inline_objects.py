"""Small objects kept as rows of the device's LMDB (store/inline_objects.py), in-process with a real group commit
in syncfs mode: a row write leaves no file behind and is durable without a syncfs; a hash dir is the union of its
files and rows for reads, cleanup, quarantine and every enumeration replication uses."""

from __future__ import annotations

import asyncio
import os
import shutil
import time

import pytest

from stackstore.timestamp import Timestamp
from store import fsutil, inline_objects, layout
from store.diskfile import (
    DiskFileManager,
    DiskFileNotFound,
    DiskFileQuarantined,
    consume_invalid_suffixes,
    suffix_states,
)
from store.group_commit import GroupCommit
from store.replication.suffix_hashes import get_hashes

HASH = "0123456789abcdef0123456789abcabc"
OTHER = "fedcba9876543210fedcba9876543def"
PART = 7


@pytest.fixture
def mgr(tmp_path, executor):
    (tmp_path / "d1").mkdir()
    group = GroupCommit(executor, mode="syncfs")
    yield DiskFileManager(str(tmp_path), executor, group, block_size=4096, inline_max_size=65536)
    group.close()
    inline_objects.close_all()


def _files(path: str) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except FileNotFoundError:
        return []


async def _put(mgr: DiskFileManager, ts: Timestamp, body: bytes, h: str = HASH, part: int = PART) -> None:
    w = mgr.get("d1", part, h, "/a/c/o").writer()
    try:
        await w.write(body)
        await w.finish()
        await w.commit(ts, {"Content-Type": "text/plain", "X-Object-Meta-Color": "blue"}, newer_only=True)
    finally:
        await w.aclose()


async def _read(mgr: DiskFileManager, h: str = HASH, part: int = PART) -> tuple[bytes, dict[str, str]]:
    reader = await mgr.get("d1", part, h, "/a/c/o").open_on_loop()
    body = b"".join([bytes(chunk) async for chunk in reader.iter_range(0, reader.size - 1)]) if reader.size else b""
    return body, reader.headers


def _rows(mgr: DiskFileManager, h: str = HASH, part: int = PART) -> list[str]:
    store = inline_objects.existing(mgr.device_path("d1"))
    return sorted(store.names(0, part, h)) if store is not None else []


def test_a_small_object_is_a_row_durable_without_syncfs(mgr, monkeypatch):
    rounds: list[int] = []
    monkeypatch.setattr(fsutil, "syncfs", lambda fd: rounds.append(fd))
    df = mgr.get("d1", PART, HASH, "/a/c/o")
    ts = Timestamp(time.time())
    asyncio.run(_put(mgr, ts, b"small body"))
    assert _rows(mgr) == [ts.normal + ".data"]
    assert _files(df.dir) == [] and _files(layout.tmp_path(mgr.device_path("d1"))) == []
    assert rounds == []  # the row's transaction synced itself
    assert not os.path.exists(layout.partition_path(mgr.device_path("d1"), PART))  # no directory of its own
    body, headers = asyncio.run(_read(mgr))
    assert body == b"small body" and headers["X-Object-Meta-Color"] == "blue"
    # the replicator's view: the partition, the suffix and the hash are listed although no directory holds them
    device = mgr.device_path("d1")
    assert layout.list_partitions(device) == [PART]
    part_path = layout.partition_path(device, PART)
    assert layout.list_suffixes(part_path) == [HASH[-3:]]
    assert list(layout.walk_hash_dirs(device)) == [(PART, HASH)]
    assert suffix_states(part_path, HASH[-3:])[HASH].data == ts.normal + ".data"
    assert layout.list_object_policies(device) == [0]


def test_big_objects_stay_files(mgr):
    ts = Timestamp(time.time())
    body = os.urandom(70_000)
    asyncio.run(_put(mgr, ts, body))
    assert _rows(mgr) == []
    assert _files(mgr.get("d1", PART, HASH, "/a/c/o").dir) == [ts.normal + ".data"]
    assert asyncio.run(_read(mgr))[0] == body


def test_a_new_version_replaces_rows_and_files(mgr):
    df = mgr.get("d1", PART, HASH, "/a/c/o")
    t1, t2, t3 = (Timestamp(time.time() + i) for i in range(3))
    asyncio.run(_put(mgr, t1, os.urandom(70_000)))  # a file
    asyncio.run(_put(mgr, t2, b"second"))  # a row: the file goes once the row is durable
    assert _files(df.dir) == [] and _rows(mgr) == [t2.normal + ".data"]
    asyncio.run(_put(mgr, t3, b"third"))  # the older row goes in the new row's transaction
    assert _rows(mgr) == [t3.normal + ".data"]
    assert asyncio.run(_read(mgr))[0] == b"third"


def test_an_older_write_loses_to_a_row(mgr):
    from store.diskfile import DiskFileConflict

    t1, t2 = Timestamp(time.time()), Timestamp(time.time() + 1)
    asyncio.run(_put(mgr, t2, b"newer"))
    with pytest.raises(DiskFileConflict):
        asyncio.run(_put(mgr, t1, b"older"))
    assert _rows(mgr) == [t2.normal + ".data"]


def test_metadata_and_tombstone_rows(mgr):
    df = mgr.get("d1", PART, HASH, "/a/c/o")
    t1, t2, t3 = (Timestamp(time.time() + i) for i in range(3))
    asyncio.run(_put(mgr, t1, b"body"))
    asyncio.run(df.put_metadata(t2, {"X-Object-Meta-Color": "red"}))
    assert _rows(mgr) == [t1.normal + ".data", t2.normal + ".meta"]
    body, headers = asyncio.run(_read(mgr))
    assert body == b"body" and headers["X-Object-Meta-Color"] == "red"
    asyncio.run(df.put_tombstone(t3))
    assert _rows(mgr) == [t3.normal + ".ts"]
    with pytest.raises(DiskFileNotFound) as caught:
        mgr.get("d1", PART, HASH, "/a/c/o").open()
    assert caught.value.timestamp == t3


def test_a_damaged_row_is_quarantined_as_files(mgr):
    ts = Timestamp(time.time())
    asyncio.run(_put(mgr, ts, b"will rot"))
    store = inline_objects.existing(mgr.device_path("d1"))
    key = inline_objects.row_key(0, PART, HASH, ts.normal + ".data")
    good = store.read(0, PART, HASH, ts.normal + ".data")
    damaged = good[:-30] + bytes([good[-30] ^ 1]) + good[-29:]  # one bit of the metadata
    store.write([(key, damaged)])
    with pytest.raises(DiskFileQuarantined):
        mgr.get("d1", PART, HASH, "/a/c/o").open()
    assert _rows(mgr) == []
    qdir = os.path.join(layout.quarantined_objects_path(mgr.device_path("d1")), HASH)
    assert _files(qdir) == [ts.normal + ".data"]
    assert open(os.path.join(qdir, ts.normal + ".data"), "rb").read() == damaged


def test_a_damaged_row_body_is_found_when_read(mgr):
    ts = Timestamp(time.time())
    asyncio.run(_put(mgr, ts, b"will rot"))
    store = inline_objects.existing(mgr.device_path("d1"))
    good = store.read(0, PART, HASH, ts.normal + ".data")
    store.write([(inline_objects.row_key(0, PART, HASH, ts.normal + ".data"), b"W" + good[1:])])
    with pytest.raises(DiskFileQuarantined):
        asyncio.run(_read(mgr))
    assert _rows(mgr) == []


def test_suffix_hashes_cover_rows_and_reclaim_old_tombstones(mgr):
    device = mgr.device_path("d1")
    part_path = layout.partition_path(device, PART)
    old = Timestamp(time.time() - 1000)
    asyncio.run(_put(mgr, Timestamp(time.time()), b"kept", h=OTHER))
    asyncio.run(mgr.get("d1", PART, HASH, "/a/c/o2").put_tombstone(old))
    hashes = get_hashes(part_path, reclaim_age=10_000)
    assert set(hashes) == {HASH[-3:], OTHER[-3:]}
    hashes = get_hashes(part_path, reclaim_age=100, recalc=[HASH[-3:]])
    assert set(hashes) == {OTHER[-3:]}  # the old tombstone was reclaimed: its row is gone
    assert _rows(mgr) == [] and _rows(mgr, OTHER) != []


def test_a_replaced_device_drops_its_rows(mgr, tmp_path):
    ts = Timestamp(time.time())
    asyncio.run(_put(mgr, ts, b"on the old disk"))
    device = mgr.device_path("d1")
    shutil.rmtree(device)
    os.mkdir(device)  # a new, empty disk
    inline_objects.look_again()  # (the one-second reuse of the answer)
    with pytest.raises(DiskFileNotFound):
        mgr.get("d1", PART, HASH, "/a/c/o").open()
    asyncio.run(_put(mgr, Timestamp(time.time() + 1), b"on the new disk"))
    assert asyncio.run(_read(mgr))[0] == b"on the new disk"


def test_row_store_enumerations(tmp_path):
    os.mkdir(tmp_path / "d1")
    store = inline_objects.InlineObjects(str(tmp_path / "d1"))
    try:
        rows = [(0, 5, HASH, "1.data"), (0, 5, HASH, "2.meta"), (0, 5, OTHER, "1.ts"), (0, 12, HASH, "1.data"),
                (1, 5, HASH, "3.data"), (10, 0, OTHER, "4.data"), (2, 7, HASH, "1.data")]
        store.write((inline_objects.row_key(p, part, h, name), b"x") for p, part, h, name in rows)
        assert store.policies() == [0, 1, 10, 2]  # (key order)
        assert store.partitions(0) == [5, 12] and store.partitions(1) == [5] and store.partitions(10) == [0]
        assert store.suffixes(0, 5) == sorted([HASH[-3:], OTHER[-3:]])
        assert store.suffix_files(0, 5, HASH[-3:]) == {HASH: ["1.data", "2.meta"]}
        assert store.names(0, 5, HASH) == ["1.data", "2.meta"] and store.names(0, 6, HASH) == []
        assert sorted(store.hashes(0, 5)) == sorted([HASH, OTHER])
        store.delete_object(0, 5, HASH, ["1.data", "2.meta"])
        store.delete_object(0, 5, OTHER, ["1.ts"])
        assert store.partitions(0) == [12] and store.names(1, 5, HASH) == ["3.data"]
    finally:
        store.close()


async def _run(fn, *args):
    return fn(*args)


async def _pace(_n: int) -> None:
    return None


@pytest.mark.parametrize("where", ["intact", "body", "metadata", "tombstone"])
def test_the_auditor_verifies_rows(mgr, where):
    from store.audit.objects import audit_hash_dir

    ts = Timestamp(time.time())
    df = mgr.get("d1", PART, HASH, "/a/c/o")
    if where == "tombstone":
        asyncio.run(df.put_tombstone(ts))
        name = ts.normal + ".ts"
    else:
        asyncio.run(_put(mgr, ts, b"z" * 10_000))
        name = ts.normal + ".data"
    store = inline_objects.existing(mgr.device_path("d1"))
    raw = bytearray(store.read(0, PART, HASH, name))
    if where == "body":
        raw[9000] ^= 1
    elif where in ("metadata", "tombstone"):
        raw[-30] ^= 1
    store.write([(inline_objects.row_key(0, PART, HASH, name), bytes(raw))])
    result = asyncio.run(audit_hash_dir(mgr.get("d1", PART, HASH, ""), _run, _pace))
    if where == "intact":
        assert result.checked and result.bytes == 10_000 and result.quarantined is None
        assert _rows(mgr) == [name]
        return
    assert result.quarantined
    assert _rows(mgr) == [] and list(layout.walk_hash_dirs(mgr.device_path("d1"))) == []
    qdir = os.path.join(layout.quarantined_objects_path(mgr.device_path("d1")), HASH)
    assert _files(qdir) == [name]


def test_a_partition_power_increase_copies_rows(mgr):
    from store.relinker import cleanup_device, relink_device

    device = mgr.device_path("d1")
    power = 10
    hashes = [f"{i:02x}" + HASH[2:] for i in range(0, 256, 37)]  # different top bits: different partitions
    from ring.hashing import partition_of

    for h in hashes:
        asyncio.run(_put(mgr, Timestamp(time.time()), b"moving " + h.encode(), h=h,
                         part=partition_of(bytes.fromhex(h), power)))
    relink_device(device, 0, power, power + 1)
    for h in hashes:  # both locations hold the row now
        assert _rows(mgr, h, partition_of(bytes.fromhex(h), power)) == _rows(mgr, h, partition_of(
            bytes.fromhex(h), power + 1)) != []
    cleanup_device(device, 0, power + 1)
    assert sorted(h for _, h in layout.walk_hash_dirs(device)) == sorted(hashes)
    for part, h in layout.walk_hash_dirs(device):
        assert part == partition_of(bytes.fromhex(h), power + 1)
        assert asyncio.run(_read(mgr, h, part))[0] == b"moving " + h.encode()


def test_a_row_marks_its_suffix_changed_in_its_own_transaction(mgr):
    """The row and its suffix's mark are committed together, so a replicator that takes the mark sees the row
    (nothing to race between them), and a row write needs no partition directory and no hashes.invalid."""
    device = mgr.device_path("d1")
    part_path = layout.partition_path(device, PART)
    asyncio.run(_put(mgr, Timestamp(time.time()), b"visible first"))
    assert not os.path.exists(part_path)
    assert consume_invalid_suffixes(part_path) == {HASH[-3:]}
    assert consume_invalid_suffixes(part_path) == set()  # taken
    store = inline_objects.existing(device)
    assert store is not None
    store.stage([(inline_objects.row_key(0, PART, OTHER, "1.data"), b"staged")], [],
                [inline_objects.mark_key(0, PART, OTHER)])
    assert consume_invalid_suffixes(part_path) == set()  # staged only: neither the row nor its mark is there
    store.commit_staged()
    assert consume_invalid_suffixes(part_path) == {OTHER[-3:]}
    store.delete_object(0, PART, OTHER, ["1.data"])
    # the replicator's cached hashes follow a new version through its mark alone
    first = get_hashes(part_path, reclaim_age=10_000)
    asyncio.run(_put(mgr, Timestamp(time.time() + 1), b"second version"))
    assert get_hashes(part_path, reclaim_age=10_000)[HASH[-3:]] != first[HASH[-3:]]


def _marks(store: inline_objects.InlineObjects) -> list[bytes]:
    with store.env.begin(db=store.marks_db) as txn:
        return [key for key, _ in txn.cursor()]


def test_taken_marks_go_with_the_next_commit_unless_set_again(tmp_path):
    """Taking marks writes nothing (no synced transaction holding the writer lock per partition): they are held
    back, then deleted by the device's next commit, except a mark that commit or a later one set again."""
    store = inline_objects.InlineObjects(str(tmp_path))
    try:
        a, b = inline_objects.mark_key(0, PART, HASH), inline_objects.mark_key(0, PART, OTHER)
        store.stage([], [], [a, b])
        store.commit_staged()
        assert store.take_marks(0, PART) == {HASH[-3:], OTHER[-3:]}
        assert store.take_marks(0, PART) == set()  # held back until deleted
        assert sorted(_marks(store)) == sorted([a, b])
        store.stage([], [], [a])  # changed again, in the very commit that deletes the taken marks
        store.commit_staged()
        assert _marks(store) == [a]
        assert store.take_marks(0, PART) == {HASH[-3:]}
        store.commit_staged()  # nothing but the taken mark's deletion
        assert _marks(store) == [] and store.take_marks(0, PART) == set()
    finally:
        store.close()
