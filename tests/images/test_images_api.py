"""Glance v2 subset over HTTP with identity tokens: records, data in the object store, visibility, patch."""

from __future__ import annotations

import hashlib
import os

import httpx

from tests.compute.cloud import answers_while_database_locked, url

PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
OCTETS = {"Content-Type": "application/octet-stream"}


def _create(client: httpx.Client, **body) -> dict:
    resp = client.post("/v2/images", json={"disk_format": "raw", "container_format": "bare", **body})
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_discovery_and_auth(cluster):
    base = url(cluster, "images")
    resp = httpx.get(base + "/")
    assert resp.status_code == 300
    current = [v for v in resp.json()["versions"] if v["status"] == "CURRENT"]
    assert current[0]["links"][0]["href"] == f"{base}/v2/"
    assert httpx.get(base + "/v2/images").status_code == 401
    assert httpx.get(base + "/v2/images", headers={"X-Auth-Token": "garbage"}).status_code == 401


def test_upload_download_checksums(glance):
    data = os.urandom(3 * 1024 * 1024 + 17)
    img = _create(glance, name="blob", tags=["t1"], foo="bar")
    assert img["status"] == "queued" and img["visibility"] == "shared" and img["foo"] == "bar"
    assert glance.get(f"/v2/images/{img['id']}/file").status_code == 204  # no data yet
    resp = glance.put(f"/v2/images/{img['id']}/file", content=data, headers=OCTETS)
    assert resp.status_code == 204, resp.text
    shown = glance.get(f"/v2/images/{img['id']}").json()
    assert shown["status"] == "active" and shown["size"] == len(data)
    assert shown["checksum"] == hashlib.md5(data).hexdigest()
    assert shown["os_hash_algo"] == "sha512" and shown["os_hash_value"] == hashlib.sha512(data).hexdigest()
    resp = glance.get(f"/v2/images/{img['id']}/file")
    assert resp.status_code == 200 and resp.content == data
    assert resp.headers["Content-MD5"] == shown["checksum"]
    resp = glance.get(f"/v2/images/{img['id']}/file", headers={"Range": "bytes=10-19"})
    assert resp.status_code == 206 and resp.content == data[10:20]
    again = glance.put(f"/v2/images/{img['id']}/file", content=b"x", headers=OCTETS)
    assert again.status_code == 409
    assert glance.delete(f"/v2/images/{img['id']}").status_code == 204
    assert glance.get(f"/v2/images/{img['id']}").status_code == 404
    assert glance.get(f"/v2/images/{img['id']}/file").status_code == 404


def test_chunked_streamed_upload(glance):
    img = _create(glance, name="chunked")
    md5 = hashlib.md5()

    def body():
        for i in range(40):  # 10 MiB, no Content-Length
            chunk = bytes([i]) * (256 * 1024)
            md5.update(chunk)
            yield chunk

    resp = glance.put(f"/v2/images/{img['id']}/file", content=body(), headers=OCTETS)
    assert resp.status_code == 204, resp.text
    shown = glance.get(f"/v2/images/{img['id']}").json()
    assert shown["size"] == 10 * 1024 * 1024 and shown["checksum"] == md5.hexdigest()
    got = hashlib.md5()
    with glance.stream("GET", f"/v2/images/{img['id']}/file") as resp:
        for chunk in resp.iter_bytes():
            got.update(chunk)
    assert got.hexdigest() == md5.hexdigest()
    glance.delete(f"/v2/images/{img['id']}")


def test_upload_rules(glance):
    bare = glance.post("/v2/images", json={"name": "noformat"}).json()
    resp = glance.put(f"/v2/images/{bare['id']}/file", content=b"abc", headers=OCTETS)
    assert resp.status_code == 400
    assert glance.get(f"/v2/images/{bare['id']}").json()["status"] == "queued"
    resp = glance.put(f"/v2/images/{bare['id']}/file", content=b"abc", headers={"Content-Type": "text/plain"})
    assert resp.status_code == 415
    prot = _create(glance, name="protected", protected=True)
    assert glance.delete(f"/v2/images/{prot['id']}").status_code == 403
    ok = glance.patch(f"/v2/images/{prot['id']}", headers=PATCH,
                      json=[{"op": "replace", "path": "/protected", "value": False}])
    assert ok.status_code == 200 and ok.json()["protected"] is False
    for img in (bare, prot):
        assert glance.delete(f"/v2/images/{img['id']}").status_code == 204


def test_bad_input(glance):
    assert glance.post("/v2/images", content=b"{nope", headers={"Content-Type": "application/json"}).status_code == 400
    assert glance.post("/v2/images", json=["x"]).status_code == 400
    assert glance.post("/v2/images", json={"disk_format": "floppy"}).status_code == 400
    assert glance.post("/v2/images", json={"status": "active"}).status_code == 403
    assert glance.post("/v2/images", json={"id": "not-a-uuid"}).status_code == 400
    assert glance.post("/v2/images", json={"min_ram": -1}).status_code == 400
    assert glance.post("/v2/images", json={"prop": 5}).status_code == 400
    assert glance.get("/v2/images/not-a-uuid").status_code == 404
    assert glance.get("/v2/images?limit=abc").status_code == 400
    assert glance.get("/v2/images?sort_key=bogus").status_code == 400
    assert glance.get("/v2/images/" + "x" * 5000).status_code == 404


