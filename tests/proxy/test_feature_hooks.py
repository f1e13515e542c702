"""The controller's calls into the feature layers: large objects, copy of manifests, tempurl, CORS, bulk."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from urllib.parse import quote

import httpx


def test_dlo_get_and_copy_resolves(http, container):
    parts = [b"a" * 10, b"b" * 20, b"c" * 5]
    for i, part in enumerate(parts):
        assert http.put(f"{container}/seg/{i:08d}", content=part).status_code == 201
    assert http.put(f"{container}/big", content=b"", headers={"X-Object-Manifest": f"{container}/seg/"}
                    ).status_code == 201
    data = b"".join(parts)
    r = http.get(f"{container}/big")
    assert r.content == data and r.headers["X-Object-Manifest"] == f"{container}/seg/"
    r = http.get(f"{container}/big", headers={"Range": "bytes=5-14"})
    assert r.status_code == 206 and r.content == data[5:15]
    # a copy of a manifest is a plain object holding the concatenated data
    r = http.request("COPY", f"{container}/big", headers={"Destination": f"/{container}/flat"})
    assert r.status_code == 201
    r = http.get(f"{container}/flat")
    assert r.content == data and "X-Object-Manifest" not in r.headers
    assert r.headers["Etag"] == hashlib.md5(data).hexdigest()
    # ... unless the manifest itself is asked for
    r = http.put(f"{container}/manifest-copy", params={"multipart-manifest": "get"},
                 headers={"X-Copy-From": f"/{container}/big"})
    assert r.status_code == 201
    r = http.get(f"{container}/manifest-copy")
    assert r.content == data and r.headers["X-Object-Manifest"] == f"{container}/seg/"
    r = http.get(f"{container}/big", params={"multipart-manifest": "get"})
    assert r.content == b"" and r.headers["X-Object-Manifest"] == f"{container}/seg/"


def test_slo_put_get_delete(http, container):
    segs = [b"x" * 100, b"y" * 50]
    manifest = []
    for i, seg in enumerate(segs):
        r = http.put(f"{container}/s/{i}", content=seg)
        manifest.append({"path": f"/{container}/s/{i}", "etag": r.headers["Etag"], "size_bytes": len(seg)})
    r = http.put(f"{container}/slo", params={"multipart-manifest": "put"}, content=json.dumps(manifest))
    assert r.status_code == 201
    r = http.get(f"{container}/slo")
    assert r.content == b"".join(segs) and r.headers["X-Static-Large-Object"].lower() == "true"
    data = b"".join(segs)
    r = http.get(f"{container}/slo", headers={"Range": "bytes=90-120"})
    assert r.status_code == 206 and r.content == data[90:121]
    assert r.headers["Content-Range"] == "bytes 90-120/150"
    r = http.get(f"{container}/slo", headers={"Range": "bytes=0-1,-2"})
    assert r.status_code == 206 and r.headers["Content-Type"].startswith("multipart/byteranges")
    assert http.get(f"{container}/slo", headers={"Range": "bytes=500-"}).status_code == 416
    etag = http.head(f"{container}/slo").headers["Etag"]
    assert http.get(f"{container}/slo", headers={"If-None-Match": etag}).status_code == 304
    r = http.get(f"{container}/slo", params={"multipart-manifest": "get"})
    assert [row["name"] for row in r.json()] == [f"/{container}/s/0", f"/{container}/s/1"]
    r = http.delete(f"{container}/slo", params={"multipart-manifest": "delete"},
                    headers={"Accept": "application/json"})
    assert r.status_code == 200 and r.json()["Number Deleted"] == 3
    assert http.get(f"{container}/slo").status_code == 404


def _tempurl(key: str, method: str, path: str, expires: int) -> str:
    sig = hmac.new(key.encode(), f"{method}\n{expires}\n{path}".encode(), hashlib.sha256).hexdigest()
    return f"{quote(path)}?temp_url_sig={sig}&temp_url_expires={expires}"


def test_tempurl_through_the_router(cluster, http, anon, container):
    http.put(f"{container}/t", content=b"temp", headers={"X-Object-Meta-Secret": "s"})
    http.post(container, headers={"X-Container-Meta-Temp-URL-Key": "ckey"})
    path = f"/v1/AUTH_test/{container}/t"
    expires = int(time.time()) + 60
    r = anon.get(_tempurl("ckey", "GET", path, expires))
    assert r.status_code == 200 and r.content == b"temp"
    assert "X-Object-Meta-Secret" not in r.headers  # outgoing metadata is hidden
    assert anon.head(_tempurl("ckey", "GET", path, expires)).status_code == 200
    assert anon.get(_tempurl("wrong", "GET", path, expires)).status_code == 401
    assert anon.delete(_tempurl("ckey", "GET", path, expires)).status_code == 401
    assert anon.get(_tempurl("ckey", "GET", path, int(time.time()) - 1)).status_code == 401
    r = anon.put(_tempurl("ckey", "PUT", f"/v1/AUTH_test/{container}/up", expires), content=b"up")
    assert r.status_code == 201 and http.get(f"{container}/up").content == b"up"


def test_cors(http, anon, container):
    http.put(f"{container}/c", content=b"cors", headers={"X-Object-Meta-Color": "red"})
    http.post(container, headers={"X-Container-Read": ".r:*",
                                  "X-Container-Meta-Access-Control-Allow-Origin": "http://ok.example"})
    path = f"/v1/AUTH_test/{container}/c"
    r = anon.options(path, headers={"Origin": "http://ok.example", "Access-Control-Request-Method": "GET"})
    assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == "http://ok.example"
    assert "X-Trans-Id" in r.headers
    r = anon.options(path, headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"})
    assert r.status_code == 401
    r = anon.get(path, headers={"Origin": "http://ok.example"})
    assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == "http://ok.example"
    assert "x-object-meta-color" in r.headers["Access-Control-Expose-Headers"].lower()
    r = anon.get(path, headers={"Origin": "http://evil.example"})
    assert r.status_code == 200 and "Access-Control-Allow-Origin" not in r.headers


def test_bulk_delete_hook(http, container):
    for i in range(3):
        http.put(f"{container}/b{i}", content=b"x")
    body = "\n".join(f"/{container}/b{i}" for i in range(3)) + f"\n/{container}\n"
    for method in ("POST", "DELETE"):
        r = http.request(method, "", params={"bulk-delete": ""}, content=body,
                         headers={"Accept": "application/json", "Content-Type": "text/plain"})
        assert r.status_code == 200
        if method == "POST":
            assert r.json()["Number Deleted"] == 4
    assert http.head(container).status_code == 404


def test_bulk_delete_needs_rights(cluster, http, container):
    http.put(f"{container}/keep", content=b"x")
    _, token3 = cluster.auth("test:tester3", "testing3")
    r = httpx.post(cluster.proxy_url + "/v1/AUTH_test", params={"bulk-delete": ""},
                   content=f"/{container}/keep\n", headers={"X-Auth-Token": token3, "Accept": "application/json"})
    assert r.status_code in (200, 401, 403)
    if r.status_code == 200:
        assert r.json()["Number Deleted"] == 0
    assert http.get(f"{container}/keep").status_code == 200
