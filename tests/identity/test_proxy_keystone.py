"""Keystone tokens at the proxy: accounts per project, roles, ACLs, cross-project refusal, expired and
revoked tokens, rclone's Keystone v3 auth."""

from __future__ import annotations

import time
import uuid

import httpx
import jwt
import pytest

from identity.keys import ALGORITHM, KeySet
from identity.tokens import TokenInfo
from identity.validator import TokenValidator
from tests.clients.helpers import run
from tests.conftest import require_tool
from tests.identity.helpers import admin_token, eventually, make_project, make_user
from tests.identity.server import IdentityServer, get_token


@pytest.fixture(scope="module")
def admin(cluster, identity_url):
    return admin_token(cluster, identity_url)


@pytest.fixture(scope="module")
def two_projects(cluster, identity_url, admin):
    """Projects A and B (uuid ids) with a member, a reader and a member of B."""
    suffix = uuid.uuid4().hex[:6]
    a, b = make_project(identity_url, admin, f"pa-{suffix}"), make_project(identity_url, admin, f"pb-{suffix}")
    make_user(identity_url, admin, f"ua-{suffix}", "pw-a", a, "member")
    make_user(identity_url, admin, f"ur-{suffix}", "pw-r", a, "reader")
    make_user(identity_url, admin, f"ub-{suffix}", "pw-b", b, "member")
    return {"a": a, "b": b, "sfx": suffix}


def _token(identity_url, user, password, project) -> str:
    return get_token(identity_url, user, password, project)[0]


def test_tempauth_account_shared_with_keystone_project(cluster, identity_url):
    token, body = get_token(identity_url, "tester", "testing", "test")
    url = next(e["url"] for s in body["catalog"] if s["type"] == "object-store"
               for e in s["endpoints"] if e["interface"] == "public")
    assert url == f"{cluster.proxy_url}/v1/AUTH_test"
    name = f"ks-shared-{uuid.uuid4().hex[:6]}"
    assert httpx.put(f"{url}/{name}", headers={"X-Auth-Token": token}).status_code in (201, 202)
    assert httpx.put(f"{url}/{name}/o", headers={"X-Auth-Token": token}, content=b"hello").status_code == 201
    storage, tempauth_token = cluster.auth()
    assert httpx.get(f"{storage}/{name}/o", headers={"X-Auth-Token": tempauth_token}).content == b"hello"


def test_cross_project_refused_roles_and_acls(cluster, identity_url, two_projects):
    p, s = two_projects, two_projects["sfx"]
    ta = _token(identity_url, f"ua-{s}", "pw-a", f"pa-{s}")
    tr = _token(identity_url, f"ur-{s}", "pw-r", f"pa-{s}")
    tb = _token(identity_url, f"ub-{s}", "pw-b", f"pb-{s}")
    acct_a, acct_b = f"{cluster.proxy_url}/v1/AUTH_{p['a']}", f"{cluster.proxy_url}/v1/AUTH_{p['b']}"
    assert httpx.put(f"{acct_a}/c", headers={"X-Auth-Token": ta}).status_code in (201, 202)
    assert httpx.put(f"{acct_a}/c/o", headers={"X-Auth-Token": ta}, content=b"data-a").status_code == 201
    # project A's token on project B's account, and B's on A's: 403
    assert httpx.get(acct_b, headers={"X-Auth-Token": ta}).status_code == 403
    assert httpx.put(f"{acct_b}/c", headers={"X-Auth-Token": ta}).status_code == 403
    assert httpx.get(f"{acct_a}/c/o", headers={"X-Auth-Token": tb}).status_code == 403
    # reader: reads, never writes
    assert httpx.get(f"{acct_a}/c/o", headers={"X-Auth-Token": tr}).content == b"data-a"
    assert httpx.get(f"{acct_a}?format=json", headers={"X-Auth-Token": tr}).status_code == 200
    assert httpx.put(f"{acct_a}/c/o2", headers={"X-Auth-Token": tr}, content=b"x").status_code == 403
    assert httpx.delete(f"{acct_a}/c/o", headers={"X-Auth-Token": tr}).status_code == 403
    # a container ACL naming project:user (by name) lets B's user read A's container
    acl = f"pb-{s}:ub-{s}"
    assert httpx.post(f"{acct_a}/c", headers={"X-Auth-Token": ta, "X-Container-Read": acl}).status_code == 204
    assert eventually(lambda: httpx.get(f"{acct_a}/c/o", headers={"X-Auth-Token": tb}).status_code == 200, 10)
    assert httpx.put(f"{acct_a}/c/o3", headers={"X-Auth-Token": tb}, content=b"x").status_code == 403
    # garbage JWT-looking tokens: 401
    assert httpx.get(acct_a, headers={"X-Auth-Token": "eyJhbGciOi.eyJzdWIi.c2ln"}).status_code == 401


def test_revoked_token_refused(cluster, identity_url, admin):
    token, _ = get_token(identity_url, "tester", "testing", "test")
    url = f"{cluster.proxy_url}/v1/AUTH_test"
    assert httpx.get(url, headers={"X-Auth-Token": token}).status_code in (200, 204)
    resp = httpx.delete(f"{identity_url}/v3/auth/tokens", headers={"X-Auth-Token": admin, "X-Subject-Token": token})
    assert resp.status_code == 204
    # the proxy refreshes its revocation list every 5 s
    assert eventually(lambda: httpx.get(url, headers={"X-Auth-Token": token}).status_code == 401, 12)


