"""A partition power increase on a live cluster (issue 17 §2, node side): the rings' prepare / increase /
finish steps with the nodes relinking, serving and cleaning up by themselves (store/relinker.py), checked
with ``stackstore relink`` as an operator would. Objects written before, during and after each step stay
readable through the proxy; afterwards every object lives only at its partition under the new power,
every listing is indexed for it, and replication finds nothing to move."""

from __future__ import annotations

import hashlib
import os
import struct
import time

import httpx
import lmdb
import pytest

from ring.cli import main as ring_cli
from ring.hashing import hash_path, partition_of
from stackstore.launcher import effective_config_path
from store.listings import container_key
from store.relink_cli import main as relink_main
from store.replication.dispersion import cluster_report
from tests import ondisk
from tests.durability.test_replication_support import Client, Layout, replication_cluster, wait_until

RINGS = ("object", "container", "account")
TIMEOUT = 90.0


@pytest.fixture
def cluster(tmp_path):
    c = replication_cluster(tmp_path / "cloud", store={"relinker_interval": 1.0, "expirer_interval": 1.0})
    yield c
    c.stop()


def ring_step(cluster, step: str) -> None:
    for kind in RINGS:
        assert ring_cli([str(cluster.conf.ring_dir / f"{kind}.builder.json"), step]) == 0


def misplaced_hash_dirs(layout: Layout, power: int) -> list[str]:
    """Object hash dirs not at their partition under ``power`` (on any node)."""
    out = []
    for root in layout.roots.values():
        for device in os.listdir(root):
            if not (root / device).is_dir():
                continue
            for part, h in {(part, h) for part, h, _ in ondisk.object_files(root / device)}:
                if partition_of(bytes.fromhex(h), power) != part:
                    out.append(f"{device}/objects/{part}/{h[-3:]}/{h}")
    return out


def unlinked_replicas(layout: Layout, account: str, container: str, names: list[str], power: int) -> list[str]:
    """Replicas whose files are not hard-linked into the object's partition under ``power + 1``."""
    out = []
    ring = layout.rings["object"]
    for name in names:
        digest = hash_path(layout.suffix, account, container, name)
        old, new = partition_of(digest, power), partition_of(digest, power + 1)
        for dev in ring.get_nodes(account, container, name)[1]:
            objects = layout.roots[dev.port] / dev.device / "objects"
            src = objects / str(old) / digest.hex()[-3:] / digest.hex()
            dst = objects / str(new) / digest.hex()[-3:] / digest.hex()
            files = ondisk.names(src)
            # a file is hard-linked (one inode); a row is copied (the same bytes under the new partition)
            if not files or any(f not in ondisk.names(dst) or ondisk.read(dst, f) != ondisk.read(src, f)
                                or ((src / f).exists() and (dst / f).stat().st_ino != (src / f).stat().st_ino)
                                for f in files):
                out.append(f"{name} on {dev.device}: {files} -> {ondisk.names(dst)}")
    return out


def parts_index(layout: Layout, account: str, container: str) -> list[list[int]]:
    """The partitions each container replica's record is indexed under (``parts`` in containers.lmdb)."""
    ring = layout.rings["container"]
    ckey = container_key(account, container)
    out = []
    for dev in ring.get_nodes(account, container)[1]:
        env = lmdb.open(str(layout.roots[dev.port] / dev.device / "containers.lmdb"), readonly=True, lock=True,
                        max_dbs=16, subdir=True)
        try:
            parts_db = env.open_db(b"parts", create=False)
            with env.begin() as txn:
                out.append(sorted(struct.unpack(">I", k[:4])[0] for k, _ in txn.cursor(parts_db) if k[4:] == ckey))
        finally:
            env.close()
    return out


def stale_ring_reads(cluster, layout: Layout, account: str, container: str, names: list[str],
                     old_power: int) -> list[str]:
    """Objects a node does not serve when asked with their old-power partition (a proxy that has not
    reloaded the ring) once the old locations are gone."""
    bad = []
    for name in names:
        digest = hash_path(layout.suffix, account, container, name)
        old = partition_of(digest, old_power)
        for dev in layout.rings["object"].get_nodes(account, container, name)[1]:
            url = f"http://{dev.ip}:{dev.port}/obj/{dev.device}/{old}/{account}/{container}/{name}"
            resp = httpx.get(url, auth=cluster.node_auth, timeout=10)
            if resp.status_code != 200:
                bad.append(f"{name} on {dev.device} at {old}: {resp.status_code}")
    return bad


