"""Bulk delete, temp URLs and CORS against an in-memory storage stand-in (no processes)."""

from __future__ import annotations

import base64
import hmac
import time
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

from proxy.context import Identity
from proxy.swift.features import tempurl
from tests.features.fakes import FakeStorage, make_app

A = "AUTH_t"
OWNER = Identity(user="t:admin", account=A, groups=[".admin"], is_admin=True)


@pytest.fixture()
def storage():
    s = FakeStorage()
    s.accounts[A] = {"X-Account-Meta-Temp-URL-Key": "acctkey"}
    s.containers[(A, "c")] = {"X-Container-Meta-Temp-URL-Key-2": "contkey",
                              "X-Container-Meta-Access-Control-Allow-Origin": "https://a.example https://b.example",
                              "X-Container-Meta-Access-Control-Max-Age": "600",
                              "X-Container-Meta-Access-Control-Expose-Headers": "X-Custom"}
    s.put(A, "c", "dir/obj", b"hello world", **{"X-Object-Meta-Secret": "s", "X-Object-Meta-Public-Ok": "y"})
    return s


def test_bulk_delete(storage):
    for i in range(30):
        storage.put(A, "b", f"o{i}", b"x")
    storage.put(A, "full", "keep", b"x")
    lines = [quote(f"/b/o{i}") for i in range(30)] + ["/b/missing", "/full", "", "/b"]
    with TestClient(make_app(storage, OWNER)) as client:
        r = client.post(f"/v1/{A}?bulk-delete", content="\n".join(lines),
                        headers={"Accept": "application/json", "Content-Type": "text/plain"})
    assert r.status_code == 200
    assert r.json() == {"Number Deleted": 31, "Number Not Found": 1, "Response Status": "400 Bad Request",
                        "Response Body": "", "Errors": [["/full", "409 Conflict"]]}
    assert (A, "b") not in storage.containers and (A, "full", "keep") in storage.objects


def test_bulk_delete_limits_and_formats(storage):
    with TestClient(make_app(storage, OWNER)) as client:
        r = client.post(f"/v1/{A}?bulk-delete", content="\n".join(["/c/x"] * 10001))
        assert "Response Status: 413 Request Entity Too Large" in r.text
        r = client.post(f"/v1/{A}?bulk-delete", content="", headers={"Accept": "text/xml"})
        assert "<response_status>400 Bad Request</response_status>" in r.text
    anon = Identity(user="other:u", account="AUTH_other")
    with TestClient(make_app(storage, anon)) as client:
        r = client.post(f"/v1/{A}?bulk-delete", content="/c/dir/obj", headers={"Accept": "application/json"})
        assert r.json()["Errors"] == [["/c/dir/obj", "403 Forbidden"]]
    assert (A, "c", "dir/obj") in storage.objects


def signed(method, path, key="acctkey", digest="sha256", expires=None, **extra):
    expires = expires or int(time.time()) + 300
    sig = tempurl.signature(key, method, expires, path, digest)
    query = {"temp_url_sig": sig, "temp_url_expires": str(expires), **extra}
    return "&".join(f"{k}={quote(str(v), safe='')}" for k, v in query.items())


@pytest.mark.parametrize("digest", ["sha1", "sha256", "sha512"])
def test_tempurl_get_each_digest(storage, digest):
    path = f"/v1/{A}/c/dir/obj"
    with TestClient(make_app(storage)) as client:
        r = client.get(f"{path}?{signed('GET', path, digest=digest)}")
        assert r.status_code == 200 and r.content == b"hello world"
        assert r.headers["content-disposition"] == "attachment; filename=\"obj\"; filename*=UTF-8''obj"
        assert "x-object-meta-secret" not in r.headers and r.headers["x-object-meta-public-ok"] == "y"
        assert client.head(f"{path}?{signed('GET', path, key='contkey', digest=digest)}").status_code == 200


def test_tempurl_rejections_and_forms(storage):
    path = f"/v1/{A}/c/dir/obj"
    with TestClient(make_app(storage)) as client:
        assert client.get(f"{path}?{signed('GET', path, expires=int(time.time()) - 1)}").status_code == 401
        assert client.delete(f"{path}?{signed('GET', path)}").status_code == 401
        assert client.get(f"{path}?{signed('GET', path, key='wrong')}").status_code == 401
        assert client.get(f"/v1/{A}/c/dir/other?{signed('GET', path)}").status_code == 401
        expires = int(time.time()) + 300
        mac = hmac.new(b"acctkey", f"GET\n{expires}\n{path}".encode(), "sha512").digest()
        b64 = base64.urlsafe_b64encode(mac).decode().rstrip("=")
        iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires))
        r = client.get(f"{path}?temp_url_sig=sha512:{b64}&temp_url_expires={iso}&inline&filename=a%20b.txt")
        assert r.status_code == 200
        assert r.headers["content-disposition"] == "inline; filename=\"a b.txt\"; filename*=UTF-8''a%20b.txt"
        prefix_sig = tempurl.signature("acctkey", "GET", expires, f"prefix:/v1/{A}/c/dir/")
        r = client.get(f"{path}?temp_url_sig={prefix_sig}&temp_url_expires={expires}&temp_url_prefix=dir/")
        assert r.status_code == 200
        put_path = f"/v1/{A}/c/up"
        r = client.put(f"{put_path}?{signed('PUT', put_path)}", content=b"data")
        assert r.status_code == 201 and storage.objects[(A, "c", "up")][0] == b"data"
        assert client.put(f"{put_path}?{signed('GET', put_path)}", content=b"x").status_code == 401


def test_cors(storage):
    with TestClient(make_app(storage, OWNER)) as client:
        ok = client.options(f"/v1/{A}/c/dir/obj", headers={
            "Origin": "https://a.example", "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "x-auth-token, content-type"})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == "https://a.example"
        assert "PUT" in ok.headers["access-control-allow-methods"]
        assert ok.headers["access-control-allow-headers"] == "x-auth-token, content-type"
        assert ok.headers["access-control-max-age"] == "600"
        denied = client.options(f"/v1/{A}/c/dir/obj", headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
        assert denied.status_code == 401
        r = client.get(f"/v1/{A}/c/dir/obj", headers={"Origin": "https://b.example"})
        assert r.headers["access-control-allow-origin"] == "https://b.example"
        exposed = r.headers["access-control-expose-headers"].split(", ")
        assert {"etag", "x-timestamp", "x-trans-id", "x-object-meta-secret", "x-custom"} <= set(exposed)
        r = client.get(f"/v1/{A}/c/dir/obj", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in r.headers
