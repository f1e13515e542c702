"""A node's free-space check (``Node.check_space``, Swift's fallocate_reserve): far from full a burst of writes
shares one statvfs, near full every write asks the filesystem, and a write past the reserve gets 507."""

from __future__ import annotations

import pytest

from store import node as node_module
from store.reqparse import HTTPError

GIB = 1 << 30


@pytest.fixture
def node(tmp_path):
    from tests.store.test_updates import _node_here

    return _node_here(tmp_path, 6299)


def _free_space(monkeypatch, free: list[int]) -> list[str]:
    looked_up: list[str] = []

    def free_bytes(path: str) -> int:
        looked_up.append(path)
        return free[0]

    monkeypatch.setattr(node_module, "free_bytes", free_bytes)
    return looked_up


def test_far_from_full_a_burst_shares_one_lookup(node, monkeypatch, tmp_path):
    looked_up = _free_space(monkeypatch, [10 * GIB])
    device = str(tmp_path / "devices" / "d1")
    for _ in range(100):
        node.check_space(device, 4096)
    assert len(looked_up) == 1
    for _ in range(9):  # 9 GiB admitted since the lookup: within the margin of what was free
        node.check_space(device, GIB)
    assert len(looked_up) > 1


def test_near_full_every_write_asks_and_the_reserve_holds(node, monkeypatch, tmp_path):
    free = [GIB // 2]
    looked_up = _free_space(monkeypatch, free)
    device = str(tmp_path / "devices" / "d1")
    node.fallocate_reserve = GIB // 4
    for _ in range(5):
        node.check_space(device, 4096)
    assert len(looked_up) == 5
    free[0] = GIB // 4 + 4095
    with pytest.raises(HTTPError) as err:
        node.check_space(device, 4096)
    assert err.value.status == 507


def test_a_lookup_is_trusted_only_briefly(node, monkeypatch, tmp_path):
    looked_up = _free_space(monkeypatch, [10 * GIB])
    device = str(tmp_path / "devices" / "d1")
    clock = [1000.0]
    monkeypatch.setattr(node_module.time, "monotonic", lambda: clock[0])
    node.check_space(device, 1)
    clock[0] += node_module.SPACE_CHECK_SECONDS / 2
    node.check_space(device, 1)
    assert len(looked_up) == 1
    clock[0] += node_module.SPACE_CHECK_SECONDS
    node.check_space(device, 1)
    assert len(looked_up) == 2
