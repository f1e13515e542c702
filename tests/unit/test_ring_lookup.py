"""Ring lookups: partitions, primaries, handoffs."""

from __future__ import annotations

from collections import Counter

import pytest

from ring import Ring, RingBuilder, hash_path

SUFFIX = "changeme"


@pytest.fixture(scope="module")
def ring(tmp_path_factory):
    b = RingBuilder(8, 3, 1)
    for zone in (1, 2, 3, 4):
        for host in (1, 2):
            for dev in (1, 2):
                b.add_device(1, zone, f"10.0.{zone}.{host}", 6200, f"sd{dev}", 100.0)
    b.rebalance(seed=1)
    path = tmp_path_factory.mktemp("rings") / "object.ring"
    b.write_ring(path)
    return Ring(path, SUFFIX)


def test_attributes(ring):
    assert (ring.part_power, ring.replica_count, ring.partition_count) == (8, 3, 256)
    assert len(ring.devices) == 16
    assert ring.version >= 1


def test_partition_in_range_deterministic_and_top_bits(ring):
    parts = [ring.partition("AUTH_test", "c", f"o{i}") for i in range(2000)]
    assert all(0 <= p < 256 for p in parts)
    assert parts == [ring.partition("AUTH_test", "c", f"o{i}") for i in range(2000)]
    assert len(set(parts)) > 200  # spread over the partitions
    digest = hash_path(SUFFIX, "AUTH_test", "c", "o1")
    assert ring.partition("AUTH_test", "c", "o1") == digest[0]  # part_power 8 = first byte


def test_get_nodes_matches_partition_and_primaries(ring):
    part, nodes = ring.get_nodes("a", "c", "o")
    assert part == ring.partition("a", "c", "o")
    assert nodes == ring.primaries(part)


def test_primaries_distinct_and_zone_spread(ring):
    for part in range(ring.partition_count):
        nodes = ring.primaries(part)
        assert len(nodes) == 3
        assert len({d.id for d in nodes}) == 3
        assert len({d.zone for d in nodes}) == 3
    with pytest.raises(IndexError):
        ring.primaries(256)


def test_handoffs_cover_every_other_device_once_zone_diverse_first(ring):
    firsts = Counter()
    for part in range(ring.partition_count):
        primaries = ring.primaries(part)
        handoffs = list(ring.handoffs(part))
        assert sorted(d.id for d in handoffs + primaries) == sorted(d.id for d in ring.devices)
        assert not {d.id for d in handoffs} & {d.id for d in primaries}
        used = {d.zone for d in primaries}
        fresh = [d for d in handoffs if d.zone not in used]
        assert handoffs[:len(fresh)] == fresh  # the unused zone's devices come first
        assert handoffs == list(ring.handoffs(part))  # deterministic
        firsts[handoffs[len(fresh)].id] += 1  # first handoff inside a used zone
    assert len(firsts) > 8  # load spreads: not always the same device


def test_handoffs_round_robin_over_unused_zones(tmp_path):
    b = RingBuilder(6, 2, 0)
    for zone in range(1, 7):
        for dev in (1, 2):
            b.add_device(1, zone, f"10.0.{zone}.1", 6200, f"sd{dev}", 1.0)
    b.rebalance(seed=2)
    b.write_ring(tmp_path / "r.ring")
    ring = Ring(tmp_path / "r.ring", SUFFIX)
    for part in range(ring.partition_count):
        used = {d.zone for d in ring.primaries(part)}
        handoffs = list(ring.handoffs(part))
        first_zones = [d.zone for d in handoffs[:6 - len(used)]]
        assert len(set(first_zones)) == len(first_zones)  # one per unused zone before repeating
        assert not set(first_zones) & used
