"""Nova subset over HTTP: discovery and microversions, flavors, servers and their state machine."""

from __future__ import annotations

import httpx
import pytest

from tests.compute.cloud import answers_while_database_locked, url, wait_for


def _server(nova: httpx.Client, image_id: str, name: str = "vm", **extra) -> dict:
    body = {"server": {"name": name, "flavorRef": "1", "imageRef": image_id, "networks": "none", **extra}}
    resp = nova.post("/servers", json=body)
    assert resp.status_code == 202, resp.text
    return resp.json()["server"]


def _status(nova: httpx.Client, server_id: str) -> str:
    return nova.get(f"/servers/{server_id}").json()["server"]["status"]


def _active(nova: httpx.Client, image_id: str, name: str = "vm") -> str:
    sid = _server(nova, image_id, name)["id"]
    wait_for(lambda: _status(nova, sid) == "ACTIVE")
    return sid


def test_discovery_and_microversions(cluster, nova):
    base = url(cluster, "compute")
    root = httpx.get(base + "/").json()["versions"]
    current = [v for v in root if v["status"] == "CURRENT"][0]
    assert (current["id"], current["version"], current["min_version"]) == ("v2.1", "2.89", "2.1")
    assert current["links"][0]["href"] == f"{base}/v2.1/"
    assert httpx.get(base + "/v2.1").json()["version"]["version"] == "2.89"
    resp = nova.get("/flavors")
    assert resp.headers["OpenStack-API-Version"] == "compute 2.89"
    assert resp.headers["X-OpenStack-Nova-API-Version"] == "2.89"
    old = nova.get("/flavors", headers={"OpenStack-API-Version": "compute 2.60"})
    assert old.headers["OpenStack-API-Version"] == "compute 2.60"
    legacy = nova.get("/flavors", headers={"OpenStack-API-Version": "", "X-OpenStack-Nova-API-Version": "2.50"})
    assert legacy.headers["X-OpenStack-Nova-API-Version"] == "2.50"
    assert nova.get("/flavors", headers={"OpenStack-API-Version": "compute 2.96"}).status_code == 406
    assert nova.get("/flavors", headers={"OpenStack-API-Version": "compute x.y"}).status_code == 400
    assert httpx.get(base + "/v2.1/servers").status_code == 401
    assert httpx.get(base + "/v2.1/servers", headers={"X-Auth-Token": "nope"}).status_code == 401
    assert nova.get("/nothing-here").status_code == 404


def test_flavors(nova, nova_demo):
    flavors = nova_demo.get("/flavors/detail", params={"is_public": "True"}).json()["flavors"]
    tiny = next(f for f in flavors if f["name"] == "m1.tiny")
    assert (tiny["id"], tiny["ram"], tiny["vcpus"], tiny["disk"], tiny["extra_specs"]) == ("1", 512, 1, 1, {})
    assert tiny["os-flavor-access:is_public"] is True and tiny["OS-FLV-EXT-DATA:ephemeral"] == 0
    assert nova_demo.get("/flavors/1").json()["flavor"]["name"] == "m1.tiny"
    assert nova_demo.get("/flavors/m1.tiny").status_code == 404
    body = {"flavor": {"name": "t.custom", "ram": 256, "vcpus": 1, "disk": 2, "id": None,
                       "os-flavor-access:is_public": True, "description": "test"}}
    assert nova_demo.post("/flavors", json=body).status_code == 403
    created = nova.post("/flavors", json=body)
    assert created.status_code == 200, created.text
    fid = created.json()["flavor"]["id"]
    assert created.json()["flavor"]["description"] == "test"
    assert nova.post("/flavors", json=body).status_code == 409
    assert nova.post(f"/flavors/{fid}/os-extra_specs", json={"extra_specs": {"hw:cpu": "2"}}).status_code == 200
    assert nova.get(f"/flavors/{fid}").json()["flavor"]["extra_specs"] == {"hw:cpu": "2"}
    assert nova.post("/flavors", json={"flavor": {"name": "bad", "ram": 0, "vcpus": 1, "disk": 1}}).status_code == 400
    assert nova.post("/flavors", json={"flavor": "x"}).status_code == 400
    assert nova_demo.delete(f"/flavors/{fid}").status_code == 403
    assert nova.delete(f"/flavors/{fid}").status_code == 202
    assert nova.get(f"/flavors/{fid}").status_code == 404


