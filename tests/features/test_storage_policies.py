"""Storage policies against a real cloud: gold (policy 0, 3 replicas) and silver (policy 1, 2 replicas)."""

from __future__ import annotations

import glob
import uuid

import httpx

from store import layout
from tests import ondisk
from tests.durability.bg_helpers import wait_for


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _data_files(cluster, objects_dir: str) -> list[tuple[str, str]]:
    """(hash dir, name) of every .data file (or row) under ``<device>/<objects_dir>/`` of every node."""
    policy = layout.policy_of_objects_dir(objects_dir) or 0
    return [(layout.hash_dir_path(device, part, h, policy), name) for i in range(1, 5)
            for device in glob.glob(str(cluster.node_devices_root(i) / "*"))
            for part, h, name in ondisk.object_files(device, policy) if name.endswith(".data")]


def test_info_lists_both_policies(anon: httpx.Client):
    policies = anon.get("/info").json()["swift"]["policies"]
    assert {"name": "gold", "aliases": "gold", "default": True} in policies
    assert {"name": "silver", "aliases": "silver"} in policies


def test_container_created_in_a_policy_reports_it(http: httpx.Client):
    silver, plain = _name("silver"), _name("plain")
    assert http.put(silver, headers={"X-Storage-Policy": "silver"}).status_code == 201
    assert http.put(plain).status_code == 201
    assert http.head(silver).headers["X-Storage-Policy"] == "silver"
    assert http.get(silver).headers["X-Storage-Policy"] == "silver"
    assert http.head(plain).headers["X-Storage-Policy"] == "gold"
    # names are case-insensitive; re-putting with the same policy or none keeps it
    assert http.put(silver, headers={"X-Storage-Policy": "SILVER"}).status_code == 202
    assert http.put(silver).status_code == 202
    assert http.head(silver).headers["X-Storage-Policy"] == "silver"


def test_unknown_policy_is_400_and_another_policy_is_409(http: httpx.Client):
    name = _name("conflict")
    assert http.put(name, headers={"X-Storage-Policy": "bronze"}).status_code == 400
    assert http.head(name).status_code == 404
    assert http.put(name, headers={"X-Storage-Policy": "gold"}).status_code == 201
    assert http.put(name, headers={"X-Storage-Policy": "silver"}).status_code == 409
    assert http.head(name).headers["X-Storage-Policy"] == "gold"
    # a POST does not change the policy
    assert http.post(name, headers={"X-Storage-Policy": "silver"}).status_code == 204
    assert http.head(name).headers["X-Storage-Policy"] == "gold"


def test_recreated_container_takes_the_new_policy(http: httpx.Client):
    name = _name("recreate")
    assert http.put(name, headers={"X-Storage-Policy": "silver"}).status_code == 201
    assert http.delete(name).status_code == 204
    assert http.put(name, headers={"X-Storage-Policy": "gold"}).status_code == 201
    assert http.head(name).headers["X-Storage-Policy"] == "gold"


def test_silver_objects_live_on_two_nodes_under_objects_1(cluster, http: httpx.Client):
    name = _name("silverobj")
    assert http.put(name, headers={"X-Storage-Policy": "silver"}).status_code == 201
    before_gold = set(_data_files(cluster, "objects"))
    body = b"silver bytes " * 100
    assert http.put(f"{name}/o", content=body).status_code == 201
    assert http.get(f"{name}/o").content == body
    assert http.head(f"{name}/o").headers["Content-Length"] == str(len(body))
    silver_copies = [(d, n) for d, n in _data_files(cluster, "objects-1") if "/objects-1/" in d]
    mine = [(d, n) for d, n in silver_copies if ondisk.read(d, n).startswith(b"silver bytes")]
    assert len(mine) == 2  # silver: 2 replicas
    assert set(_data_files(cluster, "objects")) == before_gold  # nothing written for policy 0
    wait_for(lambda: [row["name"] for row in http.get(name, params={"format": "json"}).json()] == ["o"], 30)
    assert http.post(f"{name}/o", headers={"X-Object-Meta-A": "1"}).status_code == 202
    assert http.head(f"{name}/o").headers["X-Object-Meta-A"] == "1"
    assert http.delete(f"{name}/o").status_code == 204
    assert http.get(f"{name}/o").status_code == 404
    assert http.delete(name).status_code == 204


def test_account_reports_policies_per_container_and_in_totals(http: httpx.Client):
    prefix = _name("acctpol")
    silver, gold = f"{prefix}-s", f"{prefix}-g"
    assert http.put(silver, headers={"X-Storage-Policy": "silver"}).status_code == 201
    assert http.put(gold).status_code == 201
    assert http.put(f"{silver}/a", content=b"12345").status_code == 201

    def listed():
        rows = http.get("", params={"format": "json", "prefix": prefix}).json()
        return {r["name"]: (r.get("storage_policy"), r["count"]) for r in rows}
    wait_for(lambda: listed() == {silver: ("silver", 1), gold: ("gold", 0)}, 30)
    # account replicas learn the stats independently: wait for the one this read reaches too
    def xml_listing() -> str | None:
        text = http.get("", params={"format": "xml", "prefix": prefix}).text
        return text if f"<name>{silver}</name><count>1</count><bytes>5</bytes>" in text else None
    xml = wait_for(xml_listing, 30)
    assert "<storage_policy>silver</storage_policy>" in xml and "<storage_policy>gold</storage_policy>" in xml
    def head_counts() -> bool:
        head = http.head("").headers
        return (int(head.get("X-Account-Storage-Policy-Silver-Container-Count", 0)) >= 1
                and int(head.get("X-Account-Storage-Policy-Silver-Bytes-Used", 0)) >= 5
                and int(head.get("X-Account-Storage-Policy-Silver-Object-Count", 0)) >= 1
                and int(head.get("X-Account-Storage-Policy-Gold-Container-Count", 0)) >= 1)
    wait_for(head_counts, 30)


def test_silver_object_put_updates_every_container_replica_at_once(cluster, http: httpx.Client):
    """2 object replicas, 3 container replicas: each object server updates its share of them."""
    from objclient import paths
    from ring import Ring

    name = _name("silverrows")
    assert http.put(name, headers={"X-Storage-Policy": "silver"}).status_code == 201
    assert http.put(f"{name}/o", content=b"x").status_code == 201
    account = str(http.base_url).rstrip("/").rsplit("/", 1)[1]
    ring = Ring(cluster.cloud.conf.ring_dir / "container.ring", cluster.cloud.conf["cluster"]["hash_path_suffix"])
    part, nodes = ring.get_nodes(account, name)
    assert len(nodes) == 3
    for dev in nodes:
        resp = httpx.get(f"http://{dev.ip}:{dev.port}{paths.cont_path(dev, part, account, name)}?format=json",
                         auth=cluster.node_auth, timeout=10)
        assert [row["name"] for row in resp.json()] == ["o"], dev.device
