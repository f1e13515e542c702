"""The Cinder v3 API over HTTP: discovery, microversions, volumes, snapshots, types, quotas, errors."""

from __future__ import annotations

import httpx


def test_discovery_and_microversions(admin):
    root = httpx.get(admin.root + "/")
    assert root.status_code == 300
    entry = root.json()["versions"][0]
    assert entry["id"] == "v3.0" and entry["version"] == "3.71" and entry["min_version"] == "3.0"
    assert entry["links"][1]["href"] == admin.root + "/v3/"
    assert httpx.get(admin.root + "/v3/").status_code == 200
    resp = admin.get("/volumes")
    assert resp.headers["OpenStack-API-Version"] == "volume 3.71"
    assert "OpenStack-API-Version" in resp.headers["Vary"]
    too_new = admin.get("/volumes", headers={"OpenStack-API-Version": "volume 3.99"})
    assert too_new.status_code == 406
    assert admin.get("/volumes", headers={"OpenStack-API-Version": "volume latest"}).headers[
        "OpenStack-API-Version"] == "volume 3.71"


def test_auth_required(admin):
    resp = httpx.get(f"{admin.root}/v3/{admin.project_id}/volumes")
    assert resp.status_code == 401 and "unauthorized" in resp.json()
    bad = httpx.get(f"{admin.root}/v3/{admin.project_id}/volumes", headers={"X-Auth-Token": "nope"})
    assert bad.status_code == 401


def test_volume_lifecycle(demo):
    vol = demo.create_volume(1, name="life", description="d", metadata={"a": "1"})
    assert vol["status"] == "available" and vol["bootable"] == "false" and vol["availability_zone"] == "nova"
    assert vol["volume_type"] == "__DEFAULT__" and vol["volume_type_id"] and vol["metadata"] == {"a": "1"}
    upd = demo.put(f"/volumes/{vol['id']}", json={"volume": {"name": "life2", "metadata": {"b": "2"}}})
    assert upd.status_code == 200 and upd.json()["volume"]["name"] == "life2"
    assert upd.json()["volume"]["metadata"] == {"b": "2"}
    assert demo.post(f"/volumes/{vol['id']}/metadata", json={"metadata": {"c": "3"}}).json()["metadata"] == {
        "b": "2", "c": "3"}
    found = demo.get("/volumes/detail", params={"name": "life2"}).json()["volumes"]
    assert [v["id"] for v in found] == [vol["id"]]
    assert demo.get("/volumes/detail", params={"metadata": '{"c": "3"}'}).json()["volumes"][0]["id"] == vol["id"]
    assert demo.get("/volumes/not-a-volume").status_code == 404
    assert demo.get("/volumes/not-a-volume").json()["itemNotFound"]["code"] == 404
    demo.delete_volume(vol["id"])


def test_paging_and_count(demo):
    ids = [demo.create_volume(1, name=f"page{i}", wait=False)["id"] for i in range(3)]
    for i in ids:
        demo.wait("volume", i, "available")
    first = demo.get("/volumes", params={"limit": 2, "sort": "name:asc", "name~": "page"}).json()
    assert [v["name"] for v in first["volumes"]] == ["page0", "page1"]
    assert "marker=" in first["volumes_links"][0]["href"]
    rest = demo.get("/volumes", params={"limit": 2, "sort": "name:asc", "name~": "page",
                                        "marker": first["volumes"][-1]["id"]}).json()
    assert [v["name"] for v in rest["volumes"]] == ["page2"]
    counted = demo.get("/volumes/detail", params={"with_count": "true", "name~": "page"}).json()
    assert counted["count"] == 3
    assert demo.get("/volumes", params={"marker": "nope"}).status_code == 400
    for i in ids:
        demo.delete_volume(i)


def test_snapshots_clones_and_state_rules(demo):
    vol = demo.create_volume(1, name="src")
    snap = demo.post("/snapshots", json={"snapshot": {"volume_id": vol["id"], "name": "s1", "force": False}})
    assert snap.status_code == 202 and snap.json()["snapshot"]["status"] == "creating"
    sid = snap.json()["snapshot"]["id"]
    assert demo.wait("snapshot", sid, "available")["size"] == 1
    # a volume with snapshots cannot be deleted
    refused = demo.delete(f"/volumes/{vol['id']}")
    assert refused.status_code == 400 and refused.json()["badRequest"]["message"].startswith("Invalid volume")
    from_snap = demo.create_volume(2, snapshot_id=sid)
    assert from_snap["status"] == "available" and from_snap["snapshot_id"] == sid and from_snap["size"] == 2
    too_small = demo.post("/volumes", json={"volume": {"size": 1, "source_volid": from_snap["id"]}})
    assert too_small.status_code == 400
    clone = demo.create_volume(None, source_volid=vol["id"])
    assert clone["source_volid"] == vol["id"] and clone["size"] == 1
    # extend: only to a larger size
    assert demo.post(f"/volumes/{vol['id']}/action", json={"os-extend": {"new_size": 1}}).status_code == 400
    assert demo.post(f"/volumes/{vol['id']}/action", json={"os-extend": {"new_size": 3}}).status_code == 202
    assert demo.wait("volume", vol["id"], "available")["size"] == 3
    assert demo.post(f"/volumes/{vol['id']}/action", json={"os-bogus": {}}).status_code == 400
    assert demo.delete(f"/snapshots/{sid}").status_code == 202
    demo.wait("snapshot", sid, "gone")
    for v in (vol, from_snap, clone):
        demo.delete_volume(v["id"])


