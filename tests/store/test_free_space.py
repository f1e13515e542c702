"""Node.check_space: the filesystem's free space, asked at most once a second per device, with each admitted
write debited from the last answer; an estimate that says no is checked with the filesystem before a 507."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from store.node import Node
from store.reqparse import HTTPError
from tests import harness


def test_an_estimate_that_says_no_is_asked_again_before_a_507(tmp_path: Path):
    device = tmp_path / "devices" / "d1"
    device.mkdir(parents=True)
    conf = harness.make_config(tmp_path / "data", cluster={"hash_path_suffix": "s", "node_key": "k"})
    node = Node(conf, tmp_path / "devices")
    try:
        st = os.statvfs(device)
        free = st.f_bavail * st.f_frsize
        node.check_space(str(device), free // 2)  # admitted: half of it is debited from the estimate
        node.check_space(str(device), free // 2 + free // 4)  # the estimate says no, the filesystem yes
        with pytest.raises(HTTPError) as refused:
            node.check_space(str(device), 2 * free)
        assert refused.value.status == 507
        node.check_space(str(device), 4096)  # a refusal debits nothing
    finally:
        node.executor.shutdown()
