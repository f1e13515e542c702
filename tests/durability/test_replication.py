"""Object and listing replication with real node processes: node loss, wiped device, partition.

Each scenario runs its own cluster (replicator every second, fsync on) and checks every replica
on disk, plus every container replica's listing, not just what the proxy answers.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal

import pytest

from tests.durability.test_replication_support import (
    Client,
    Layout,
    Load,
    put_objects,
    read_back,
    replication_cluster,
    wait_until,
)

RECOVERY_TIMEOUT = 60.0


@pytest.fixture
def fresh_cluster(tmp_path):
    clusters = []

    def make(**extra):
        c = replication_cluster(tmp_path / f"cloud{len(clusters)}", **extra)
        clusters.append(c)
        return c

    yield make
    for c in clusters:
        for i in range(1, c.cloud.node_count + 1):  # a SIGSTOPped node must resume to stop
            proc = c.cloud.services[f"node{i}"].proc
            if proc is not None and proc.poll() is None:
                os.kill(proc.pid, signal.SIGCONT)
        c.stop()


def _converged(layout: Layout, client: Client, container: str, expected: dict[str, str | None]):
    def problems() -> list[str]:
        out = layout.misplaced_objects(client.account, container, expected)
        out += layout.handoff_leftovers()
        if not out:
            live = {n for n, md5 in expected.items() if md5 is not None}
            out += layout.listing_diff(client.account, container, live)
        return out
    return problems


def _retry(op, attempts: int = 3) -> int:
    """A client retries a 503 (nothing was acknowledged); the last status."""
    for _ in range(attempts):
        status = op()
        if status != 503:
            return status
    return status


def test_kill_node_under_load_then_recover(fresh_cluster):
    cluster = fresh_cluster()
    client = Client(cluster)
    client.create_container("load")
    load = Load(cluster, "load", threads=4).start()
    try:
        wait_until(lambda: load.count() < 20, 60.0, 0.2)  # a slow, busy machine still gets going
        before_kill = load.count()
        cluster.stop_node(2, signal.SIGKILL)
        wait_until(lambda: load.count() < before_kill + 40, 60.0, 0.2)
        after_kill = load.count() - before_kill
    finally:
        load.stop()
    assert before_kill > 5 and after_kill > 5, (before_kill, after_kill, load.failures[:5])
    assert len(load.failures) <= max(3, load.attempts // 20), load.failures[:10]
    assert read_back(client, "load", load.acked) == []

    layout = Layout(cluster)
    assert layout.misplaced_objects(client.account, "load", dict(load.acked)), "node 2 should lag behind"
    cluster.start_node(2)
    took = wait_until(_converged(layout, client, "load", dict(load.acked)), RECOVERY_TIMEOUT)
    print(f"{len(load.acked)} objects: all replicas in place {took:.1f}s after restart")


def test_wiped_device_is_restored(fresh_cluster):
    cluster = fresh_cluster()
    client = Client(cluster)
    client.create_container("wipe")
    expected = put_objects(client, "wipe", range(150), 1000)
    layout = Layout(cluster)
    wait_until(_converged(layout, client, "wipe", expected), RECOVERY_TIMEOUT)

    # a replaced disk: the node goes down, the device comes back empty (mount dir kept)
    cluster.stop_node(3, signal.SIGKILL)
    root = cluster.node_devices_root(3)
    for device in os.listdir(root):
        for entry in os.listdir(root / device):
            path = root / device / entry
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    assert len(layout.misplaced_objects(client.account, "wipe", expected)) > 50
    cluster.start_node(3)
    took = wait_until(_converged(layout, client, "wipe", expected), RECOVERY_TIMEOUT)
    print(f"wiped device restored in {took:.1f}s")
    assert read_back(client, "wipe", expected) == []


def test_unmounted_device_is_replaced_by_a_handoff(fresh_cluster):
    """A device that answers 507 (unmounted) while its node runs: the other primaries push its
    partitions to a handoff, so every object is back to three copies; once a new empty device is
    mounted, the handoffs revert the data to it and clean up."""
    cluster = fresh_cluster()
    client = Client(cluster)
    client.create_container("gone")
    expected = put_objects(client, "gone", range(60), 700)
    layout = Layout(cluster)
    wait_until(_converged(layout, client, "gone", expected), RECOVERY_TIMEOUT)

    root = cluster.node_devices_root(3)
    (device,) = os.listdir(root)
    (root / device).rename(root.parent / f"{device}.failed")  # the disk is gone; the node keeps running
    assert layout.under_replicated(client.account, "gone", expected), "node 3 held no replica?"
    # writes right away, while node 3 may still think the device is there
    expected.update(put_objects(client, "gone", range(60, 90), 700))
    took = wait_until(lambda: layout.under_replicated(client.account, "gone", expected), RECOVERY_TIMEOUT)
    print(f"three copies again {took:.1f}s after the device was unmounted")
    assert read_back(client, "gone", expected) == []
    assert not (root / device).exists(), "nothing may write where the unmounted device was"

    (root / device).mkdir()  # a replacement disk, empty
    took = wait_until(_converged(layout, client, "gone", expected), RECOVERY_TIMEOUT)
    print(f"replacement device filled and handoffs cleaned {took:.1f}s after it was mounted")


def test_partitioned_node_catches_up_on_deletes_and_overwrites(fresh_cluster):
    cluster = fresh_cluster(proxy={"error_suppression_interval": 120.0})
    client = Client(cluster)
    client.create_container("cut")
    expected = put_objects(client, "cut", range(80), 500)
    layout = Layout(cluster)
    wait_until(_converged(layout, client, "cut", expected), RECOVERY_TIMEOUT)

    pid = cluster.node_pids["node1"]
    os.kill(pid, signal.SIGSTOP)
    try:
        for i in range(0, 80, 2):  # delete the even ones
            assert _retry(lambda i=i: client.delete("cut", f"obj-{i}")) in (204, 404)
            expected[f"obj-{i}"] = None
        for i in range(1, 80, 4):  # overwrite a quarter
            body = b"new version " + os.urandom(300)
            assert _retry(lambda i=i, body=body: client.put("cut", f"obj-{i}", body)) == 201
            expected[f"obj-{i}"] = hashlib.md5(body).hexdigest()
        assert layout.misplaced_objects(client.account, "cut", expected)  # node 1 holds old versions
    finally:
        os.kill(pid, signal.SIGCONT)
    took = wait_until(_converged(layout, client, "cut", expected), RECOVERY_TIMEOUT)
    print(f"partitioned node caught up in {took:.1f}s")
    for name, md5 in expected.items():
        r = client.get("cut", name)
        if md5 is None:
            assert r.status_code == 404, name
        else:
            assert r.status_code == 200 and hashlib.md5(r.content).hexdigest() == md5, name
