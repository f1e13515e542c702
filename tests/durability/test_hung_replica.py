"""A replica that hangs (its node stopped, not dead: connections open, nothing answered) must not stall the
reads the proxy decides on. Those ask every primary for its newest copy (docs/durability.md "Reads that decide:
the newest copy"); once a majority has answered, the rest get ``[proxy] concurrency_timeout`` more, not
``node_timeout``. Here ``node_timeout`` is longer than the client waits: a read that waited for the hung
replica would fail the request instead of answering it."""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest

from tests.durability.bg_helpers import Layout, Swift, start_cluster

CLIENT_TIMEOUT = 20.0  # seconds the client waits; the proxy would wait node_timeout (60) for the hung node


@pytest.fixture(scope="module")
def cl(tmp_path_factory):
    c = start_cluster(tmp_path_factory.mktemp("hung"), proxy={"node_timeout": 60.0})
    yield c
    c.stop()


def test_container_info_reads_answer_while_a_replica_hangs(cl):
    swift, layout = Swift(cl), Layout(cl)
    hung = 3
    names = layout.containers_on(hung, swift.account, "hung-", 4)
    for name in names:
        assert swift.put(name, **{"X-Container-Read": ".r:*"}).status_code in (201, 202)
        assert swift.put(name, "pub", b"public").status_code == 201
    pid = cl.node_pids[f"node{hung}"]
    os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(5.5)  # the proxy's cached container info expires: the next request reads it again
        for name in names:  # each one's first request reads its container info from every primary
            resp = httpx.get(swift.path(name, "pub"), timeout=CLIENT_TIMEOUT)
            assert (resp.status_code, resp.content) == (200, b"public"), name
    finally:
        os.kill(pid, signal.SIGCONT)
