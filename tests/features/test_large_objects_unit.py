"""SLO/DLO feature logic against an in-memory storage stand-in (no processes)."""

from __future__ import annotations

import hashlib
import json

import pytest
from starlette.testclient import TestClient

from tests.features.fakes import FakeStorage, make_app

A = "AUTH_t"


@pytest.fixture()
def env():
    storage = FakeStorage()
    storage.containers[(A, "c")] = {}
    parts = [bytes([65 + i]) * (10 + i) for i in range(3)]  # 10, 11, 12 bytes
    etags = [storage.put(A, "segs", f"p/{i:02d}", d) for i, d in enumerate(parts)]
    with TestClient(make_app(storage)) as client:
        yield storage, client, parts, etags


def put_manifest(client, name, segments, **headers):
    return client.put(f"/v1/{A}/c/{name}?multipart-manifest=put", content=json.dumps(segments), headers=headers)


def manifest(etags, sizes=(10, 11, 12)):
    return [{"path": f"/segs/p/{i:02d}", "etag": e, "size_bytes": s}
            for i, (e, s) in enumerate(zip(etags, sizes, strict=True))]


def test_slo_put_get_head(env):
    storage, client, parts, etags = env
    resp = put_manifest(client, "big", manifest(etags), **{"X-Object-Meta-Color": "blue"})
    assert resp.status_code == 201, resp.text
    slo_etag = hashlib.md5("".join(etags).encode()).hexdigest()
    assert resp.headers["etag"] == f'"{slo_etag}"'
    data = b"".join(parts)
    got = client.get(f"/v1/{A}/c/big")
    assert got.status_code == 200 and got.content == data
    assert got.headers["etag"] == f'"{slo_etag}"'
    assert got.headers["x-static-large-object"] == "True"
    assert got.headers["x-object-meta-color"] == "blue"
    head = client.head(f"/v1/{A}/c/big")
    assert head.headers["content-length"] == str(len(data))
    stored = json.loads(client.get(f"/v1/{A}/c/big?multipart-manifest=get").content)
    assert [e["name"] for e in stored] == ["/segs/p/00", "/segs/p/01", "/segs/p/02"]
    assert set(stored[0]) >= {"name", "hash", "bytes", "content_type", "last_modified"}
    raw = json.loads(client.get(f"/v1/{A}/c/big?multipart-manifest=get&format=raw").content)
    assert raw[1] == {"path": "/segs/p/01", "etag": etags[1], "size_bytes": 11}


def test_slo_ranges_and_conditionals(env):
    storage, client, parts, etags = env
    put_manifest(client, "big", manifest(etags))
    data = b"".join(parts)
    r = client.get(f"/v1/{A}/c/big", headers={"Range": "bytes=8-22"})
    assert r.status_code == 206 and r.content == data[8:23]
    assert r.headers["content-range"] == f"bytes 8-22/{len(data)}"
    r = client.get(f"/v1/{A}/c/big", headers={"Range": "bytes=-5"})
    assert r.content == data[-5:]
    r = client.get(f"/v1/{A}/c/big", headers={"Range": "bytes=0-1,20-24"})
    assert r.status_code == 206 and r.headers["content-type"].startswith("multipart/byteranges")
    assert data[20:25] in r.content and int(r.headers["content-length"]) == len(r.content)
    r = client.get(f"/v1/{A}/c/big", headers={"Range": "bytes=100-"})
    assert r.status_code == 416 and r.headers["content-range"] == f"bytes */{len(data)}"
    etag = client.head(f"/v1/{A}/c/big").headers["etag"]
    assert client.get(f"/v1/{A}/c/big", headers={"If-None-Match": etag}).status_code == 304
    assert client.get(f"/v1/{A}/c/big", headers={"If-Match": '"nope"'}).status_code == 412


def test_slo_segment_range_and_nested(env):
    storage, client, parts, etags = env
    inner = [{"path": "/segs/p/00", "etag": None, "size_bytes": None, "range": "2-5"},
             {"path": "/segs/p/02", "etag": etags[2], "size_bytes": 12}]
    assert put_manifest(client, "inner", inner).status_code == 201
    outer = [{"path": "/c/inner", "etag": None, "size_bytes": None}, {"path": "/segs/p/01"}]
    r = put_manifest(client, "outer", outer)
    assert r.status_code == 201, r.text
    expected = parts[0][2:6] + parts[2] + parts[1]
    got = client.get(f"/v1/{A}/c/outer")
    assert got.content == expected
    assert client.get(f"/v1/{A}/c/outer", headers={"Range": "bytes=3-17"}).content == expected[3:18]
    stored = json.loads(client.get(f"/v1/{A}/c/outer?multipart-manifest=get").content)
    assert stored[0]["sub_slo"] is True and stored[0]["bytes"] == 16


def test_slo_bad_manifests(env):
    storage, client, parts, etags = env
    bad = manifest(etags)
    bad[1]["etag"] = "0" * 32
    bad[2]["path"] = "/segs/missing"
    r = put_manifest(client, "bad", bad)
    assert r.status_code == 400
    assert "Errors:" in r.text and "/segs/p/01, Etag Mismatch" in r.text and "/segs/missing, 404 Not Found" in r.text
    r = put_manifest(client, "bad", [{"path": "/segs/p/00", "size_bytes": 3}], Accept="application/json")
    assert r.status_code == 400 and r.json()["Errors"] == [["/segs/p/00", "Size Mismatch"]]
    assert put_manifest(client, "bad", []).status_code == 400
    assert client.put(f"/v1/{A}/c/bad?multipart-manifest=put", content=b"{nope").status_code == 400
    assert put_manifest(client, "bad", [{"path": "nocontainer"}]).status_code == 400
    assert put_manifest(client, "bad", [{"path": "/segs/p/00", "extra": 1}]).status_code == 400
    assert put_manifest(client, "bad", [{"path": "/segs/p/00"}] * 1001).status_code == 413
    assert (A, "c", "bad") not in storage.objects


def test_slo_delete(env):
    storage, client, parts, etags = env
    put_manifest(client, "big", manifest(etags))
    r = client.delete(f"/v1/{A}/c/big?multipart-manifest=delete", headers={"Accept": "application/json"})
    assert r.status_code == 200
    assert r.json() == {"Number Deleted": 4, "Number Not Found": 0, "Response Status": "200 OK",
                        "Response Body": "", "Errors": []}
    assert not storage.objects
    r = client.delete(f"/v1/{A}/c/big?multipart-manifest=delete")
    assert r.text.startswith("Number Deleted: 0\nNumber Not Found: 1\n")


def test_dlo(env):
    storage, client, parts, etags = env
    storage.put(A, "c", "dlo", b"", **{"X-Object-Manifest": "segs/p/"})
    data = b"".join(parts)
    r = client.get(f"/v1/{A}/c/dlo")
    assert r.content == data
    dlo_etag = hashlib.md5("".join(etags).encode()).hexdigest()
    assert r.headers["etag"] == f'"{dlo_etag}"'
    assert r.headers["x-object-manifest"] == "segs/p/"
    assert client.head(f"/v1/{A}/c/dlo").headers["content-length"] == str(len(data))
    r = client.get(f"/v1/{A}/c/dlo", headers={"Range": "bytes=9-10"})
    assert r.status_code == 206 and r.content == data[9:11]
