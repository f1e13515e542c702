"""The relinker's on-disk steps on a device directory: relink into the next power's partitions (hard
links), clean up the old locations, undo a cancelled increase, move delete-at index entries."""

from __future__ import annotations

import os
import struct
from pathlib import Path

from ring.hashing import hash_path, partition_of
from stackstore.timestamp import Timestamp
from store import layout
from store.expiring import Entry, ExpiringIndex
from store.listings import ContainerStore, container_key
from store.relinker import cleanup_device, partition_for, reindex_expiring, reindex_listings, relink_device

POWER = 4
HASHES = [f"{i:02x}" * 16 for i in range(0, 256, 7)]


def make_device(root: Path) -> str:
    """A device with one ``.data`` (and for some a newer ``.ts``) per hash, at its POWER partition."""
    device = str(root / "d1")
    for i, hash_hex in enumerate(HASHES):
        hdir = Path(layout.hash_dir_path(device, partition_for(hash_hex, POWER), hash_hex))
        hdir.mkdir(parents=True)
        (hdir / "1700000000.00000.data").write_bytes(hash_hex.encode())
        if i % 3 == 0:
            (hdir / "1700000001.00000.ts").write_bytes(b"")
        Path(layout.hashes_file_path(os.path.dirname(os.path.dirname(hdir)))).write_text("{}")
    return device


def locations(device: str) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for part, hash_hex in layout.walk_hash_dirs(device):
        if os.listdir(layout.hash_dir_path(device, part, hash_hex)):
            out.setdefault(hash_hex, set()).add(part)
    return out


def test_relink_then_cleanup(tmp_path):
    device = make_device(tmp_path)
    stats = relink_device(device, 0, POWER, POWER + 1)
    assert stats.errors == 0 and stats.linked > 0
    for hash_hex, parts in locations(device).items():
        old, new = partition_for(hash_hex, POWER), partition_for(hash_hex, POWER + 1)
        assert parts == {old, new}
        if old == new:
            continue
        linked = os.listdir(layout.hash_dir_path(device, new, hash_hex))
        newest = max(os.listdir(layout.hash_dir_path(device, old, hash_hex)))
        assert newest in linked  # superseded files are not carried over
        for name in linked:
            a = os.stat(os.path.join(layout.hash_dir_path(device, old, hash_hex), name))
            b = os.stat(os.path.join(layout.hash_dir_path(device, new, hash_hex), name))
            assert a.st_ino == b.st_ino  # a link, not a copy
    assert relink_device(device, 0, POWER, POWER + 1).linked == 0  # idempotent

    stats = cleanup_device(device, 0, POWER + 1)
    assert stats.errors == 0 and stats.removed > 0
    for hash_hex, parts in locations(device).items():
        assert parts == {partition_for(hash_hex, POWER + 1)}
        data = Path(layout.hash_dir_path(device, partition_for(hash_hex, POWER + 1), hash_hex))
        if (data / "1700000000.00000.data").exists():
            assert (data / "1700000000.00000.data").read_bytes() == hash_hex.encode()
    assert set(locations(device)) == set(HASHES)
    for part in layout.list_partitions(device):  # cached suffix hashes of the partitions left are gone
        if part not in {partition_for(h, POWER + 1) for h in HASHES}:
            assert not os.path.exists(layout.partition_path(device, part))


def test_cleanup_without_relink_moves_everything(tmp_path):
    device = make_device(tmp_path)
    cleanup_device(device, 0, POWER + 1)  # a node that slept through the relink
    assert all(parts == {partition_for(h, POWER + 1)} for h, parts in locations(device).items())
    assert set(locations(device)) == set(HASHES)


def test_cancelled_increase_removes_the_links(tmp_path):
    device = make_device(tmp_path)
    relink_device(device, 0, POWER, POWER + 1)
    cleanup_device(device, 0, POWER)
    assert all(parts == {partition_for(h, POWER)} for h, parts in locations(device).items())
    assert set(locations(device)) == set(HASHES)


def test_delete_at_entries_follow_their_objects(tmp_path):
    device = make_device(tmp_path)
    index = ExpiringIndex(device)
    try:
        index.add(Entry(1800000000 + i, h, f"/a/c/o{i}", partition_for(h, POWER), "1700000000.00000")
                  for i, h in enumerate(HASHES))
        moved = reindex_expiring(index, {0: POWER + 1})
        assert moved == sum(partition_for(h, POWER) != partition_for(h, POWER + 1) for h in HASHES)
        entries = index.due(2000000000, limit=1000)
        assert {e.hash_hex: e.partition for e in entries} == {h: partition_for(h, POWER + 1) for h in HASHES}
        assert reindex_expiring(index, {0: POWER + 1}) == 0
    finally:
        index.close()


class PowerRing:
    """The ``partition`` lookup of a ring of ``power`` (all ``reindex_listings`` needs)."""

    def __init__(self, power: int, suffix: str = "s"):
        self.power, self.suffix = power, suffix

    def partition(self, account: str, container: str | None = None, obj: str | None = None) -> int:
        return partition_of(hash_path(self.suffix, account, container, obj), self.power)


def test_listing_records_are_reindexed_for_a_new_power(tmp_path):
    device = str(tmp_path / "d1")
    os.makedirs(device)
    old, new = PowerRing(POWER), PowerRing(POWER + 1)
    store = ContainerStore(device)
    try:
        names = [f"c{i}" for i in range(40)]
        for name in names:
            store.put_container("AUTH_a", name, old.partition("AUTH_a", name), Timestamp(1700000000.0), {},
                                [["127.0.0.1:6201/d1"]], str(old.partition("AUTH_a")))
        changed = reindex_listings(store, new, new)  # type: ignore[arg-type]
        moved = [n for n in names if old.partition("AUTH_a", n) != new.partition("AUTH_a", n)]
        assert moved and changed >= len(moved)
        with store.env.begin() as txn:
            indexed = {k[4:]: struct.unpack(">I", k[:4])[0] for k, _ in txn.cursor(store.parts_db)}
        assert indexed == {container_key("AUTH_a", n): new.partition("AUTH_a", n) for n in names}
        for name in names:
            rec = store.get("AUTH_a", name)
            assert rec is not None and rec["partition"] == new.partition("AUTH_a", name)
            assert rec["acct_part"] == str(new.partition("AUTH_a"))
        assert reindex_listings(store, new, new) == 0  # type: ignore[arg-type]
    finally:
        store.close()


def test_files_per_second_paces_a_pass_and_progress_is_reported(tmp_path):
    import time

    from store.audit.ratelimit import BlockingRateLimiter
    from store.relinker import PassControl

    device = make_device(tmp_path)
    reports: list[int] = []
    control = PassControl(BlockingRateLimiter(20.0), lambda stats: reports.append(stats.hash_dirs), report_every=0.0)
    started = time.monotonic()
    stats = relink_device(device, 0, POWER, POWER + 1, control)
    elapsed = time.monotonic() - started
    looked = stats.hash_dirs  # every hash dir, and new locations the walk meets after creating them
    assert looked >= len(HASHES) and stats.errors == 0 and stats.linked > 0
    assert elapsed >= (looked - 20) / 20.0 * 0.9  # a second's burst, then 20 hash dirs a second
    assert reports == list(range(looked))  # before each hash dir: the counters so far

    started = time.monotonic()
    assert cleanup_device(device, 0, POWER + 1).hash_dirs > 0  # unlimited by default
    assert time.monotonic() - started < 0.5
