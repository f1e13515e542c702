"""Issue 12, attack 3, played against a real cloud: a Keystone ``reader`` tries to create, delete and
attach volumes, delete images and act on servers (403 with each service's own body, nothing changes);
a project admin stays within its project; the cloud admin sees every project; members write."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.compute.cloud import clouds, openstack_json, password_token, url, wait_for
from tests.conftest import require_tool
from tests.security.test_rbac_identity import _system_token


def _client(cluster, service: str, token: str, prefix: str = "", **headers: str) -> httpx.Client:
    return httpx.Client(base_url=url(cluster, service) + prefix, timeout=120,
                        headers={"X-Auth-Token": token, **headers})


@pytest.fixture(scope="module")
def cloud(cluster):
    """Project P with a member and a reader; the member's volume, image and (ACTIVE) server in it."""
    sfx = uuid.uuid4().hex[:6]
    system_token = _system_token(cluster, "admin", clouds(cluster)["stackstore-system"]["auth"]["password"])
    ks = _client(cluster, "identity", system_token, "/v3")
    roles = {r["name"]: r["id"] for r in ks.get("/roles").json()["roles"]}
    pid = ks.post("/projects", json={"project": {"name": f"svc-{sfx}", "domain_id": "default"}}).json()["project"]["id"]
    tokens = {}
    for persona in ("member", "reader"):
        name = f"svc-{persona}-{sfx}"
        uid = ks.post("/users", json={"user": {"name": name, "password": "pw"}}).json()["user"]["id"]
        assert ks.put(f"/projects/{pid}/users/{uid}/roles/{roles[persona]}").status_code == 204
        tokens[persona] = password_token(cluster, name, "pw", f"svc-{sfx}")
    tokens["system"] = system_token
    tokens["tester"] = password_token(cluster, "tester", "testing", "test")
    nova_v = {"OpenStack-API-Version": "compute 2.89"}
    member = {"cinder": _client(cluster, "volumes", tokens["member"], f"/v3/{pid}"),
              "glance": _client(cluster, "images", tokens["member"], "/v2"),
              "nova": _client(cluster, "compute", tokens["member"], "/v2.1", **nova_v)}
    vol = member["cinder"].post("/volumes", json={"volume": {"size": 1, "name": "mine"}})
    assert vol.status_code == 202, vol.text
    vid = vol.json()["volume"]["id"]
    wait_for(lambda: member["cinder"].get(f"/volumes/{vid}").json()["volume"]["status"] == "available", 60)
    img = member["glance"].post("/images", json={"name": "mine", "disk_format": "raw", "container_format": "bare"})
    assert img.status_code == 201, img.text
    iid = img.json()["id"]
    assert member["glance"].put(f"/images/{iid}/file", content=b"\0" * 4096,
                                headers={"Content-Type": "application/octet-stream"}).status_code == 204
    srv = member["nova"].post("/servers", json={"server": {"name": "mine", "flavorRef": "1", "imageRef": iid,
                                                           "networks": "none"}})
    assert srv.status_code == 202, srv.text
    sid = srv.json()["server"]["id"]
    wait_for(lambda: member["nova"].get(f"/servers/{sid}").json()["server"]["status"] == "ACTIVE", 60)
    reader = {"cinder": _client(cluster, "volumes", tokens["reader"], f"/v3/{pid}"),
              "glance": _client(cluster, "images", tokens["reader"], "/v2"),
              "nova": _client(cluster, "compute", tokens["reader"], "/v2.1", **nova_v)}
    yield {"pid": pid, "vid": vid, "iid": iid, "sid": sid, "member": member, "reader": reader, "tokens": tokens,
           "nova_v": nova_v}
    member["nova"].delete(f"/servers/{sid}")


def _forbidden(resp: httpx.Response, fault: str | None = "forbidden") -> None:
    assert resp.status_code == 403, (resp.status_code, resp.text)
    body = resp.json()
    assert (body[fault]["code"] if fault else body["code"]) == 403, body