def test_expired_token_refused_by_proxy(cluster, identity_url):
    """A token signed with the real key but past its expiry (forged from the on-disk key set)."""
    token, body = get_token(identity_url, "tester", "testing", "test")
    claims = jwt.decode(token, options={"verify_signature": False})
    keys = KeySet(cluster.data_dir / "identity-keys").load()
    claims.update(iat=time.time() - 7200, exp=int(time.time()) - 3600)
    expired = jwt.encode(claims, keys.current.private, algorithm=ALGORITHM, headers={"kid": keys.current.kid})
    still_valid = jwt.encode({**claims, "iat": time.time(), "exp": int(time.time()) + 600}, keys.current.private,
                             algorithm=ALGORITHM, headers={"kid": keys.current.kid})
    url = f"{cluster.proxy_url}/v1/AUTH_test"
    assert httpx.get(url, headers={"X-Auth-Token": still_valid}).status_code in (200, 204)
    assert httpx.get(url, headers={"X-Auth-Token": expired}).status_code == 401


def test_short_expiry_identity(tmp_path):
    """A separate identity instance with 2 s tokens: valid at first, then 404 at the identity API and
    refused by the reusable validator."""
    server = IdentityServer(tmp_path / "short", token_expiration=2).start()
    try:
        token, body = get_token(server.url, "admin", server.admin_password, "admin")
        validator = TokenValidator(server.url)
        info = validator.validate_sync(token)
        assert isinstance(info, TokenInfo) and info.project_id == "admin"
        time.sleep(3)
        headers = {"X-Auth-Token": token, "X-Subject-Token": token}
        assert httpx.get(f"{server.url}/v3/auth/tokens", headers=headers).status_code == 401
        fresh, _ = get_token(server.url, "admin", server.admin_password, "admin")
        resp = httpx.get(f"{server.url}/v3/auth/tokens", headers={"X-Auth-Token": fresh, "X-Subject-Token": token})
        assert resp.status_code == 404 and resp.json()["error"]["code"] == 404
        assert validator.validate_sync(token) is None
    finally:
        server.stop()


def test_rclone_keystone_v3(cluster, identity_url, tmp_path):
    exe = require_tool("rclone")
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_bytes(b"rclone via keystone\n")
    env = {"RCLONE_CONFIG": str(tmp_path / "rclone.conf"), "RCLONE_CONFIG_KS_TYPE": "swift",
           "RCLONE_CONFIG_KS_AUTH": f"{identity_url}/v3", "RCLONE_CONFIG_KS_USER": "tester",
           "RCLONE_CONFIG_KS_KEY": "testing", "RCLONE_CONFIG_KS_TENANT": "test",
           "RCLONE_CONFIG_KS_DOMAIN": "Default", "RCLONE_CONFIG_KS_TENANT_DOMAIN": "Default",
           "RCLONE_CONFIG_KS_AUTH_VERSION": "3"}
    bucket = f"ks-rclone-{uuid.uuid4().hex[:6]}"
    run([exe, "--retries", "1", "copy", str(src), f"ks:{bucket}"], env=env)
    out = run([exe, "--retries", "1", "cat", f"ks:{bucket}/a.txt"], env=env).stdout
    assert out == "rclone via keystone\n"
    storage, token = cluster.auth()  # same account AUTH_test through TempAuth
    assert httpx.get(f"{storage}/{bucket}/a.txt", headers={"X-Auth-Token": token}).status_code == 200


def test_reseller_admin_role_reaches_projects_created_later(cluster, identity_url, admin):
    """``ResellerAdmin`` (Swift keystoneauth's reseller_admin_role) owns every account, including a
    project created after the grant; ``admin`` on one project does not."""
    sfx = uuid.uuid4().hex[:6]
    home = make_project(identity_url, admin, f"reseller-home-{sfx}")
    make_user(identity_url, admin, f"reseller-{sfx}", "pw-r", home, "ResellerAdmin")
    make_user(identity_url, admin, f"padmin-{sfx}", "pw-p", home, "admin")
    later = make_project(identity_url, admin, f"reseller-later-{sfx}")
    reseller = _token(identity_url, f"reseller-{sfx}", "pw-r", f"reseller-home-{sfx}")
    project_admin = _token(identity_url, f"padmin-{sfx}", "pw-p", f"reseller-home-{sfx}")
    account = f"{cluster.proxy_url}/v1/AUTH_{later}"
    assert httpx.put(f"{account}/c", headers={"X-Auth-Token": project_admin}).status_code == 403
    assert httpx.put(f"{account}/c", headers={"X-Auth-Token": reseller}).status_code in (201, 202)
    assert httpx.put(f"{account}/c/o", headers={"X-Auth-Token": reseller}, content=b"x").status_code == 201
    assert httpx.get(f"{account}/c/o", headers={"X-Auth-Token": project_admin}).status_code == 403
