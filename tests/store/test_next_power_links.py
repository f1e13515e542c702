"""A partition power increase in progress: every file a node commits is linked into its next-power
location too, decided when the file is renamed into place (a row: once it is committed), not when the write
began, so a write that started before the node reloaded a prepared ring is not missed by the relinker's pass
that ran meanwhile."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ring.hashing import partition_of
from stackstore.timestamp import Timestamp
from store import inline_objects, layout
from store.diskfile import DiskFileManager
from store.group_commit import GroupCommit
from tests.store.conftest import commit_object

HASH = "0123456789abcdef0123456789abcabc"
POWER = 8


@pytest.mark.parametrize("mode", ["syncfs", "fsync"])
def test_a_write_begun_before_the_ring_was_prepared_is_linked_at_its_commit(tmp_path: Path, mode: str):
    (tmp_path / "d1").mkdir()
    next_power: dict[int, int | None] = {0: None}  # what the node's ring says, per policy
    pool = ThreadPoolExecutor(4)
    mgr = DiskFileManager(str(tmp_path), pool, GroupCommit(pool, mode=mode), block_size=4096,
                          next_part_power=next_power.get)
    digest = bytes.fromhex(HASH)
    part, next_part = partition_of(digest, POWER), partition_of(digest, POWER + 1)
    assert part != next_part
    device = str(tmp_path / "d1")
    next_dir = layout.hash_dir_path(device, next_part, HASH)

    def prepare() -> None:  # the node reloads a ring that now has next_part_power
        next_power[0] = POWER + 1

    try:
        asyncio.run(commit_object(mgr, "d1", part, HASH, Timestamp(1700000000), midway=prepare))
        name = Timestamp(1700000000).normal + ".data"
        assert os.listdir(next_dir) == [name]
        assert os.path.samefile(os.path.join(next_dir, name),
                                os.path.join(layout.hash_dir_path(device, part, HASH), name))
        # a newer write supersedes the old file in both locations
        asyncio.run(commit_object(mgr, "d1", part, HASH, Timestamp(1700000001)))
        assert os.listdir(next_dir) == [Timestamp(1700000001).normal + ".data"]
    finally:
        pool.shutdown()


def test_a_file_written_again_under_its_name_is_linked_again(tmp_path: Path):
    """The same file name committed again (a replicated copy renamed over the relinked one): the next-power
    location is made a link of the new file, not left holding the old one."""
    (tmp_path / "d1").mkdir()
    pool = ThreadPoolExecutor(4)
    mgr = DiskFileManager(str(tmp_path), pool, GroupCommit(pool, mode="fsync"), block_size=4096,
                          next_part_power={0: POWER + 1}.get)
    digest = bytes.fromhex(HASH)
    part, next_part = partition_of(digest, POWER), partition_of(digest, POWER + 1)
    device = str(tmp_path / "d1")
    name = Timestamp(1700000000).normal + ".data"
    here, there = (Path(layout.hash_dir_path(device, p, HASH)) / name for p in (part, next_part))

    try:
        asyncio.run(commit_object(mgr, "d1", part, HASH, Timestamp(1700000000)))
        assert here.stat().st_ino == there.stat().st_ino
        asyncio.run(commit_object(mgr, "d1", part, HASH, Timestamp(1700000000)))  # renamed over: a new inode here
        assert here.stat().st_ino == there.stat().st_ino
    finally:
        pool.shutdown()


def test_a_row_staged_before_the_ring_was_prepared_is_copied_once_committed(tmp_path: Path):
    """A small object is a row, staged and committed in one round of the committing thread. A ring prepared
    between the staging's look and the commit may have had the relinker read the partition's rows before the
    row was there: the writer copies it to the next-power location after the commit."""
    (tmp_path / "d1").mkdir()
    looks: list[int | None] = []

    def next_part_power(policy: int) -> int | None:  # the ring is prepared right after the first look
        looks.append(POWER + 1 if looks else None)
        return looks[-1]

    pool = ThreadPoolExecutor(4)
    group = GroupCommit(pool, mode="syncfs")
    mgr = DiskFileManager(str(tmp_path), pool, group, block_size=4096, next_part_power=next_part_power,
                          inline_max_size=65536)
    digest = bytes.fromhex(HASH)
    part, next_part = partition_of(digest, POWER), partition_of(digest, POWER + 1)
    device = str(tmp_path / "d1")
    name = Timestamp(1700000000).normal + ".data"
    try:
        asyncio.run(commit_object(mgr, "d1", part, HASH, Timestamp(1700000000)))
        rows = inline_objects.existing(device)
        assert rows is not None and rows.names(0, part, HASH) == [name]  # a row, not a file
        assert not os.path.exists(layout.hash_dir_path(device, part, HASH))
        assert looks[0] is None  # the staging saw no prepared ring
        assert rows.names(0, next_part, HASH) == [name]
        assert rows.read(0, next_part, HASH, name) == rows.read(0, part, HASH, name)
    finally:
        group.close()
        inline_objects.close_all()
        pool.shutdown()