def test_cascade_delete(demo):
    vol = demo.create_volume(1)
    sid = demo.post("/snapshots", json={"snapshot": {"volume_id": vol["id"]}}).json()["snapshot"]["id"]
    demo.wait("snapshot", sid, "available")
    assert demo.delete(f"/volumes/{vol['id']}", params={"cascade": "true"}).status_code == 202
    demo.wait("volume", vol["id"], "gone")
    assert demo.get(f"/snapshots/{sid}").status_code == 404


def test_types_map_to_backends(admin, demo):
    name = "no-such-backend-type"
    created = admin.post("/types", json={"volume_type": {"name": name, "extra_specs": {
        "volume_backend_name": "nowhere"}}})
    assert created.status_code == 200
    tid = created.json()["volume_type"]["id"]
    assert demo.post("/types", json={"volume_type": {"name": "x"}}).status_code == 403
    names = [t["name"] for t in demo.get("/types").json()["volume_types"]]
    assert "__DEFAULT__" in names and name in names
    assert demo.get("/types/default").json()["volume_type"]["name"] == "__DEFAULT__"
    vol = demo.create_volume(1, volume_type=name)
    assert vol["status"] == "error" and vol["volume_type"] == name
    assert admin.delete(f"/types/{tid}").status_code == 400  # still in use
    demo.delete_volume(vol["id"])
    assert admin.delete(f"/types/{tid}").status_code == 202


def test_quotas_and_limits(admin, demo):
    limits = demo.get("/limits").json()["limits"]["absolute"]
    assert {"maxTotalVolumes", "totalVolumesUsed", "maxTotalBackupGigabytes"} <= set(limits)
    assert admin.put(f"/os-quota-sets/{demo.project_id}", json={"quota_set": {"gigabytes": 5}}).status_code == 200
    try:
        over = demo.post("/volumes", json={"volume": {"size": 6}})
        assert over.status_code == 413 and "overLimit" in over.json()
        usage = demo.get(f"/os-quota-sets/{demo.project_id}", params={"usage": "True"}).json()["quota_set"]
        assert usage["gigabytes"]["limit"] == 5
        assert demo.put(f"/os-quota-sets/{demo.project_id}", json={"quota_set": {"volumes": 1}}).status_code == 403
    finally:
        admin.put(f"/os-quota-sets/{demo.project_id}", json={"quota_set": {"gigabytes": 1000}})


def test_projects_are_isolated(admin, demo):
    vol = demo.create_volume(1)
    assert admin.get(f"/volumes/{vol['id']}").status_code == 200  # admin sees every project
    assert vol["id"] not in [v["id"] for v in admin.get("/volumes").json()["volumes"]]
    assert vol["id"] in [v["id"] for v in admin.get("/volumes", params={"all_tenants": 1}).json()["volumes"]]
    other = httpx.get(f"{demo.root}/v3/{admin.project_id}/volumes", headers={"X-Auth-Token": demo.token})
    assert other.status_code == 400
    assert demo.post(f"/volumes/{vol['id']}/action", json={"os-force_delete": {}}).status_code == 403
    assert demo.post(f"/volumes/{vol['id']}/action", json={"os-reset_status": {"status": "error"}}).status_code == 403
    assert admin.post(f"/volumes/{vol['id']}/action", json={"os-force_delete": {}}).status_code == 202
    demo.wait("volume", vol["id"], "gone")


def test_malformed_input(demo):
    assert demo.post("/volumes", content=b"{not json").status_code == 400
    assert demo.post("/volumes", json={"volume": {"size": -1}}).status_code == 400
    assert demo.post("/volumes", json={"volume": {"size": "abc"}}).status_code == 400
    assert demo.post("/volumes", json={"nope": 1}).status_code == 400
    assert demo.post("/volumes", json={"volume": {"size": 1, "availability_zone": "mars"}}).status_code == 400
    assert demo.get("/volumes", params={"sort": "evil:asc"}).status_code == 400
    assert demo.get("/nothing-here").status_code == 404
