"""Error limiting, node order and quorum arithmetic."""

from __future__ import annotations

from objclient.fanout import best_status, quorum_size
from objclient.headers import HeaderDict, strip_hop_by_hop
from objclient.nodes import ErrorLimiter, read_nodes, write_handoffs
from tests.objclient.memnode import Dev, FakeRing


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def devs(n: int) -> list[Dev]:
    return [Dev(i, "127.0.0.1", 6000 + i, f"d{i}") for i in range(n)]


def test_error_limiter_counts_within_interval_then_forgets():
    clock = Clock()
    lim = ErrorLimiter(interval=10, limit=3, clock=clock)
    d = devs(1)[0]
    lim.error(d)
    lim.error(d)
    assert not lim.is_limited(d)
    clock.now += 11  # old errors forgotten
    lim.error(d)
    lim.error(d)
    assert not lim.is_limited(d)
    lim.error(d)
    assert lim.is_limited(d)
    clock.now += 11
    assert not lim.is_limited(d)
    lim.limit_now(d)
    assert lim.is_limited(d)


def test_node_order_skips_and_demotes_limited_devices():
    ring = FakeRing(devs(6))
    lim = ErrorLimiter(limit=1)
    lim.limit_now(ring.devs[0])
    lim.limit_now(ring.devs[3])
    order = read_nodes(ring, 0, lim, handoff_count=3, shuffle=False)
    assert [d.id for d in order] == [1, 2, 4, 5, 0, 3]
    assert [d.id for d in write_handoffs(ring, 0, lim, 2)] == [4, 5]


def test_quorum_and_best_status():
    assert [quorum_size(n) for n in (1, 2, 3, 4, 5)] == [1, 2, 2, 3, 3]
    assert best_status([201, 201, 503], 2) == 201
    assert best_status([201, 202, 202], 2) == 202
    assert best_status([204, 404, 404], 2) == 404
    assert best_status([201, 404, 503], 2) is None


def test_header_dict():
    h = HeaderDict({"Content-Type": "a"})
    h["content-type"] = "b"
    h.add("X-A", "1")
    h.add("x-a", "2")
    assert dict(h) == {"content-type": "b", "X-A": "1, 2"} and "CONTENT-TYPE" in h
    assert dict(strip_hop_by_hop({"Host": "x", "Content-Length": "3", "X-Y": "z"})) == {"X-Y": "z"}


def test_container_replicas_pair_with_the_object_slot_on_their_own_server():
    from objclient.fanout import paired_with_slots

    # servers 6001..6004; the object's slots on 6002, 6004, 6001; the container's replicas on 6001, 6002, 6003
    slots = [Dev(2, "127.0.0.1", 6002, "o2"), Dev(4, "127.0.0.1", 6004, "o4"), Dev(1, "127.0.0.1", 6001, "o1")]
    replicas = [Dev(11, "127.0.0.1", 6001, "c1"), Dev(12, "127.0.0.1", 6002, "c2"), Dev(13, "127.0.0.1", 6003, "c3")]
    paired = paired_with_slots(replicas, slots)
    assert [d.device for d in paired] == ["c2", "c3", "c1"]  # slot 2's server has none: the one left over
    assert sorted(d.device for d in paired) == ["c1", "c2", "c3"]  # each replica gets its row from one slot


def test_container_replicas_keep_ring_order_without_a_shared_server_or_with_other_counts():
    from objclient.fanout import paired_with_slots

    slots = [Dev(i, "10.0.0.1", 6000 + i, f"o{i}") for i in range(3)]
    replicas = [Dev(10 + i, "10.0.0.2", 6000 + i, f"c{i}") for i in range(3)]  # same ports, another address
    assert paired_with_slots(replicas, slots) == replicas
    assert paired_with_slots(replicas, slots[:2]) == replicas  # fewer slots: slot_update_headers spreads them
