"""Replica targets: weight shares clamped by what dispersion allows."""

from __future__ import annotations

import pytest

from ring import Device
from ring.device import format_device, parse_device_spec, parse_search
from ring.errors import RingBuilderError
from ring.tiers import replica_targets


def dev(i, region, zone, ip, weight):
    return Device(i, region, zone, ip, 6200, f"d{i}", weight)


def test_targets_follow_weight_when_unconstrained():
    devs = [dev(i, 1, 1, f"10.0.0.{i}", w) for i, w in enumerate([1.0, 2.0, 3.0, 4.0])]
    targets = replica_targets(devs, 2)
    assert targets == pytest.approx({0: 0.2, 1: 0.4, 2: 0.6, 3: 0.8})


def test_each_zone_holds_one_replica_when_zones_equal_replicas():
    devs = [dev(0, 1, 1, "a", 1.0), dev(1, 1, 1, "b", 1.0), dev(2, 1, 1, "c", 1.0),
            dev(3, 1, 2, "d", 1.0), dev(4, 1, 3, "e", 5.0)]
    targets = replica_targets(devs, 3, overload=1.0)  # enough overload for full dispersion
    assert targets == pytest.approx({0: 1 / 3, 1: 1 / 3, 2: 1 / 3, 3: 1.0, 4: 1.0})
    assert sum(targets.values()) == pytest.approx(3)


def test_no_device_holds_more_than_one_replica():
    devs = [dev(0, 1, 1, "a", 100.0), dev(1, 1, 2, "b", 1.0), dev(2, 1, 3, "c", 1.0)]
    assert replica_targets(devs, 3) == pytest.approx({0: 1.0, 1: 1.0, 2: 1.0})
    assert replica_targets([d for d in devs if d.id] + [dev(9, 1, 1, "z", 0.0)], 3) == pytest.approx(
        {1: 1.0, 2: 1.0})


def test_device_text_forms():
    d = Device(3, 1, 2, "127.0.0.1", 6201, "d1", 100.0, "ssd")
    assert format_device(d) == "r1z2-127.0.0.1:6201/d1_ssd"
    assert parse_device_spec("r1z2-127.0.0.1:6201/d1_ssd") == {
        "region": 1, "zone": 2, "ip": "127.0.0.1", "port": 6201, "device": "d1", "meta": "ssd"}
    assert parse_device_spec("r1z1-[::1]:6200/sdb")["ip"] == "::1"
    assert format_device(Device(0, 1, 1, "::1", 6200, "sdb", 1.0)) == "r1z1-[::1]:6200/sdb"
    with pytest.raises(RingBuilderError):
        parse_device_spec("z1-127.0.0.1/d1")
    assert parse_search("r1z2") == {"region": 1, "zone": 2}
    assert parse_search("127.0.0.1:6201/d1") == {"ip": "127.0.0.1", "port": 6201, "device": "d1"}
    assert parse_search("7") == {"id": 7}
