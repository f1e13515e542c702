"""TempAuth v1.0 logins, tokens, and authorization (owners, resellers, container ACLs)."""

from __future__ import annotations

import uuid

import httpx

from tests.proxy.conftest import user_client


def test_auth_v1_both_header_pairs(cluster):
    for path in ("/auth/v1.0", "/auth/v1"):
        r = httpx.get(cluster.proxy_url + path, headers={"X-Auth-User": "test:tester", "X-Auth-Key": "testing"})
        assert r.status_code == 200
        assert r.headers["X-Auth-Token"] == r.headers["X-Storage-Token"]
        assert r.headers["X-Auth-Token"].startswith("AUTH_tk")
        assert r.headers["X-Storage-Url"] == cluster.proxy_url + "/v1/AUTH_test"
        assert 86000 < int(r.headers["X-Auth-Token-Expires"]) <= 86400
        assert r.headers["X-Trans-Id"].startswith("tx")
    r = httpx.get(cluster.proxy_url + "/auth/v1.0", headers={"X-Storage-User": "test2:tester2",
                                                              "X-Storage-Pass": "testing2"})
    assert r.status_code == 200 and r.headers["X-Storage-Url"].endswith("/v1/AUTH_test2")


def test_storage_url_uses_requested_host(cluster):
    port = cluster.proxy_url.rsplit(":", 1)[1]
    r = httpx.get(cluster.proxy_url + "/auth/v1.0", headers={
        "X-Auth-User": "test:tester", "X-Auth-Key": "testing", "Host": f"public.example:{port}"})
    assert r.headers["X-Storage-Url"] == f"http://public.example:{port}/v1/AUTH_test"


def test_bad_credentials_401(cluster):
    for headers in ({"X-Auth-User": "test:tester", "X-Auth-Key": "wrong"},
                    {"X-Auth-User": "nobody:x", "X-Auth-Key": "testing"},
                    {"X-Auth-User": "test:tester"}, {}):
        r = httpx.get(cluster.proxy_url + "/auth/v1.0", headers=headers)
        assert r.status_code == 401
        assert "X-Auth-Token" not in r.headers


def test_token_required_and_checked(cluster, account):
    url, _ = account
    r = httpx.head(url)
    assert r.status_code == 401 and r.headers["Www-Authenticate"] == 'Swift realm="AUTH_test"'
    assert httpx.get(url + "/c", headers={"X-Auth-Token": "AUTH_tkbogus"}).status_code == 401
    assert httpx.get(url, headers={"X-Auth-Token": "garbage"}).status_code == 401
    # X-Storage-Token is accepted too
    _, token = account
    assert httpx.head(url, headers={"X-Storage-Token": token}).status_code == 204


def test_other_account_forbidden(cluster, http):
    _, token2 = cluster.auth("test2:tester2", "testing2")
    r = httpx.get(cluster.proxy_url + "/v1/AUTH_test", headers={"X-Auth-Token": token2})
    assert r.status_code == 403
    r = httpx.put(cluster.proxy_url + "/v1/AUTH_test/x-" + uuid.uuid4().hex[:6], headers={"X-Auth-Token": token2})
    assert r.status_code == 403


def test_reseller_admin(cluster, http):
    _, admin = cluster.auth("admin:admin", "admin")
    h = {"X-Auth-Token": admin}
    assert httpx.head(cluster.proxy_url + "/v1/AUTH_test", headers=h).status_code == 204
    acct = "AUTH_rs" + uuid.uuid4().hex[:6]
    assert httpx.put(f"{cluster.proxy_url}/v1/{acct}", headers=h).status_code == 201
    assert httpx.head(f"{cluster.proxy_url}/v1/{acct}", headers=h).status_code == 204
    # an account admin may not create or delete accounts, even its own
    assert http.put(cluster.proxy_url + "/v1/AUTH_test").status_code == 403
    assert http.delete(cluster.proxy_url + "/v1/AUTH_test").status_code == 403
    assert httpx.delete(f"{cluster.proxy_url}/v1/{acct}", headers=h).status_code == 204


def test_container_acls(cluster, http, container):
    assert http.put(f"{container}/obj", content=b"secret").status_code == 201
    with user_client(cluster, "test:tester3", "testing3") as t3:
        base = f"/v1/AUTH_test/{container}"
        assert t3.get(f"{base}/obj").status_code == 403
        assert t3.get(base).status_code == 403
        assert t3.put(f"{base}/new", content=b"x").status_code == 403
        # only the owner may change ACLs
        assert t3.post(base, headers={"X-Container-Read": "test:tester3"}).status_code == 403
        assert http.post(container, headers={"X-Container-Read": "test:tester3"}).status_code == 204
        r = t3.get(f"{base}/obj")
        assert r.status_code == 200 and r.content == b"secret"
        assert t3.get(base).text == "obj\n"
        assert "X-Container-Read" not in t3.head(base).headers  # ACLs are shown to owners only
        assert http.post(container, headers={"X-Container-Meta-Temp-URL-Key": "k"}).status_code == 204
        assert "X-Container-Meta-Temp-Url-Key" not in t3.head(base).headers
        assert http.head(container).headers["X-Container-Meta-Temp-Url-Key"] == "k"
        assert http.head(container).headers["X-Container-Read"] == "test:tester3"
        assert t3.put(f"{base}/new", content=b"x").status_code == 403
        assert http.post(container, headers={"X-Container-Write": "test:tester3"}).status_code == 204
        assert t3.put(f"{base}/new", content=b"x").status_code == 201
        assert t3.delete(f"{base}/new").status_code == 204
        # the account itself stays off limits
        assert t3.get("/v1/AUTH_test").status_code == 403
        # account-wide grant
        assert http.post(container, headers={"X-Container-Read": "test"}).status_code == 204
        assert t3.get(f"{base}/obj").status_code == 200
        assert http.post(container, headers={"X-Remove-Container-Read": "x"}).status_code == 204
        assert t3.get(f"{base}/obj").status_code == 403


def test_anonymous_public_read(cluster, http, anon, container):
    assert http.put(f"{container}/pub", content=b"public").status_code == 201
    path = f"/v1/AUTH_test/{container}"
    assert anon.get(f"{path}/pub").status_code == 401
    assert http.post(container, headers={"X-Container-Read": ".r:*"}).status_code == 204
    r = anon.get(f"{path}/pub")
    assert r.status_code == 200 and r.content == b"public"
    assert anon.head(f"{path}/pub").status_code == 200
    assert anon.get(path).status_code == 401  # listings need .rlistings
    assert anon.put(f"{path}/x", content=b"x").status_code == 401
    assert http.post(container, headers={"X-Container-Read": ".r:*,.rlistings"}).status_code == 204
    r = anon.get(path, params={"format": "json"})
    assert r.status_code == 200 and [o["name"] for o in r.json()] == ["pub"]
    assert anon.delete(f"{path}/pub").status_code == 401
