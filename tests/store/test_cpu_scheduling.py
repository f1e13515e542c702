"""The serving processes' CPU policy (stackstore/cpu_scheduling.py): every thread of the proxy and of the storage
nodes runs under SCHED_BATCH; ``[cluster] cpu_scheduling = "normal"`` leaves a node under the default policy; an
unknown value stops the process before it serves."""

from __future__ import annotations

import os

import pytest

from stackstore import cpu_scheduling
from tests import harness
from tests.store.conftest import NODE_KEY, SUFFIX, free_port


def thread_policies(pid: int) -> set[int]:
    """The scheduling policy of every thread of process ``pid``."""
    return {os.sched_getscheduler(int(tid)) for tid in os.listdir(f"/proc/{pid}/task")}


def test_every_thread_of_the_proxy_and_the_nodes_runs_as_a_batch_task(cluster):
    pids = [*cluster.node_pids.values(), cluster.cloud.services["proxy"].proc.pid]
    assert len(pids) == 5
    for pid in pids:
        assert len(os.listdir(f"/proc/{pid}/task")) > 1  # its I/O and ring-watching threads, started after
        assert thread_policies(pid) == {os.SCHED_BATCH}, pid


def node_with(tmp_path, policy: str) -> harness.NodeProcess:
    (tmp_path / "devices" / "d1").mkdir(parents=True)
    conf = harness.make_config(tmp_path / "data", cluster={"hash_path_suffix": SUFFIX, "node_key": NODE_KEY,
                                                           "cpu_scheduling": policy})
    return harness.NodeProcess(conf, tmp_path / "devices", free_port())


def test_normal_leaves_a_node_under_the_default_policy(tmp_path):
    started_as = os.sched_getscheduler(0)
    os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))  # the node inherits it (whatever runs the tests)
    try:
        node = node_with(tmp_path, "normal").start()
    finally:
        os.sched_setscheduler(0, started_as, os.sched_param(0))
    try:
        assert thread_policies(node.proc.pid) == {os.SCHED_OTHER}
    finally:
        node.stop()


def test_an_unknown_policy_stops_the_node_before_it_serves(tmp_path):
    node = node_with(tmp_path, "fifo")
    with pytest.raises(RuntimeError, match="did not start"):
        node.start(timeout=10)
    assert "cpu_scheduling must be one of batch, normal, not 'fifo'" in node.logs()
    with pytest.raises(ValueError):
        cpu_scheduling.policy_from_conf({"cluster": {"cpu_scheduling": "realtime"}})
    assert cpu_scheduling.policy_from_conf({"cluster": {"cpu_scheduling": " Batch "}}) == "batch"
