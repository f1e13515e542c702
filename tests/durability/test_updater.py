"""Updater: listing updates a container node missed while down are delivered once it is back
(replication is off in this cluster, so only the updater can have done it)."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.durability.bg_helpers import Layout, Swift, start_cluster, wait_for


@pytest.fixture(scope="module")
def cl(tmp_path_factory):
    c = start_cluster(tmp_path_factory.mktemp("updater"))
    yield c
    c.stop()


def _pending_total(layout: Layout, indexes: list[int]) -> int:
    return sum(layout.recon(i)["async_pending"] for i in indexes)


def test_pending_updates_delivered_after_container_node_returns(cl):
    swift, layout = Swift(cl), Layout(cl)
    container = "upd-" + uuid.uuid4().hex[:6]
    assert swift.put(container).status_code in (201, 202)
    _, cdevs = layout.container.get_nodes(swift.account, container)
    down = layout.node_index(cdevs[0])
    others = [i for i in range(1, 5) if i != down]
    names = [f"obj-{i:02d}" for i in range(8)]
    cl.stop_node(down)
    try:
        for name in names:
            assert swift.put(container, name, name.encode()).status_code == 201
        assert swift.put(container, "doomed", b"x").status_code == 201
        assert swift.http.delete(swift.path(container, "doomed")).status_code == 204
        assert _pending_total(layout, others) >= len(names) + 2  # one per object write and the delete
        wait_for(lambda: sorted(swift.names(container)) == names)  # the other replicas list them
    finally:
        cl.start_node(down)
    url = layout.container_url(cdevs[0], swift.account, container)

    def converged() -> bool:
        rows = httpx.get(url, timeout=10, auth=layout.cluster.node_auth).json()
        return sorted(r["name"] for r in rows) == names

    wait_for(converged, timeout=90)
    wait_for(lambda: _pending_total(layout, others) == 0, timeout=60)
    successes = sum(layout.recon(i)["updater"]["successes"] for i in others)
    assert successes >= len(names) + 2
    head = httpx.head(url, timeout=10, auth=layout.cluster.node_auth)
    assert head.headers["x-container-object-count"] == str(len(names))
