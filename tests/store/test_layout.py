"""store.layout: the on-disk names stay as they were (existing devices stay readable), the directory
walks tolerate missing or odd entries, and the writers put files where the layout says."""

from __future__ import annotations

import asyncio
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from stackstore.timestamp import Timestamp
from store import layout
from store.diskfile import DiskFileManager
from store.group_commit import GroupCommit, write_durable
from store.recon import node_recon, quarantined_counts, read_stats, write_stats
from tests.store.conftest import commit_object

HASH = "0123456789abcdef0123456789abcabc"


def test_names_under_a_device_are_the_established_ones():
    dev = "/srv/node/d1"
    assert layout.hash_dir_path(dev, 7, HASH) == f"{dev}/objects/7/abc/{HASH}"
    assert layout.partition_path(dev, 7) == f"{dev}/objects/7"
    assert layout.hashes_file_path(layout.partition_path(dev, 7)) == f"{dev}/objects/7/hashes.json"
    assert layout.hashes_invalid_path(layout.partition_path(dev, 7)) == f"{dev}/objects/7/hashes.invalid"
    assert os.path.dirname(layout.new_tmp_file(dev)) == f"{dev}/tmp" == layout.tmp_path(dev)
    assert layout.async_pending_record(dev, HASH, "1700000000.00000", "deadbeef") == \
        f"{dev}/async_pending/abc/{HASH}-1700000000.00000-deadbeef"
    assert layout.quarantined_objects_path(dev) == f"{dev}/quarantined/objects"
    assert layout.containers_db_path(dev) == f"{dev}/containers.lmdb"
    assert layout.accounts_db_path(dev) == f"{dev}/accounts.lmdb"
    assert layout.expiring_index_path(dev) == f"{dev}/expiring.lmdb"
    assert layout.recon_stats_path(dev, "auditor") == f"{dev}/.recon/auditor.json"


def test_walks_tolerate_missing_and_odd_entries(tmp_path: Path):
    dev = str(tmp_path / "d1")
    assert layout.list_partitions(dev) == [] and layout.list_async_pendings(dev) == []
    assert layout.count_async_pendings(dev) == 0 and layout.count_quarantined_objects(dev) == 0
    os.makedirs(dev)
    Path(dev, "objects").write_text("not a directory")
    assert layout.list_partitions(dev) == [] and list(layout.walk_hash_dirs(dev)) == []
    os.unlink(os.path.join(dev, "objects"))
    for part in ("12", "3"):
        os.makedirs(layout.hash_dir_path(dev, int(part), HASH))
    os.makedirs(os.path.join(dev, "objects", "not-a-partition"))
    os.makedirs(os.path.join(dev, "objects", "3", "zzzz"))
    assert layout.list_partitions(dev) == [3, 12]
    assert layout.list_suffixes(layout.partition_path(dev, 3)) == ["abc"]
    assert sorted(layout.walk_hash_dirs(dev)) == [(3, HASH), (12, HASH)]
    assert list(layout.walk_hash_dirs(dev, [12, 99])) == [(12, HASH)]
    Path(tmp_path, "a-file").write_text("")
    assert layout.list_devices(str(tmp_path)) == ["d1"]
    assert layout.list_devices(str(tmp_path / "missing")) == []


@pytest.mark.parametrize("mode", ["syncfs", "fsync"])
def test_writers_and_readers_agree_with_the_layout(tmp_path: Path, mode: str):
    """An object, a quarantine, an async pending and a stats file land where the layout names them,
    and the recon counts read them back."""
    dev = tmp_path / "d1"
    dev.mkdir()
    pool = ThreadPoolExecutor(4)
    group = GroupCommit(pool, mode=mode)
    mgr = DiskFileManager(str(tmp_path), pool, group, block_size=4096)

    async def scenario() -> None:
        await commit_object(mgr, "d1", 7, HASH, Timestamp(1700000000))
        record = layout.async_pending_record(str(dev), HASH, "1700000000.00000", "deadbeef")
        await write_durable(group, str(dev), record, json.dumps({"x": 1}).encode())

    try:
        asyncio.run(scenario())
        df = mgr.get("d1", 7, HASH, "/a/c/o")
        assert df.dir == layout.hash_dir_path(str(dev), 7, HASH)
        assert [name.endswith(".data") for name in os.listdir(df.dir)] == [True]
        assert layout.list_async_pendings(str(dev)) == [
            layout.async_pending_record(str(dev), HASH, "1700000000.00000", "deadbeef")]
        assert os.listdir(layout.tmp_path(str(dev))) == []  # nothing left behind
        assert df.quarantine() == os.path.join(layout.quarantined_objects_path(str(dev)), HASH)
        write_stats(str(dev), "auditor", {"last_pass": 1.0})
        assert read_stats(str(dev), "auditor") == {"last_pass": 1.0}
        assert quarantined_counts(str(tmp_path)) == {"objects": 1, "devices": {"d1": 1}}
        doc = node_recon(str(tmp_path))
        assert doc["quarantined"] == 1 and doc["async_pending"] == 1
        assert doc["devices"]["d1"]["auditor"] == {"last_pass": 1.0}
    finally:
        group.close()
        pool.shutdown()