def files_sent(cluster) -> tuple[int, int]:
    """(object replication passes, files sent) summed over the nodes."""
    passes = sent = 0
    for i in range(1, cluster.cloud.node_count + 1):
        doc = httpx.get(f"{cluster.node_url(i)}/replicate/stats", auth=cluster.node_auth, timeout=10).json()
        passes += doc["passes"]
        sent += doc["objects"]["totals"]["files_sent"]
    return passes, sent


def test_partition_power_increase_on_a_live_cluster(cluster):
    client = Client(cluster)
    client.create_container("grow")
    layout = Layout(cluster)
    config = str(effective_config_path(cluster.conf))
    power = layout.rings["object"].part_power
    expected: dict[str, bytes] = {}

    def write(names: list[str]) -> None:
        for name in names:
            body = f"{name}-body".encode()
            assert client.put("grow", name, body) == 201
            expected[name] = body

    def unreadable() -> list[str]:
        bad = [n for n, body in expected.items() if (r := client.get("grow", n)).status_code != 200
               or r.content != body]
        bad += [n for n in deleted if client.get("grow", n).status_code != 404]
        return bad

    write([f"before-{i:03d}" for i in range(60)])
    deleted = [f"before-{i:03d}" for i in range(0, 60, 10)]  # tombstones are relinked too
    for name in deleted:
        assert client.delete("grow", name) == 204
        expected.pop(name)
    wait_until(lambda: layout.listing_diff(client.account, "grow", set(expected)), TIMEOUT)

    ring_step(cluster, "prepare-increase-partition-power")
    write([f"prepared-{i:03d}" for i in range(20)])  # while the nodes relink: linked by the writes
    assert relink_main(["--config", config, "--wait", str(TIMEOUT)]) == 0
    write([f"relinked-{i:03d}" for i in range(10)])  # after the nodes' relink pass: linked by the writes alone
    assert client.delete("grow", "prepared-000") == 204  # a tombstone written now is linked too
    expected.pop("prepared-000")
    deleted.append("prepared-000")
    assert not unlinked_replicas(layout, client.account, "grow", sorted(expected) + deleted, power)
    assert not unreadable()

    expires_at = int(time.time()) + 25  # indexed under the old partition, due after the cleanup
    resp = client.http.put(f"{client.url}/grow/expiring", content=b"x", headers={"X-Delete-At": str(expires_at)})
    assert resp.status_code == 201
    ring_step(cluster, "increase-partition-power")
    write([f"increased-{i:03d}" for i in range(10)])  # proxies on either ring: the nodes place them right
    assert not unreadable()
    assert relink_main(["--config", config, "--cleanup", "--wait", str(TIMEOUT)]) == 0
    assert not misplaced_hash_dirs(Layout(cluster), power + 1)
    assert time.time() < expires_at  # the expirer will find it at its new partition only
    new_layout = Layout(cluster)
    assert not stale_ring_reads(cluster, new_layout, client.account, "grow", sorted(expected)[:10], power)
    part = new_layout.rings["container"].partition(client.account, "grow")
    assert parts_index(new_layout, client.account, "grow") == [[part]] * 3
    assert not unreadable()

    ring_step(cluster, "finish-increase-partition-power")
    layout = Layout(cluster)
    assert layout.rings["object"].part_power == power + 1 and layout.rings["object"].next_part_power is None
    passes, sent = files_sent(cluster)
    wait_until(lambda: files_sent(cluster)[0] < passes + 3 * cluster.cloud.node_count, TIMEOUT, 1.0)
    assert files_sent(cluster)[1] == sent  # every replica already where the new ring wants it
    wait_until(lambda: [state for state, _ in layout.object_states(client.account, "grow", "expiring")
                        if not state.endswith(".ts")], TIMEOUT, 1.0)  # deleted by the expirer on every primary
    wait_until(lambda: layout.listing_diff(client.account, "grow", set(expected)), TIMEOUT)
    report = cluster_report(cluster.conf)
    assert report.percent == 100.0, report.summary()
    md5s: dict[str, str | None] = {n: hashlib.md5(b).hexdigest() for n, b in expected.items()}
    assert not layout.misplaced_objects(client.account, "grow", md5s | dict.fromkeys(deleted))
    assert not layout.listing_diff(client.account, "grow", set(expected))
    write([f"finished-{i:03d}" for i in range(5)])
    assert not unreadable()
    assert not misplaced_hash_dirs(layout, power + 1)
