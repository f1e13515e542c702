"""Updater through a partition power increase: container updates queued while a container node was down,
before the increase, are delivered to the container's partition under the new power once it is back
(the updater recomputes the partition from the current ring at send time, as Swift's object-updater),
instead of being refused by the node (503: a partition of a power it no longer knows) and retried forever.
Replication is off in this cluster, so only the updater can have delivered the rows."""

from __future__ import annotations

import httpx
import pytest

from ring.builder import RingBuilder
from ring.cli import main as ring_cli
from ring.ringfile import read_ring_file
from tests.durability.bg_helpers import Layout, Swift, start_cluster, wait_for

RINGS = ("object", "container", "account")


@pytest.fixture
def cl(tmp_path):
    c = start_cluster(tmp_path / "cloud", relinker_interval=1.0)
    yield c
    c.stop()


def _ring_story(cl) -> str:
    """What the ring files and their builders say (a failure's message: who wrote the ring last)."""
    lines = []
    for kind in RINGS:
        builder = RingBuilder.load(cl.conf.ring_dir / f"{kind}.builder.json")
        data = read_ring_file(cl.conf.ring_dir / f"{kind}.ring")
        lines.append(f"{kind}: builder v{builder.version} power {builder.part_power}, "
                     f"ring v{data.version} power {data.part_power} next {data.next_part_power}")
    return "; ".join(lines)


def _pending_total(layout: Layout, indexes: list[int]) -> int:
    return sum(layout.recon(i)["async_pending"] for i in indexes)


def test_updates_queued_before_a_power_increase_reach_the_new_partition(cl):
    swift, layout = Swift(cl), Layout(cl)
    container = "grow-updates"
    assert swift.put(container).status_code in (201, 202)
    old_part, cdevs = layout.container.get_nodes(swift.account, container)
    # taken now: layout's rings reload themselves once the files change (5 s), so after the steps below they
    # would give the new power and partition (CI and a full run failed that way when the steps took > 5 s)
    old_power = layout.container.part_power
    stale_url = layout.container_url(cdevs[0], swift.account, container)
    down = layout.node_index(cdevs[0])
    others = [i for i in range(1, cl.cloud.node_count + 1) if i != down]
    names = [f"obj-{i:02d}" for i in range(8)]
    cl.stop_node(down)
    try:
        for name in names:
            assert swift.put(container, name, name.encode()).status_code == 201
        assert _pending_total(layout, others) >= len(names)
        for step in ("prepare-increase-partition-power", "increase-partition-power",
                     "finish-increase-partition-power"):
            for kind in RINGS:
                assert ring_cli([str(cl.conf.ring_dir / f"{kind}.builder.json"), step]) == 0
    finally:
        cl.start_node(down)
    grown = Layout(cl)
    assert grown.container.part_power == old_power + 1, _ring_story(cl)
    new_part = grown.container.partition(swift.account, container)
    assert new_part != old_part  # 2p or 2p+1: the queued records name a partition the node now refuses
    url = grown.container_url(cdevs[0], swift.account, container)

    def listed() -> list[str]:
        resp = httpx.get(url, timeout=10, auth=cl.node_auth, params={"format": "json"})
        return sorted(r["name"] for r in resp.json()) if resp.status_code == 200 else []

    wait_for(lambda: listed() == names, timeout=90)
    wait_for(lambda: _pending_total(grown, others) == 0, timeout=60)
    # what the records' own partition gets once the increase is finished: the node reloads a changed ring
    # within its reload interval, which the records may beat
    seen: list[str] = []

    def refused() -> bool:
        resp = httpx.get(stale_url, timeout=10, auth=cl.node_auth)
        seen[:] = [f"{resp.status_code} {resp.text[:200]!r}"]
        return resp.status_code == 503

    try:
        wait_for(refused, timeout=30)
    except AssertionError:  # say what the node answered and what the ring files hold
        raise AssertionError(f"{stale_url}: {seen}; {_ring_story(cl)}") from None
