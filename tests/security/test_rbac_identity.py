"""Issue 12, attack 1, played against a real cloud: a project admin (the TempAuth ``.admin`` user
``test:tester``, admin of project ``test``) tries cloud-wide administration; the system admin, project
admins within their project, members and readers keep what upstream Keystone's personas give them."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from tests.compute.cloud import clouds, openstack, openstack_json, password_token, url
from tests.conftest import require_tool


def _system_token(cluster, user: str, password: str) -> str:
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"id": "default"}, "password": password}}}, "scope": {"system": {"all": True}}}}
    resp = httpx.post(f"{url(cluster, 'identity')}/v3/auth/tokens", json=body, timeout=30)
    assert resp.status_code == 201, resp.text
    assert resp.json()["token"]["system"] == {"all": True}
    return resp.headers["X-Subject-Token"]


def _login(cluster, user: str, password: str, project: str) -> int:
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
    return httpx.post(f"{url(cluster, 'identity')}/v3/auth/tokens", json=body, timeout=30).status_code


class Keystone:
    """httpx against the identity API with one token."""

    def __init__(self, cluster, token: str):
        self.client = httpx.Client(base_url=url(cluster, "identity") + "/v3", headers={"X-Auth-Token": token},
                                   timeout=30)

    def __getattr__(self, name: str):
        return getattr(self.client, name)


@pytest.fixture(scope="module")
def world(cluster):
    """A project with an admin, a member and a reader (made by the system admin), plus the attacker."""
    sfx = uuid.uuid4().hex[:6]
    admin_pw = clouds(cluster)["stackstore-system"]["auth"]["password"]
    system = Keystone(cluster, _system_token(cluster, "admin", admin_pw))
    roles = {r["name"]: r["id"] for r in system.get("/roles").json()["roles"]}
    proj = system.post("/projects", json={"project": {"name": f"rbac-{sfx}", "domain_id": "default"}})
    assert proj.status_code == 201, proj.text
    pid = proj.json()["project"]["id"]
    users = {}
    for persona in ("padmin", "member", "reader", "loose"):
        name = f"rbac-{persona}-{sfx}"
        made = system.post("/users", json={"user": {"name": name, "password": f"pw-{persona}",
                                                     "default_project_id": pid}})
        assert made.status_code == 201, made.text
        uid = made.json()["user"]["id"]
        role = {"padmin": "admin", "member": "member", "reader": "reader"}.get(persona)
        if role:
            assert system.put(f"/projects/{pid}/users/{uid}/roles/{roles[role]}").status_code == 204
        users[persona] = {"id": uid, "name": name, "password": f"pw-{persona}"}
    ids = {u["name"]: u["id"] for u in system.get("/users").json()["users"]}
    attacker = Keystone(cluster, password_token(cluster, "tester", "testing", "test"))
    yield {"system": system, "roles": roles, "project": pid, "users": users, "ids": ids, "admin_pw": admin_pw,
           "attacker": attacker, "sfx": sfx,
           "padmin": Keystone(cluster, password_token(cluster, users["padmin"]["name"], "pw-padmin", f"rbac-{sfx}")),
           "reader": Keystone(cluster, password_token(cluster, users["reader"]["name"], "pw-reader", f"rbac-{sfx}"))}


def test_project_admin_is_not_cloud_admin(cluster, world):
    """test:tester (admin on its own project only) lists no users, changes no password, grants nothing."""
    attacker, admin_id, roles = world["attacker"], world["ids"]["admin"], world["roles"]
    token = attacker.get("/auth/tokens", headers={"X-Subject-Token": attacker.headers["X-Auth-Token"]}).json()
    assert "is_admin_project" not in token["token"] and {"admin", "member", "reader"} <= {
        r["name"] for r in token["token"]["roles"]}
    denied = attacker.get("/users")
    assert denied.status_code == 403 and denied.json()["error"]["code"] == 403
    assert attacker.get(f"/users/{admin_id}").status_code == 403
    assert attacker.patch(f"/users/{admin_id}", json={"user": {"password": "pwned"}}).status_code == 403
    assert _login(cluster, "admin", world["admin_pw"], "admin") == 201  # the old password still works
    assert _login(cluster, "admin", "pwned", "admin") == 401
    tester = world["ids"]["tester"]
    for role in ("ResellerAdmin", "admin", "service"):
        assert attacker.put(f"/projects/test/users/{tester}/roles/{roles[role]}").status_code == 403, role
    assert attacker.put(f"/projects/test/users/{world['users']['loose']['id']}/roles/{roles['admin']}"
                        ).status_code == 403
    assert attacker.put(f"/system/users/{tester}/roles/{roles['admin']}").status_code == 403
    assert attacker.put(f"/projects/{world['project']}/users/{tester}/roles/{roles['member']}").status_code == 403
    assert attacker.post("/projects", json={"project": {"name": f"evil-{world['sfx']}"}}).status_code == 403
    assert attacker.post("/users", json={"user": {"name": f"evil-{world['sfx']}"}}).status_code == 403
    assert attacker.post("/roles", json={"role": {"name": f"evil-{world['sfx']}"}}).status_code == 403
    assert attacker.get("/auth/system").json()["system"] == []
    # nothing was granted: no system role, no ResellerAdmin, no admin outside project test
    granted = world["system"].get(f"/role_assignments?user.id={tester}&include_names").json()["role_assignments"]
    assert ("test", "admin") in {(a["scope"].get("project", {}).get("id"), a["role"]["name"]) for a in granted}
    assert not [a for a in granted if "system" in a["scope"] or a["role"]["name"] == "ResellerAdmin"
                or (a["role"]["name"] == "admin" and a["scope"].get("project", {}).get("id") != "test")]


def test_scoping_to_system_needs_a_system_grant(cluster, world):
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "tester", "domain": {"id": "default"}, "password": "testing"}}}, "scope": {"system": {"all": True}}}}
    assert httpx.post(f"{url(cluster, 'identity')}/v3/auth/tokens", json=body).status_code == 401


def test_project_admin_manages_member_and_reader_of_its_project(world):
    padmin, roles, pid = world["padmin"], world["roles"], world["project"]
    loose = world["users"]["loose"]["id"]
    for role in ("member", "reader"):
        assert padmin.put(f"/projects/{pid}/users/{loose}/roles/{roles[role]}").status_code == 204
        assert padmin.head(f"/projects/{pid}/users/{loose}/roles/{roles[role]}").status_code == 204
    listed = padmin.get(f"/role_assignments?scope.project.id={pid}").json()["role_assignments"]
    assert {a["user"]["id"] for a in listed} >= {loose, world["users"]["reader"]["id"]}
    assert padmin.put(f"/projects/{pid}/users/{loose}/roles/{roles['admin']}").status_code == 403
    assert padmin.put(f"/projects/{pid}/users/{loose}/roles/{roles['ResellerAdmin']}").status_code == 403
    assert padmin.put(f"/projects/test/users/{loose}/roles/{roles['member']}").status_code == 403
    assert padmin.get("/role_assignments").status_code == 403  # the whole cloud's: no
    for role in ("member", "reader"):
        assert padmin.delete(f"/projects/{pid}/users/{loose}/roles/{roles[role]}").status_code == 204


def test_reader_writes_nothing(world):
    reader, roles, pid = world["reader"], world["roles"], world["project"]
    me = world["users"]["reader"]["id"]
    assert reader.get(f"/users/{me}").status_code == 200  # themself
    assert reader.get(f"/projects/{pid}").status_code == 200
    assert reader.get(f"/projects/{pid}/users/{me}/roles").status_code == 200
    assert reader.put(f"/projects/{pid}/users/{world['users']['loose']['id']}/roles/{roles['reader']}"
                      ).status_code == 403
    assert reader.patch(f"/projects/{pid}", json={"project": {"description": "x"}}).status_code == 403
    assert reader.get("/users").status_code == 403


def test_system_reader_reads_the_cloud_and_writes_nothing(cluster, world):
    system, roles = world["system"], world["roles"]
    user = world["users"]["loose"]
    assert system.put(f"/system/users/{user['id']}/roles/{roles['reader']}").status_code == 204
    listed = system.get("/role_assignments?scope.system=all&include_names").json()["role_assignments"]
    assert {(a["user"]["name"], a["role"]["name"]) for a in listed} >= {("admin", "admin"), (user["name"], "reader")}
    assert all(a["scope"] == {"system": {"all": True}} for a in listed)
    sysreader = Keystone(cluster, _system_token(cluster, user["name"], user["password"]))
    assert sysreader.get("/auth/system").json()["system"] == [{"all": True}]
    assert sysreader.get("/users").status_code == 200
    assert sysreader.get(f"/users/{world['ids']['admin']}").status_code == 200
    assert sysreader.patch(f"/users/{world['ids']['admin']}", json={"user": {"email": "x@y"}}).status_code == 403
    assert sysreader.post("/projects", json={"project": {"name": f"sr-{world['sfx']}"}}).status_code == 403
    assert sysreader.put(f"/system/users/{user['id']}/roles/{roles['admin']}").status_code == 403
    assert system.delete(f"/system/users/{user['id']}/roles/{roles['reader']}").status_code == 204
    assert system.head(f"/system/users/{user['id']}/roles/{roles['reader']}").status_code == 404


def test_system_admin_with_the_openstack_cli(cluster, world):
    require_tool("openstack")
    sfx = world["sfx"]
    token = openstack_json(cluster, "token", "issue", cloud="stackstore-system")
    assert token.get("system") or "project_id" not in token
    made = openstack_json(cluster, "user", "create", "--password", "pw-cli", f"cli-{sfx}", cloud="stackstore-system")
    openstack(cluster, "role", "add", "--system", "all", "--user", made["id"], "reader", cloud="stackstore-system")
    listed = openstack_json(cluster, "role", "assignment", "list", "--system", "all", "--names",
                            cloud="stackstore-system")
    assert any(a["User"].startswith(f"cli-{sfx}") and a["Role"] == "reader" for a in listed), listed
    proj = openstack_json(cluster, "project", "create", "--domain", "default", f"cli-{sfx}", cloud="stackstore-system")
    assert proj["name"] == f"cli-{sfx}"
    openstack(cluster, "role", "remove", "--system", "all", "--user", made["id"], "reader", cloud="stackstore-system")
    env_cloud = json.loads((cluster.data_dir / "clouds.yaml").read_text())["clouds"]
    assert "stackstore-system" in env_cloud and env_cloud["stackstore-system"]["auth"]["system_scope"] == "all"


def test_failed_logins_are_throttled(cluster, world):
    """After 10 failures for one user from one address, even the right password gets 429 for a while."""
    name = world["users"]["member"]["name"]
    codes = [_login(cluster, name, "wrong", f"rbac-{world['sfx']}") for _ in range(10)]
    assert codes == [401] * 10
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": name, "domain": {"id": "default"}, "password": "pw-member"}}}}}
    resp = httpx.post(f"{url(cluster, 'identity')}/v3/auth/tokens", json=body)
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) > 0
    assert resp.json()["error"]["code"] == 429
    assert _login(cluster, world["users"]["reader"]["name"], "pw-reader", f"rbac-{world['sfx']}") == 201
