"""A hung storage node (SIGSTOP: the kernel still accepts its connections, nothing answers) as a container
replica: writes go on, its listing rows become async pendings and arrive when it resumes. A cluster of this
module's own: the proxy's error limiter must not remember other tests' failed nodes (a second failing node
would leave a slot without any node, whose row only container replication repairs: off here)."""

from __future__ import annotations

import os
import signal
import uuid

import httpx
import pytest

from tests.durability.bg_helpers import Layout, Swift, start_cluster, wait_for


@pytest.fixture(scope="module")
def cl(tmp_path_factory):
    c = start_cluster(tmp_path_factory.mktemp("hung"))
    yield c
    c.stop()


def _pending_total(layout: Layout, indexes: list[int]) -> int:
    return sum(layout.recon(i)["async_pending"] for i in indexes)


def test_rows_for_a_hung_container_node_arrive_when_it_resumes(cl):
    """A container replica that hangs (SIGSTOP: its socket still accepts) is not waited for on every write
    once an update to it outlived the wait: its rows become async pendings at once and are still sent behind;
    when it resumes, it lists every object and no pending is left."""
    swift, layout = Swift(cl), Layout(cl)
    container = "hung-" + uuid.uuid4().hex[:6]
    assert swift.put(container).status_code in (201, 202)
    _, cdevs = layout.container.get_nodes(swift.account, container)
    hung = layout.node_index(cdevs[0])
    others = [i for i in range(1, 5) if i != hung]

    def stored_elsewhere(name: str) -> bool:
        # objects the hung node does not store: a hung *object* node stalls its own PUT and the row it
        # carries (repaired by container replication, off here), which is not what this test is about
        _, odevs = layout.object.get_nodes(swift.account, container, name)
        return hung not in {layout.node_index(dev) for dev in odevs}

    names = sorted(name for name in (f"obj-{i:03d}" for i in range(200)) if stored_elsewhere(name))[:10]
    assert len(names) == 10
    pid = cl.node_pids[f"node{hung}"]
    os.kill(pid, signal.SIGSTOP)
    try:
        for name in names:
            assert swift.put(container, name, name.encode()).status_code == 201
        assert _pending_total(layout, others) >= 1
        wait_for(lambda: sorted(swift.names(container)) == names)  # the other replicas list them
    finally:
        os.kill(pid, signal.SIGCONT)
    url = layout.container_url(cdevs[0], swift.account, container)

    def converged() -> bool:
        rows = httpx.get(url, timeout=10, auth=layout.cluster.node_auth).json()
        return sorted(r["name"] for r in rows) == names

    wait_for(converged, timeout=90)
    wait_for(lambda: _pending_total(layout, others) == 0, timeout=90)