def test_json_patch(glance):
    img = _create(glance, name="patchme", color="red")
    path = f"/v2/images/{img['id']}"
    ops = [{"op": "replace", "path": "/name", "value": "patched"},
           {"op": "add", "path": "/size_hint", "value": "big"},
           {"op": "remove", "path": "/color"},
           {"op": "replace", "path": "/tags", "value": ["a", "b"]},
           {"op": "replace", "path": "/min_disk", "value": 2}]
    resp = glance.patch(path, json=ops, headers=PATCH)
    assert resp.status_code == 200, resp.text
    doc = resp.json()
    assert doc["name"] == "patched" and doc["size_hint"] == "big" and "color" not in doc
    assert doc["tags"] == ["a", "b"] and doc["min_disk"] == 2
    assert glance.patch(path, json=[{"op": "replace", "path": "/status", "value": "active"}],
                        headers=PATCH).status_code == 403
    assert glance.patch(path, json=[{"op": "remove", "path": "/nothere"}], headers=PATCH).status_code == 409
    assert glance.patch(path, json=[{"op": "move", "path": "/name"}], headers=PATCH).status_code == 400
    assert glance.patch(path, json={"op": "add"}, headers=PATCH).status_code == 400
    assert glance.patch(path, json=[{"op": "replace", "path": "/name", "value": "x"}]).status_code == 415
    assert glance.put(f"{path}/tags/c").status_code == 204
    assert glance.get(path).json()["tags"] == ["a", "b", "c"]
    assert glance.delete(f"{path}/tags/a").status_code == 204
    assert glance.delete(path).status_code == 204


def test_visibility(glance, glance_demo):
    private = _create(glance, name="admin-private", visibility="private")
    assert glance_demo.get(f"/v2/images/{private['id']}").status_code == 404
    assert glance_demo.delete(f"/v2/images/{private['id']}").status_code == 404
    assert private["id"] not in [i["id"] for i in glance_demo.get("/v2/images").json()["images"]]
    assert glance_demo.post("/v2/images", json={"name": "x", "visibility": "public"}).status_code == 403
    public = _create(glance, name="admin-public", visibility="public")
    glance.put(f"/v2/images/{public['id']}/file", content=b"public bytes", headers=OCTETS)
    assert glance_demo.get(f"/v2/images/{public['id']}").json()["visibility"] == "public"
    assert glance_demo.get(f"/v2/images/{public['id']}/file").content == b"public bytes"
    assert public["id"] in [i["id"] for i in glance_demo.get("/v2/images?limit=1000").json()["images"]]
    assert glance_demo.patch(f"/v2/images/{public['id']}", headers=PATCH,
                             json=[{"op": "replace", "path": "/name", "value": "mine"}]).status_code == 403
    assert glance_demo.delete(f"/v2/images/{public['id']}").status_code == 403
    own = glance_demo.post("/v2/images", json={"name": "demo-own"}).json()
    assert own["owner"] != private["owner"]
    for client, img in ((glance, private), (glance, public), (glance_demo, own)):
        assert client.delete(f"/v2/images/{img['id']}").status_code == 204


def test_list_filters_and_pages(glance):
    ids = [_create(glance, name=f"page-{i}", tags=["paging"])["id"] for i in range(5)]
    named = glance.get("/v2/images", params={"name": "page-3"}).json()["images"]
    assert [i["id"] for i in named] == [ids[3]]
    some = glance.get("/v2/images", params={"id": f"in:{ids[0]},{ids[2]}"}).json()["images"]
    assert sorted(i["id"] for i in some) == sorted([ids[0], ids[2]])
    seen, path = [], "/v2/images?tag=paging&limit=2&sort=name:asc"
    while path:
        doc = glance.get(path).json()
        assert len(doc["images"]) <= 2
        seen += [i["name"] for i in doc["images"]]
        path = doc.get("next")
    assert seen == [f"page-{i}" for i in range(5)]
    assert glance.get("/v2/images?marker=00000000-0000-0000-0000-000000000000").status_code == 400
    for image_id in ids:
        glance.delete(f"/v2/images/{image_id}")


def test_a_request_waiting_for_the_database_does_not_stall_the_service(cluster, glance):
    created = answers_while_database_locked(cluster, "images", "images.sqlite",
                                            lambda: glance.post("/v2/images", json={"name": "locked"}))
    assert created.status_code == 201, created.text
    assert glance.delete(f"/v2/images/{created.json()['id']}").status_code == 204
