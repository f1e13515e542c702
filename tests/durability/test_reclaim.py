"""Space that comes back (issue 17 §4): object tombstones and listing tombstone rows older than
``[store] reclaim_age`` are removed once every replica has them, with real node processes and a
reclaim age of a few seconds."""

from __future__ import annotations

import os
import signal
import time

import lmdb
import pytest

from store.listings import F_DELETED, OBJ_ROW, container_key
from tests import ondisk
from tests.durability.test_replication_support import Client, Layout, replication_cluster, wait_until

RECLAIM_AGE = 6.0
TIMEOUT = 90.0


@pytest.fixture
def cluster(tmp_path):
    c = replication_cluster(tmp_path / "cloud", store={"reclaim_age": RECLAIM_AGE})
    yield c
    c.stop()


def object_files(layout: Layout) -> dict[str, int]:
    """How many ``.data`` and ``.ts`` files every node holds, and how many object hash dirs."""
    counts = {".data": 0, ".ts": 0, "dirs": 0}
    for root in layout.roots.values():
        for device in os.listdir(root):
            if not (root / device).is_dir():
                continue
            dirs = set()
            for part, h, name in ondisk.object_files(root / device):
                dirs.add((part, h))
                for ext in (".data", ".ts"):
                    counts[ext] += name.endswith(ext)
            counts["dirs"] += len(dirs)
    return counts


def container_rows(layout: Layout, account: str, container: str) -> list[tuple[int, int]]:
    """(live rows, tombstone rows) of the container in every container replica's LMDB."""
    ring = layout.rings["container"]
    _part, primaries = ring.get_nodes(account, container)
    ckey = container_key(account, container)
    out = []
    for dev in primaries:
        path = layout.roots[dev.port] / dev.device / "containers.lmdb"
        env = lmdb.open(str(path), readonly=True, lock=True, max_dbs=16, subdir=True)
        try:
            rows_db = env.open_db(b"rows", create=False)
            live = dead = 0
            with env.begin() as txn:
                cur = txn.cursor(rows_db)
                ok = cur.set_range(ckey)
                while ok and cur.key()[:len(ckey)] == ckey:
                    if OBJ_ROW.unpack_from(cur.value())[2] & F_DELETED:
                        dead += 1
                    else:
                        live += 1
                    ok = cur.next()
        finally:
            env.close()
        out.append((live, dead))
    return out


def _churn(client: Client, container: str, names: list[str], rounds: int) -> None:
    for i in range(rounds):
        for name in names:
            assert client.put(container, name, f"{name}-{i}".encode()) == 201
            assert client.delete(container, name) == 204


def test_churned_container_returns_to_live_size(cluster):
    client = Client(cluster)
    client.create_container("churn")
    layout = Layout(cluster)
    keep = [f"keep-{i:03d}" for i in range(5)]
    for name in keep:
        assert client.put("churn", name, b"live") == 201
    _churn(client, "churn", [f"gone-{i:03d}" for i in range(30)], rounds=2)
    live = {".data": 3 * len(keep), ".ts": 0, "dirs": 3 * len(keep)}

    def not_reclaimed() -> list[str]:
        problems = []
        if (files := object_files(layout)) != live:
            problems.append(f"objects {files} != {live}")
        if (rows := container_rows(layout, client.account, "churn")) != [(len(keep), 0)] * 3:
            problems.append(f"rows {rows}")
        return problems

    took = wait_until(not_reclaimed, TIMEOUT, 1.0)
    print(f"\nchurned container back to its live size {took:.1f}s after the deletes")
    listed = set(layout.container_listings(client.account, "churn")[0] or ())
    assert listed == set(keep)
    for name in keep:
        assert client.get("churn", name).content == b"live"


DOWN_RECLAIM_AGE = 15.0  # the deletes' tombstones must reach the returning node within it, even on a loaded CI


@pytest.fixture
def slow_reclaim_cluster(tmp_path):
    c = replication_cluster(tmp_path / "cloud", store={"reclaim_age": DOWN_RECLAIM_AGE})
    yield c
    c.stop()


def test_node_down_within_reclaim_age_resurrects_nothing(slow_reclaim_cluster):
    # As Swift's: a node must be back, and replicated to, within reclaim_age, or the data its tombstones
    # never reached comes back. The node returns at once here, well within the age.
    cluster = slow_reclaim_cluster
    client = Client(cluster)
    client.create_container("down")
    layout = Layout(cluster)
    names = [f"obj-{i:03d}" for i in range(20)]
    for name in names:
        assert client.put("down", name, b"data") == 201
    wait_until(lambda: layout.listing_diff(client.account, "down", set(names)), TIMEOUT)
    cluster.stop_node(2, signal.SIGKILL)
    for name in names[:15]:
        assert client.delete("down", name) == 204
    cluster.start_node(2)  # back within reclaim_age
    survivors = set(names[15:])

    def not_settled() -> list[str]:
        problems = layout.listing_diff(client.account, "down", survivors)
        if (rows := container_rows(layout, client.account, "down")) != [(len(survivors), 0)] * 3:
            problems.append(f"rows {rows}")
        if (files := object_files(layout))[".ts"]:
            problems.append(f"objects {files}")
        return problems

    wait_until(not_settled, TIMEOUT, 1.0)
    time.sleep(2 * DOWN_RECLAIM_AGE)  # more passes after the reclaim: nothing comes back
    assert not not_settled()
    for name in names[:15]:
        assert client.get("down", name).status_code == 404
