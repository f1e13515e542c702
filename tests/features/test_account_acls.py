"""Account ACLs (``X-Account-Access-Control``) end to end, as Swift's TempAuth: read-only,
read-write and admin grants on AUTH_test, shown only to the account's owners, validated (400)."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

ACL = "X-Account-Access-Control"


def acl_json(acl: dict) -> str:
    return json.dumps(acl, ensure_ascii=True, separators=(",", ":"), sort_keys=True)


@pytest.fixture(scope="module")
def client_for(cluster):
    """httpx clients as other users, rooted at AUTH_test's storage URL (test:tester's)."""
    clients: list[httpx.Client] = []
    owner_url, _ = cluster.auth("test:tester", "testing")

    def make(user: str, key: str) -> httpx.Client:
        _, token = cluster.auth(user, key)
        client = httpx.Client(base_url=owner_url + "/", headers={"X-Auth-Token": token}, timeout=60)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture()
def tester3(client_for):
    return client_for("test:tester3", "testing3")


@pytest.fixture()
def granted(http):
    """Sets AUTH_test's account ACL; removed again after the test."""

    def grant(acl: dict) -> str:
        value = acl_json(acl)
        assert http.post("", headers={ACL: value}).status_code == 204
        return value

    yield grant
    assert http.post("", headers={ACL: "{}"}).status_code == 204


def test_no_grant_no_access(tester3):
    assert tester3.get("").status_code == 403
    assert tester3.head("").status_code == 403


def test_read_only(http, tester3, granted, container):
    assert http.put(f"{container}/obj", content=b"data").status_code == 201
    granted({"read-only": ["test:tester3"]})
    r = tester3.head("")
    assert r.status_code == 204 and ACL not in r.headers  # ACLs only for owners
    assert container in tester3.get("").text
    assert tester3.get(f"{container}/obj").content == b"data"
    assert tester3.get(container).text.split() == ["obj"]
    assert tester3.put(f"{container}/new", content=b"x").status_code == 403
    assert tester3.delete(f"{container}/obj").status_code == 403
    assert tester3.put("ro-" + uuid.uuid4().hex[:8]).status_code == 403
    assert tester3.post("", headers={"X-Account-Meta-Test": "v"}).status_code == 403


def test_read_write(http, tester3, granted, container):
    granted({"read-write": ["test:tester3"]})
    r = tester3.get("")
    assert r.status_code == 200 and ACL not in r.headers
    assert tester3.put(f"{container}/rw", content=b"written").status_code == 201
    assert http.get(f"{container}/rw").content == b"written"
    assert tester3.post(container, headers={"X-Container-Meta-Color": "blue"}).status_code == 204
    new = "rw-" + uuid.uuid4().hex[:8]
    assert tester3.put(new).status_code in (201, 202)
    assert tester3.delete(new).status_code == 204
    assert tester3.delete(f"{container}/rw").status_code == 204
    # container ACLs are the owner's: a read-write grantee's are ignored, as Swift's
    tester3.post(container, headers={"X-Container-Read": ".r:*"})
    assert "x-container-read" not in http.head(container).headers
    assert tester3.post("", headers={"X-Account-Meta-Test": "v"}).status_code == 403
    assert tester3.post("", headers={ACL: "{}"}).status_code == 403


def test_admin_sees_and_changes_acl_and_can_revoke_itself(tester3, granted):
    value = granted({"admin": ["test:tester3"]})
    assert tester3.head("").headers.get(ACL) == value
    marker = uuid.uuid4().hex
    assert tester3.post("", headers={"X-Account-Meta-Test": marker}).status_code == 204
    assert tester3.head("").headers["x-account-meta-test"] == marker
    assert tester3.post("", headers={ACL: "{}"}).status_code == 204
    assert tester3.head("").status_code == 403


def test_grant_by_account_name_and_other_accounts(client_for, granted, container):
    other = client_for("test2:tester2", "testing2")
    assert other.get(container).status_code == 403
    granted({"read-only": ["test2"]})  # a whole account
    assert other.get(container).status_code in (200, 204)
    assert other.put(f"{container}/x", content=b"x").status_code == 403


def test_owner_sees_acl_empty_acl_hidden(http, granted):
    value = granted({"read-only": ["test:tester3"], "admin": ["test2:tester2"]})
    assert http.head("").headers[ACL] == value
    assert http.get("").headers[ACL] == value
    assert http.post("", headers={ACL: "{}"}).status_code == 204
    assert ACL not in http.head("").headers


@pytest.mark.parametrize("value", [
    "invalid", "[]", '{"admin": "test:tester3"}', '{"admin": [1]}', '{"other": []}',
])
def test_invalid_acl_is_400(http, value):
    r = http.post("", headers={ACL: value})
    assert r.status_code == 400
    assert ACL not in r.headers and ACL not in http.head("").headers


def test_acl_larger_than_a_header_is_refused(http):
    """Swift answers 400; here the HTTP layer's header limit (431) answers before the ACL check."""
    r = http.post("", headers={ACL: acl_json({"admin": ["x" * 8200]})})
    assert r.status_code in (400, 431)
    assert ACL not in http.head("").headers
    near_limit = acl_json({"admin": [c * 1024 for c in "abcdefg"]})
    assert http.post("", headers={ACL: near_limit}).status_code == 204
    assert http.post("", headers={ACL: "{}"}).status_code == 204


def test_anonymous_and_unprivileged_cannot_set_acls(anon, account, tester3):
    path = account[0].split("/", 3)[3]
    assert anon.post(f"/{path}", headers={ACL: "{}"}).status_code == 401
    assert tester3.post("", headers={ACL: acl_json({"admin": ["test:tester3"]})}).status_code == 403


def test_info_advertises_account_acls(anon):
    assert anon.get("/info").json()["tempauth"] == {"account_acls": True}


def test_keystone_users_match_by_project_and_user_ids_or_names():
    """Keystone identities match account ACL grants as container ACLs match them (``project:user`` by
    id or name, ``*`` for either side) or by a bare project id."""
    from proxy.auth.account_acl import level_for
    from proxy.auth.keystone import project_identity

    alice = project_identity("AUTH_", {"id": "p1", "name": "proj"}, {"id": "u1", "name": "alice"}, [])
    assert level_for(alice, {"read-only": ["p1:u1"]}) == "read-only"
    assert level_for(alice, {"read-write": ["proj:alice"]}) == "read-write"
    assert level_for(alice, {"admin": ["*:u1"], "read-only": ["p1:u1"]}) == "admin"
    assert level_for(alice, {"read-only": ["p1"]}) == "read-only"
    assert level_for(alice, {"admin": ["p2:u1", "p1:u2", "u1"]}) is None