def test_reader_cannot_touch_volumes(cloud):
    cinder, vid = cloud["reader"]["cinder"], cloud["vid"]
    _forbidden(cinder.post("/volumes", json={"volume": {"size": 1}}))
    _forbidden(cinder.delete(f"/volumes/{vid}"))
    _forbidden(cinder.put(f"/volumes/{vid}", json={"volume": {"name": "renamed"}}))
    for action in ({"os-reserve": None}, {"os-attach": {"instance_uuid": cloud["sid"], "mountpoint": "/dev/vdb"}},
                   {"os-extend": {"new_size": 2}}, {"os-force_delete": None}):
        _forbidden(cinder.post(f"/volumes/{vid}/action", json=action))
    _forbidden(cinder.post("/attachments", json={"attachment": {"volume_uuid": vid, "instance_uuid": cloud["sid"]}},
                           headers={"OpenStack-API-Version": "volume 3.44"}))
    _forbidden(cinder.post("/snapshots", json={"snapshot": {"volume_id": vid}}))
    _forbidden(cinder.post("/backups", json={"backup": {"volume_id": vid}}))
    shown = cinder.get(f"/volumes/{vid}")  # reading is fine, and nothing changed
    assert shown.status_code == 200
    vol = shown.json()["volume"]
    assert (vol["status"], vol["name"], vol["size"]) == ("available", "mine", 1)
    assert vid in {v["id"] for v in cinder.get("/volumes").json()["volumes"]}


def test_reader_cannot_delete_images(cloud):
    glance, iid = cloud["reader"]["glance"], cloud["iid"]
    _forbidden(glance.delete(f"/images/{iid}"), fault=None)
    _forbidden(glance.patch(f"/images/{iid}", json=[{"op": "replace", "path": "/name", "value": "x"}],
                            headers={"Content-Type": "application/openstack-images-v2.1-json-patch"}), fault=None)
    _forbidden(glance.post("/images", json={"name": "x", "disk_format": "raw", "container_format": "bare"}),
               fault=None)
    _forbidden(glance.put(f"/images/{iid}/tags/evil"), fault=None)
    img = glance.get(f"/images/{iid}")
    assert img.status_code == 200 and (img.json()["name"], img.json()["status"]) == ("mine", "active")
    assert glance.get(f"/images/{iid}/file").status_code == 200


def test_reader_cannot_act_on_servers(cloud):
    nova, sid = cloud["reader"]["nova"], cloud["sid"]
    _forbidden(nova.post("/servers", json={"server": {"name": "x", "flavorRef": "1", "imageRef": cloud["iid"],
                                                      "networks": "none"}}))
    for action in ({"os-stop": None}, {"reboot": {"type": "HARD"}}):
        _forbidden(nova.post(f"/servers/{sid}/action", json=action))
    _forbidden(nova.delete(f"/servers/{sid}"))
    _forbidden(nova.put(f"/servers/{sid}", json={"server": {"name": "renamed"}}))
    _forbidden(nova.post(f"/servers/{sid}/os-volume_attachments", json={"volumeAttachment": {
        "volumeId": cloud["vid"]}}))
    srv = nova.get(f"/servers/{sid}").json()["server"]
    assert (srv["status"], srv["name"]) == ("ACTIVE", "mine")
    assert sid in {s["id"] for s in nova.get("/servers").json()["servers"]}