def test_server_lifecycle(nova, image_id):
    created = _server(nova, image_id, "life", metadata={"role": "test"})
    sid = created["id"]
    assert created["adminPass"] and created["links"]
    assert _status(nova, sid) in ("BUILD", "ACTIVE")
    wait_for(lambda: _status(nova, sid) == "ACTIVE")
    srv = nova.get(f"/servers/{sid}").json()["server"]
    assert srv["flavor"]["original_name"] == "m1.tiny" and srv["image"]["id"] == image_id
    assert srv["metadata"] == {"role": "test"} and srv["OS-EXT-STS:power_state"] == 1
    assert srv["OS-EXT-STS:vm_state"] == "active" and srv["os-extended-volumes:volumes_attached"] == []
    assert srv["OS-EXT-AZ:availability_zone"] == "nova" and srv["locked"] is False
    assert nova.post(f"/servers/{sid}/action", json={"os-start": None}).status_code == 409
    assert nova.post(f"/servers/{sid}/action", json={"os-stop": None}).status_code == 202
    assert _status(nova, sid) == "SHUTOFF"
    assert nova.get(f"/servers/{sid}").json()["server"]["OS-EXT-STS:power_state"] == 4
    assert nova.post(f"/servers/{sid}/action", json={"os-stop": None}).status_code == 409
    assert nova.post(f"/servers/{sid}/action", json={"reboot": {"type": "SOFT"}}).status_code == 409
    assert nova.post(f"/servers/{sid}/action", json={"os-start": None}).status_code == 202
    assert _status(nova, sid) == "ACTIVE"
    assert nova.post(f"/servers/{sid}/action", json={"reboot": {"type": "HARD"}}).status_code == 202
    assert _status(nova, sid) in ("HARD_REBOOT", "ACTIVE")
    wait_for(lambda: _status(nova, sid) == "ACTIVE")
    assert nova.post(f"/servers/{sid}/action", json={"reboot": {"type": "GENTLE"}}).status_code == 400
    assert nova.post(f"/servers/{sid}/action", json={"os-migrate": None}).status_code == 400
    renamed = nova.put(f"/servers/{sid}", json={"server": {"name": "life2"}})
    assert renamed.json()["server"]["name"] == "life2"
    assert nova.post(f"/servers/{sid}/metadata", json={"metadata": {"k": "v"}}).json()["metadata"] == \
        {"role": "test", "k": "v"}
    assert nova.delete(f"/servers/{sid}").status_code == 204
    assert nova.get(f"/servers/{sid}").status_code == 404
    assert nova.delete(f"/servers/{sid}").status_code == 404


def test_server_list_and_scoping(nova, nova_demo, image_id):
    mine = _active(nova, image_id, "listed-admin")
    theirs = _active(nova_demo, image_id, "listed-demo")
    names = {s["name"] for s in nova_demo.get("/servers/detail").json()["servers"]}
    assert "listed-demo" in names and "listed-admin" not in names
    assert nova_demo.get(f"/servers/{mine}").status_code == 404
    assert nova_demo.delete(f"/servers/{mine}").status_code == 404
    assert [s["id"] for s in nova.get("/servers", params={"name": "listed-admin"}).json()["servers"]] == [mine]
    everyone = {s["id"] for s in nova.get("/servers/detail", params={"all_tenants": "1"}).json()["servers"]}
    assert {mine, theirs} <= everyone
    assert nova.get(f"/servers/{theirs}").status_code == 200  # admin sees any server by id
    assert nova.get("/servers/detail", params={"status": "SHUTOFF", "name": "listed"}).json()["servers"] == []
    page = nova.get("/servers/detail", params={"all_tenants": "1", "limit": "1"}).json()["servers"]
    assert len(page) == 1
    nova.delete(f"/servers/{mine}")
    nova_demo.delete(f"/servers/{theirs}")


@pytest.mark.parametrize("body, status", [
    ({"name": "x", "flavorRef": "1"}, 400),  # no image
    ({"name": "x", "flavorRef": "999", "imageRef": "IMAGE", "networks": "none"}, 400),
    ({"name": "x", "flavorRef": "1", "imageRef": "00000000-0000-0000-0000-000000000000", "networks": "none"}, 400),
    ({"name": "x", "flavorRef": "1", "imageRef": "IMAGE"}, 400),  # networks required from 2.37
    ({"name": "", "flavorRef": "1", "imageRef": "IMAGE", "networks": "none"}, 400),
    ({"name": "x", "flavorRef": "1", "imageRef": "IMAGE", "networks": "none", "metadata": {"a": 1}}, 400),
    ({"name": "x", "flavorRef": "1", "imageRef": "IMAGE", "networks": [{"uuid": "n"}]}, 400),
    ({"name": "x", "flavorRef": "1", "imageRef": "IMAGE", "networks": "none", "max_count": 3}, 400),
])
def test_server_create_rejects(nova, image_id, body, status):
    body = {k: (image_id if v == "IMAGE" else v) for k, v in body.items()}
    assert nova.post("/servers", json={"server": body}).status_code == status
    assert nova.post("/servers", content=b"{bad").status_code == 400


def test_availability_zones(nova, nova_demo):
    zones = nova_demo.get("/os-availability-zone").json()["availabilityZoneInfo"]
    assert zones == [{"zoneName": "nova", "zoneState": {"available": True}, "hosts": None}]
    assert nova_demo.get("/os-availability-zone/detail").status_code == 403
    detail = nova.get("/os-availability-zone/detail").json()["availabilityZoneInfo"][0]
    assert detail["hosts"]


def test_a_request_waiting_for_the_database_does_not_stall_the_service(cluster, nova):
    body = {"flavor": {"name": "t.locked", "ram": 256, "vcpus": 1, "disk": 1, "id": "locked"}}
    created = answers_while_database_locked(cluster, "compute", "compute.sqlite",
                                            lambda: nova.post("/flavors", json=body))
    assert created.status_code == 200, created.text
    assert nova.delete("/flavors/locked").status_code == 202


@pytest.mark.parametrize("bad_id", ["nul\x00byte", "bell\x07", "a b", "x?y#z", "0" * 37])
def test_ids_unfit_for_a_url_are_400(nova, image_id, bad_id):
    """imageRef and volumeId go into the image and volume services' URLs: anything but a UUID is Nova's 400."""
    body = {"name": "x", "flavorRef": "1", "imageRef": bad_id, "networks": "none"}
    resp = nova.post("/servers", json={"server": body})
    assert resp.status_code == 400 and "badRequest" in resp.json(), resp.text
    sid = _active(nova, image_id, "url-ids")
    resp = nova.post(f"/servers/{sid}/os-volume_attachments", json={"volumeAttachment": {"volumeId": bad_id}})
    assert resp.status_code == 400 and "badRequest" in resp.json(), resp.text
    assert nova.delete(f"/servers/{sid}").status_code == 204
