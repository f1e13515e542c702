"""RingBuilder: balance, dispersion, rebalance movement, min_part_hours, validation, persistence."""

from __future__ import annotations

from collections import Counter

import pytest

from ring import RingBuilder
from ring.errors import RingBuilderError, RingValidationError

HOUR = 3600
T0 = 1_700_000_000


def make(part_power=10, replicas=3, min_part_hours=1, layout=((1, 1, "10.0.0.1", 100.0),)):
    """Builder with one device per (region, zone, ip, weight) entry."""
    b = RingBuilder(part_power, replicas, min_part_hours)
    for i, (region, zone, ip, weight) in enumerate(layout):
        b.add_device(region, zone, ip, 6200, f"d{i}", weight)
    return b


def six_in_three_zones(**kw):
    return make(layout=[(1, z, f"10.0.{z}.{h}", 100.0) for z in (1, 2, 3) for h in (1, 2)], **kw)


def rows(b: RingBuilder) -> list[tuple[int, ...]]:
    return list(zip(*b._assign, strict=True))


def tier_counts(b: RingBuilder, key) -> Counter:
    """For each partition, the largest number of its replicas sharing one tier."""
    worst = Counter()
    for devs in rows(b):
        worst[max(Counter(key(b.devices[d]) for d in devs).values())] += 1
    return worst


def test_equal_weights_balance_within_one_percent():
    b = six_in_three_zones()
    result = b.rebalance(seed=1, now=T0)
    assert result.parts_moved == 1024 * 3
    assert result.balance_percent <= 1.0
    assert set(b.parts_per_device().values()) == {512}
    b.validate()


def test_unequal_weights_get_proportional_shares():
    # two devices per zone weighing 100 and 200, zones equal: each zone holds one replica per partition
    layout = [(1, z, f"10.0.{z}.{h}", 100.0 * h) for z in (1, 2, 3) for h in (1, 2)]
    b = make(layout=layout)
    b.rebalance(seed=2, now=T0)
    parts = b.parts_per_device()
    for dev_id, dev in b.devices.items():
        share = dev.weight / 300.0 * 1024
        assert abs(parts[dev_id] - share) <= max(1.0, share * 0.01), (dev, parts[dev_id])
    assert b.balance() <= 1.0


def test_unequal_weights_without_dispersion_limits():
    # one zone, one host per device, 2 replicas: weights 1:2:3:4 get 10/20/30/40 percent of replicas
    layout = [(1, 1, f"10.0.0.{i}", float(i)) for i in (1, 2, 3, 4)]
    b = make(replicas=2, layout=layout)
    b.rebalance(seed=3, now=T0)
    parts = b.parts_per_device()
    for dev_id, dev in b.devices.items():
        assert abs(parts[dev_id] - 2048 * dev.weight / 10) <= 2
    assert b.balance() <= 1.0


def test_enough_zones_means_one_replica_per_zone_and_device():
    b = six_in_three_zones()
    b.rebalance(seed=4, now=T0)
    assert tier_counts(b, lambda d: (d.region, d.zone)) == Counter({1: 1024})
    assert all(len(set(devs)) == 3 for devs in rows(b))
    assert b.dispersion() == 0.0


def test_fewer_zones_spread_across_hosts():
    # 2 zones, 4 hosts (2 per zone), 2 devices per host, 3 replicas
    layout = [(1, z, f"10.0.{z}.{h}", 100.0) for z in (1, 2) for h in (1, 2) for _ in (1, 2)]
    b = make(layout=layout)
    b.rebalance(seed=5, now=T0)
    assert tier_counts(b, lambda d: (d.region, d.zone)) == Counter({2: 1024})
    assert tier_counts(b, lambda d: (d.region, d.zone, d.ip)) == Counter({1: 1024})
    assert all(len(set(devs)) == 3 for devs in rows(b))
    assert b.balance() <= 1.0


def test_regions_before_zones():
    # region 2 has a single zone; every partition still gets a replica in each region
    layout = [(1, z, f"10.1.{z}.1", 100.0) for z in (1, 2, 3)] + [(2, 1, "10.2.1.1", 100.0),
                                                                  (2, 1, "10.2.1.2", 100.0)]
    b = make(layout=layout)
    b.rebalance(seed=6, now=T0)
    for devs in rows(b):
        assert {b.devices[d].region for d in devs} == {1, 2}


def test_adding_one_device_moves_about_its_share_and_one_replica_per_partition():
    layout = [(1, z, f"10.0.{z}.1", 100.0) for z in range(1, 7)]  # 6 zones, no dispersion limits
    b = make(layout=layout)
    b.rebalance(seed=7, now=T0)
    before = rows(b)
    b.add_device(1, 7, "10.0.7.1", 6200, "new", 100.0)
    result = b.rebalance(seed=7, now=T0 + 2 * HOUR)
    total = 1024 * 3
    assert total / 7 * 0.9 <= result.parts_moved <= total / 7 * 1.15
    after = rows(b)
    changed = [sum(x != y for x, y in zip(a, c, strict=True)) for a, c in zip(before, after, strict=True)]
    assert max(changed) == 1
    assert sum(changed) == result.parts_moved
    assert b.balance() <= 1.0
    b.validate()


def test_rebalance_twice_moves_nothing():
    b = six_in_three_zones()
    b.rebalance(seed=8, now=T0)
    again = b.rebalance(seed=9, now=T0 + 10 * HOUR)
    assert again.parts_moved == 0


