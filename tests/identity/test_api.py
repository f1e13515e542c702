"""The Keystone v3 API over HTTP against standalone identity servers on SQLite and on PostgreSQL."""

from __future__ import annotations

import httpx

from tests.identity.server import get_token, password_auth


def _admin(server) -> tuple[str, dict]:
    return get_token(server.url, "admin", server.admin_password, "admin")


def test_discovery(identity_server):
    root = httpx.get(identity_server.url + "/")
    assert root.status_code == 300
    entry = root.json()["versions"]["values"][0]
    assert entry["status"] == "stable" and entry["links"][0]["href"] == identity_server.url + "/v3/"
    assert httpx.get(identity_server.url + "/v3").json()["version"]["id"] == "v3.14"


def test_password_token_validate_revoke(identity_server):
    url = identity_server.url
    token, body = _admin(identity_server)
    # the TempAuth reseller admin "admin:admin" is this user too, hence ResellerAdmin; admin implies member
    # and reader (Keystone's implied roles); the admin project's admins are cloud admins
    assert body["project"]["name"] == "admin" and body["is_admin_project"] is True
    assert {r["name"] for r in body["roles"]} == {"admin", "member", "reader", "ResellerAdmin"}
    types = {e["type"]: e for e in body["catalog"]}
    assert {"identity", "object-store", "volumev3", "block-storage", "compute", "image"} <= set(types)
    ep = types["object-store"]["endpoints"][0]
    assert ep["region"] == ep["region_id"] == "RegionOne" and ep["url"].endswith("/v1/AUTH_admin")
    headers = {"X-Auth-Token": token, "X-Subject-Token": token}
    got = httpx.get(url + "/v3/auth/tokens", headers=headers)
    assert got.status_code == 200 and got.headers["X-Subject-Token"] == token
    assert httpx.head(url + "/v3/auth/tokens", headers=headers).status_code == 200
    other, _ = _admin(identity_server)
    assert httpx.delete(url + "/v3/auth/tokens", headers={"X-Auth-Token": other, "X-Subject-Token": token}
                        ).status_code == 204
    assert httpx.get(url + "/v3/auth/tokens", headers={"X-Auth-Token": other, "X-Subject-Token": token}
                     ).status_code == 404
    assert httpx.get(url + "/v3/projects", headers={"X-Auth-Token": token}).status_code == 401


def test_bad_credentials_and_error_shape(identity_server):
    resp = httpx.post(identity_server.url + "/v3/auth/tokens", json=password_auth("admin", "wrong", "admin"))
    assert resp.status_code == 401
    assert resp.json()["error"] == {"code": 401, "title": "Unauthorized", "message": resp.json()["error"]["message"]}
    assert httpx.post(identity_server.url + "/v3/auth/tokens", content=b"{nope").status_code == 400
    assert httpx.get(identity_server.url + "/v3/projects").status_code == 401


def test_unscoped_rescope_and_auth_projects(identity_server):
    url = identity_server.url
    resp = httpx.post(url + "/v3/auth/tokens", json={"auth": {
        "identity": {"methods": ["password"], "password": {"user": {"name": "tester", "domain": {"id": "Default"},
                                                                    "password": "testing"}}},
        "scope": "unscoped"}})
    assert resp.status_code == 201 and "project" not in resp.json()["token"]
    unscoped = resp.headers["X-Subject-Token"]
    projects = httpx.get(url + "/v3/auth/projects", headers={"X-Auth-Token": unscoped}).json()["projects"]
    assert [p["id"] for p in projects] == ["test"]
    rescoped = httpx.post(url + "/v3/auth/tokens", json={"auth": {
        "identity": {"methods": ["token"], "token": {"id": unscoped}}, "scope": {"project": {"id": "test"}}}})
    assert rescoped.status_code == 201
    tok = rescoped.json()["token"]
    assert tok["project"]["id"] == "test" and "admin" in {r["name"] for r in tok["roles"]}
    catalog = httpx.get(url + "/v3/auth/catalog", headers={"X-Auth-Token": rescoped.headers["X-Subject-Token"]})
    assert any(e["type"] == "object-store" for e in catalog.json()["catalog"])


