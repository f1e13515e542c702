"""Adding a fifth storage node and rebalancing under write load: data moves to the new primaries."""

from __future__ import annotations

import time

import pytest

from ring.cli import main as ring_cli
from store import layout as store_layout
from store.replication.dispersion import cluster_report
from tests.durability.test_replication_support import (
    Client,
    Layout,
    Load,
    read_back,
    replication_cluster,
    wait_until,
)
from tests.harness import free_port_block


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = replication_cluster(tmp_path_factory.mktemp("rebalance"))
    yield c
    c.stop()


def add_node(cluster, name: str, device: str) -> tuple[int, object]:
    """Start one more storage node process (new port, one new device); not yet in the rings."""
    port = free_port_block(1) + 1
    root = cluster.data_dir / name
    (root / device).mkdir(parents=True)
    cluster.cloud.add_node(name, port, root)
    cluster.cloud.start_service(name)
    return port, root


def test_add_node_and_rebalance_under_load(cluster):
    client = Client(cluster)
    client.create_container("moving")
    port, root = add_node(cluster, "node5", "n5d1")
    load = Load(cluster, "moving", threads=3).start()
    try:
        wait_until(lambda: load.count() < 20, 60.0, 0.2)
        ring_dir = cluster.conf.ring_dir
        for kind in ("object", "container", "account"):
            builder = str(ring_dir / f"{kind}.builder.json")
            assert ring_cli([builder, "add", f"r1z5-127.0.0.1:{port}/n5d1", "100"]) == 0
            assert ring_cli([builder, "rebalance", "--force"]) == 0
        time.sleep(4.0)
    finally:
        load.stop()
    assert load.count() > 20 and len(load.failures) <= max(3, load.attempts // 20), load.failures[:10]

    layout = Layout(cluster, extra_roots={port: root})
    assert any(d.port == port for d in layout.rings["object"].devices)

    def problems() -> list[str]:
        out = layout.misplaced_objects(client.account, "moving", dict(load.acked))
        out += layout.handoff_leftovers()
        if not out:
            report = cluster_report(cluster.conf)
            if report.percent < 100.0 or report.unreachable:
                out.append(report.summary())
        if not out:
            out += layout.listing_diff(client.account, "moving", set(load.acked))
        return out

    took = wait_until(problems, 90.0)
    report = cluster_report(cluster.conf)
    print(f"rebalanced {len(load.acked)} objects in {took:.1f}s: {report.summary()}")
    assert report.partitions > 0 and report.percent == 100.0
    held = len(store_layout.list_partitions(str(root / "n5d1")))
    assert held > 0, "the new device received no partitions"
    assert read_back(client, "moving", load.acked) == []