def test_removing_a_device_reassigns_all_its_replicas_even_within_min_part_hours():
    b = six_in_three_zones(min_part_hours=24)
    b.set_overload(1.0)  # zone 2 keeps one replica of every partition once half its weight is gone
    b.rebalance(seed=10, now=T0)
    gone = 2
    held = b.parts_per_device()[gone]
    version = b.version
    b.remove_device(gone)
    result = b.rebalance(seed=10, now=T0 + 60)  # well inside min_part_hours
    assert result.devices_removed == 1
    assert result.parts_moved == held
    assert gone not in b.devices
    assert all(gone not in devs for devs in rows(b))
    assert b.version > version
    b.validate()
    # its zone-mate now holds every partition of the zone
    zone = {d for d in b.devices.values() if (d.region, d.zone) == (1, 2)}
    assert [b.parts_per_device()[d.id] for d in zone] == [1024]


def test_min_part_hours_blocks_a_second_move_of_the_same_partition():
    layout = [(1, z, f"10.0.{z}.1", 100.0) for z in range(1, 7)]
    b = make(layout=layout, min_part_hours=1)
    b.rebalance(seed=11, now=T0)
    # initial placement counts as a move: nothing may move within the hour
    b.add_device(1, 7, "10.0.7.1", 6200, "new", 100.0)
    assert b.rebalance(seed=11, now=T0 + 60).parts_moved == 0
    first = b.rebalance(seed=11, now=T0 + HOUR + 1)
    assert first.parts_moved > 0
    moved = {p for p, t in enumerate(b._last_moved) if t == T0 + HOUR + 1}
    # draining a device right after: partitions just moved must stay put
    b.set_weight(0, 0.0)
    snapshot = rows(b)
    second = b.rebalance(seed=11, now=T0 + HOUR + 120)
    assert second.parts_moved > 0
    for p in moved:
        assert rows(b)[p] == snapshot[p]
    # once the window has passed the drain completes
    b.rebalance(seed=11, now=T0 + 3 * HOUR)
    assert b.parts_per_device()[0] == 0


def test_pretend_min_part_hours_passed():
    b = six_in_three_zones(min_part_hours=100)
    b.rebalance(seed=12, now=T0)
    b.add_device(1, 1, "10.0.1.3", 6200, "x", 100.0)
    assert b.rebalance(seed=12, now=T0 + 1).parts_moved == 0
    b.pretend_min_part_hours_passed()
    assert b.rebalance(seed=12, now=T0 + 2).parts_moved > 0


def test_deterministic_for_a_seed():
    a, b = six_in_three_zones(), six_in_three_zones()
    a.rebalance(seed=13, now=T0)
    b.rebalance(seed=13, now=T0)
    assert rows(a) == rows(b)


def test_too_few_devices_is_an_error():
    b = make(layout=[(1, 1, "10.0.0.1", 1.0), (1, 2, "10.0.0.2", 1.0)])
    with pytest.raises(RingBuilderError, match="at least 3 devices"):
        b.rebalance(seed=1, now=T0)


def test_validate_reports_problems():
    b = six_in_three_zones()
    with pytest.raises(RingValidationError, match="unassigned"):
        b.validate()
    b.rebalance(seed=14, now=T0)
    b.validate()
    b._assign[1][5] = b._assign[0][5]
    with pytest.raises(RingValidationError, match="partition 5 has two replicas on one device"):
        b.validate()


def test_bad_device_operations():
    b = six_in_three_zones()
    with pytest.raises(RingBuilderError, match="already exists"):
        b.add_device(1, 1, "10.0.1.1", 6200, "d0", 1.0)
    with pytest.raises(RingBuilderError, match="no device"):
        b.set_weight(99, 1.0)
    with pytest.raises(RingBuilderError, match="negative"):
        b.set_weight(0, -1.0)
    assert [d.id for d in b.search("r1z2")] == [2, 3]
    assert [d.id for d in b.search("10.0.3.2:6200/d5")] == [5]
    assert [d.id for d in b.search("d4")] == [4]


def test_save_load_round_trip(tmp_path):
    b = six_in_three_zones()
    b.rebalance(seed=15, now=T0)
    b.remove_device(1)
    path = tmp_path / "object.builder.json"
    b.save(path)
    c = RingBuilder.load(path)
    assert rows(c) == rows(b)
    assert c.devices == b.devices and c.removing == {1}
    assert list(c._last_moved) == list(b._last_moved)
    assert (c.version, c.part_power, c.replicas, c.min_part_hours) == (b.version, 10, 3, 1)
    assert not list(tmp_path.glob(".*tmp"))
    path.write_text("{not json")
    with pytest.raises(RingBuilderError, match="not valid JSON"):
        RingBuilder.load(path)


def test_dispersion_report_counts_replicas_per_tier():
    b = six_in_three_zones()
    b.rebalance(seed=16, now=T0)
    report = b.dispersion_report()
    assert report["dispersion"] == 0.0
    assert report["max_replicas_per"] == {"zone": 1, "host": 1}
    assert report["tiers"]["zone"]["r1z1"] == [0, 1024, 0, 0]


def test_part_power_16_rebalances_a_grown_ring():
    # 65,536 partitions: a production-sized ring is built and grown (its speed is a benchmark, not asserted)
    layout = [(1, i % 3 + 1, f"10.0.0.{i // 2}", 100.0) for i in range(12)]
    b = make(part_power=16, layout=layout)
    b.rebalance(seed=17, now=T0)
    new_id = b.add_device(1, 1, "10.0.0.9", 6200, "x", 100.0)
    b.rebalance(seed=17, now=T0 + 2 * HOUR)
    b.validate()
    parts = b.parts_per_device()
    assert sum(parts.values()) == 3 * 2**16
    assert parts[new_id] > 0  # the new device took a share