def test_project_admin_stays_in_its_project(cluster, cloud):
    """test:tester is admin of project test: no other project's resources, no cloud-admin actions."""
    token = cloud["tokens"]["tester"]
    cinder = _client(cluster, "volumes", token, "/v3/test")
    listed = cinder.get("/volumes/detail?all_tenants=1").json()["volumes"]
    assert cloud["vid"] not in {v["id"] for v in listed}
    assert _client(cluster, "volumes", token, f"/v3/{cloud['pid']}").get("/volumes").status_code == 400
    assert cinder.get(f"/volumes/{cloud['vid']}").status_code == 404
    _forbidden(cinder.post("/types", json={"volume_type": {"name": "evil"}}))
    _forbidden(cinder.put(f"/os-quota-sets/{cloud['pid']}", json={"quota_set": {"volumes": 0}}))
    nova = _client(cluster, "compute", token, "/v2.1", **cloud["nova_v"])
    assert cloud["sid"] not in {s["id"] for s in nova.get("/servers/detail?all_tenants=1").json()["servers"]}
    assert nova.get(f"/servers/{cloud['sid']}").status_code == 404
    _forbidden(nova.post("/flavors", json={"flavor": {"name": "evil", "ram": 1, "vcpus": 1, "disk": 1}}))
    glance = _client(cluster, "images", token, "/v2")
    assert glance.delete(f"/images/{cloud['iid']}").status_code == 404  # not even visible
    assert cloud["member"]["glance"].get(f"/images/{cloud['iid']}").status_code == 200
    made = glance.post("/images", json={"name": "t", "disk_format": "raw", "container_format": "bare"}).json()
    _forbidden(glance.patch(f"/images/{made['id']}", json=[{"op": "replace", "path": "/visibility",
                                                            "value": "public"}],
                            headers={"Content-Type": "application/openstack-images-v2.1-json-patch"}), fault=None)
    assert glance.delete(f"/images/{made['id']}").status_code == 204


def test_member_writes_but_no_admin_actions(cloud):
    cinder = cloud["member"]["cinder"]
    _forbidden(cinder.post(f"/volumes/{cloud['vid']}/action", json={"os-reset_status": {"status": "error"}}))
    assert cinder.put(f"/volumes/{cloud['vid']}", json={"volume": {"description": "ok"}}).status_code == 200
    assert cloud["member"]["nova"].put(f"/servers/{cloud['sid']}", json={"server": {"name": "mine"}}
                                       ).status_code == 200


def test_cloud_admin_sees_every_project(cluster, cloud):
    system = cloud["tokens"]["system"]
    vols = _client(cluster, "volumes", system, "/v3").get("/volumes/detail?all_tenants=1")
    assert vols.status_code == 200 and cloud["vid"] in {v["id"] for v in vols.json()["volumes"]}
    nova = _client(cluster, "compute", system, "/v2.1", **cloud["nova_v"])
    servers = nova.get("/servers/detail?all_tenants=1")
    assert servers.status_code == 200 and cloud["sid"] in {s["id"] for s in servers.json()["servers"]}
    require_tool("openstack")
    listed = openstack_json(cluster, "volume", "list", "--all-projects", cloud="stackstore-admin")
    assert cloud["vid"] in {v["ID"] for v in listed}
    listed = openstack_json(cluster, "volume", "list", "--all-projects", cloud="stackstore-system")
    assert cloud["vid"] in {v["ID"] for v in listed}  # the catalog gives system tokens Cinder's endpoint


def test_reader_reads_swift_but_does_not_write(cluster, cloud):
    account = f"{cluster.proxy_url}/v1/AUTH_{cloud['pid']}"
    member = {"X-Auth-Token": cloud["tokens"]["member"]}
    reader = {"X-Auth-Token": cloud["tokens"]["reader"]}
    assert httpx.put(f"{account}/c", headers=member).status_code in (201, 202)
    assert httpx.put(f"{account}/c/o", headers=member, content=b"data").status_code == 201
    assert httpx.get(f"{account}/c/o", headers=reader).content == b"data"
    assert httpx.put(f"{account}/c/o", headers=reader, content=b"evil").status_code == 403
    assert httpx.delete(f"{account}/c/o", headers=reader).status_code == 403
    assert httpx.get(f"{account}/c/o", headers=member).content == b"data"
