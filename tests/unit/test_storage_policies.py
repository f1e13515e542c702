"""Storage policy configuration, their object rings and their directories on a device."""

from __future__ import annotations

import os

import pytest

from objclient.rings import Rings, UnknownPolicyRing
from ring.bootstrap import build_default_rings
from stackstore.config import load_config
from stackstore.storage_policies import PolicyError, policies_from_conf
from store import layout


def test_default_config_has_gold_and_silver():
    policies = policies_from_conf(load_config(environ={}))
    assert [(p.index, p.name, p.replicas) for p in policies] == [(0, "gold", 3), (1, "silver", 2)]
    assert policies.default.name == "gold"
    assert policies.by_name("SILVER").index == 1 and policies.by_name("bronze") is None
    assert policies.by_index("1").name == "silver" and policies.by_index("x") is None
    assert policies.info() == [{"name": "gold", "aliases": "gold", "default": True},
                               {"name": "silver", "aliases": "silver"}]
    assert [p.ring_name for p in policies] == ["object", "object-1"]


def test_config_file_replaces_the_policy_table(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[policies.bronze]\nindex = 0\n[policies.old]\nindex = 2\ndeprecated = true\n'
                    'aliases = "ancient, legacy"\n')
    policies = policies_from_conf(load_config(path, environ={}))
    assert [p.name for p in policies] == ["bronze", "old"]
    assert policies.default.name == "bronze"  # the lone candidate
    assert policies.by_name("legacy").index == 2
    assert policies.info() == [{"name": "bronze", "aliases": "bronze", "default": True}]


@pytest.mark.parametrize("table", [
    {"a": {"index": 0}, "b": {"index": 0}},
    {"a": {"index": 0, "default": True}, "b": {"index": 1, "default": True}},
    {"a": {"index": 0, "aliases": ["b"]}, "b": {"index": 1}},
    {"a": {"index": 0, "default": True, "deprecated": True}},
    {"a": {"index": 0, "type": "erasure_coding"}},
    {"a": {}},
])
def test_inconsistent_policies_are_refused(table):
    with pytest.raises(PolicyError):
        policies_from_conf({"policies": table})


def test_layout_names_a_directory_per_policy(tmp_path):
    dev = str(tmp_path)
    h = "0" * 29 + "abc"
    assert layout.hash_dir_path(dev, 7, h) == f"{dev}/objects/7/abc/{h}"
    assert layout.hash_dir_path(dev, 7, h, 1) == f"{dev}/objects-1/7/abc/{h}"
    assert layout.quarantined_objects_path(dev, 2) == f"{dev}/quarantined/objects-2"
    os.makedirs(layout.hash_dir_path(dev, 3, h, 1))
    os.makedirs(layout.hash_dir_path(dev, 4, h))
    os.makedirs(os.path.join(dev, "objects-x"))
    assert layout.list_object_policies(dev) == [0, 1]
    assert layout.list_partitions(dev, 1) == [3] and layout.list_partitions(dev) == [4]
    assert list(layout.walk_hash_dirs(dev, policy=1)) == [(3, h)]
    assert [layout.policy_of_objects_dir(n) for n in ("objects", "objects-1", "objects-01", "objects-0", "tmp")] \
        == [0, 1, None, None, None]


def test_bootstrap_builds_one_object_ring_per_policy(tmp_path):
    devices = [(1, i, "127.0.0.1", 6200 + i, f"d{i}", 100.0) for i in range(1, 5)]
    build_default_rings(tmp_path, devices, 6, 3, 1, policy_rings={"object": 3, "object-1": 2})
    rings = Rings.load(tmp_path, "suffix", [0, 1])
    assert rings.object_ring(0).replica_count == 3 and rings.object_ring(1).replica_count == 2
    assert rings.account.replica_count == 3
    with pytest.raises(UnknownPolicyRing):
        rings.object_ring(5)


def test_container_replication_keeps_the_policy_of_the_latest_status_change():
    from store.replication.db_sync import _merge_record, _record_fields

    base = {"created": "1.0", "put": "1.0", "delete": "0", "status_changed": "1.0", "meta": {}}
    local = dict(base)  # a replica created before it heard of the policy (reads as 0)
    incoming = _record_fields({**base, "policy": 1})
    _merge_record(local, incoming)
    assert local["policy"] == 1
    recreated = {**base, "put": "3.0", "status_changed": "3.0", "policy": 0}
    _merge_record(recreated, _record_fields({**base, "policy": 1}))  # older status: ignored
    assert recreated["policy"] == 0
    _merge_record(local, _record_fields(recreated))  # newer status: taken
    assert local["policy"] == 0