def test_crud_policy_and_revocation_on_changes(identity_server):
    url = identity_server.url
    admin, _ = _admin(identity_server)
    h = {"X-Auth-Token": admin}
    proj = httpx.post(url + "/v3/projects", headers=h, json={"project": {"name": "p1", "domain_id": "default"}})
    assert proj.status_code == 201
    pid = proj.json()["project"]["id"]
    assert httpx.post(url + "/v3/projects", headers=h, json={"project": {"name": "p1"}}).status_code == 409
    user = httpx.post(url + "/v3/users", headers=h, json={"user": {"name": "u1", "password": "pw1",
                                                                    "default_project_id": pid}})
    assert user.status_code == 201 and "password" not in user.json()["user"]
    uid = user.json()["user"]["id"]
    roles = {r["name"]: r["id"] for r in httpx.get(url + "/v3/roles", headers=h).json()["roles"]}
    grant = f"{url}/v3/projects/{pid}/users/{uid}/roles/{roles['member']}"
    assert httpx.put(grant, headers=h).status_code == 204
    assert httpx.head(grant, headers=h).status_code == 204
    utoken, body = get_token(url, "u1", "pw1", "p1")
    uh = {"X-Auth-Token": utoken}
    assert httpx.get(url + "/v3/users", headers=uh).status_code == 403
    assert httpx.get(f"{url}/v3/users/{uid}", headers=uh).status_code == 200
    assert httpx.get(url + "/v3/projects/nonexistent", headers=h).status_code == 404
    assert [p["name"] for p in httpx.get(url + "/v3/projects?name=p1", headers=h).json()["projects"]] == ["p1"]
    assignments = httpx.get(url + f"/v3/role_assignments?user.id={uid}&include_names=True", headers=h).json()
    assert assignments["role_assignments"][0]["role"]["name"] == "member"
    # removing the role revokes the user's tokens on that project
    assert httpx.delete(grant, headers=h).status_code == 204
    assert httpx.get(f"{url}/v3/users/{uid}", headers=uh).status_code == 401
    assert httpx.post(url + "/v3/auth/tokens", json=password_auth("u1", "pw1", "p1")).status_code == 401
    assert httpx.put(grant, headers=h).status_code == 204
    utoken, _ = get_token(url, "u1", "pw1", "p1")
    # a password change by the admin revokes the user's tokens
    assert httpx.patch(f"{url}/v3/users/{uid}", headers=h, json={"user": {"password": "pw2"}}).status_code == 200
    assert httpx.get(f"{url}/v3/users/{uid}", headers={"X-Auth-Token": utoken}).status_code == 401
    utoken, _ = get_token(url, "u1", "pw2", "p1")
    assert httpx.delete(f"{url}/v3/users/{uid}", headers=h).status_code == 204
    assert httpx.get(url + "/v3/auth/projects", headers={"X-Auth-Token": utoken}).status_code == 401
    assert httpx.delete(f"{url}/v3/projects/{pid}", headers=h).status_code == 204
    assert httpx.get(f"{url}/v3/projects/{pid}", headers=h).status_code == 404


def test_ec2_and_application_credentials(identity_server):
    url = identity_server.url
    token, body = get_token(url, "tester", "testing", "test")
    h = {"X-Auth-Token": token}
    uid = body["user"]["id"]
    ec2 = httpx.post(f"{url}/v3/users/{uid}/credentials/OS-EC2", headers=h, json={"tenant_id": "test"})
    assert ec2.status_code == 201
    access = ec2.json()["credential"]["access"]
    listed = httpx.get(f"{url}/v3/credentials?type=ec2&user_id={uid}", headers=h).json()["credentials"]
    assert [c["id"] for c in listed] and all(c["type"] == "ec2" for c in listed)
    assert httpx.delete(f"{url}/v3/users/{uid}/credentials/OS-EC2/{access}", headers=h).status_code == 204
    blob = '{"access": "AK1", "secret": "SK1"}'
    made = httpx.post(f"{url}/v3/credentials", headers=h, json={"credential": {
        "type": "ec2", "user_id": uid, "project_id": "test", "blob": blob}})
    assert made.status_code == 201 and len(made.json()["credential"]["id"]) == 64
    other, _ = get_token(url, "tester2", "testing2", "test")
    assert httpx.get(f"{url}/v3/credentials/{made.json()['credential']['id']}",
                     headers={"X-Auth-Token": other}).status_code == 403
    app = httpx.post(f"{url}/v3/users/{uid}/application_credentials", headers=h, json={
        "application_credential": {"name": "app1", "roles": [{"name": "ResellerAdmin"}]}})
    assert app.status_code == 403  # tester holds admin (hence member and reader), not ResellerAdmin, on test
    app = httpx.post(f"{url}/v3/users/{uid}/application_credentials", headers=h, json={
        "application_credential": {"name": "app1", "secret": None, "roles": [{"name": "admin"}]}})
    assert app.status_code == 201
    cred = app.json()["application_credential"]
    auth = {"auth": {"identity": {"methods": ["application_credential"], "application_credential": {
        "id": cred["id"], "secret": cred["secret"]}}}}
    resp = httpx.post(url + "/v3/auth/tokens", json=auth)
    assert resp.status_code == 201
    tok = resp.json()["token"]
    assert tok["project"]["id"] == "test" and tok["application_credential"]["id"] == cred["id"]
    apptoken = resp.headers["X-Subject-Token"]
    assert httpx.delete(f"{url}/v3/users/{uid}/application_credentials/{cred['id']}", headers=h).status_code == 204
    assert httpx.post(url + "/v3/auth/tokens", json=auth).status_code == 401
    assert httpx.get(url + "/v3/auth/projects", headers={"X-Auth-Token": apptoken}).status_code == 401
