"""The shared policy evaluator, the identity policy table and the login throttle, without servers."""

from __future__ import annotations

import pytest

from identity.policy import POLICY as IDENTITY
from identity.throttle import LoginThrottle
from stackstore.policy import Credentials, Policy, PolicyError, expand_roles, is_cloud_admin
from volumes.policy import POLICY as VOLUMES

SYSTEM_ADMIN = Credentials.of("sa", ["admin"], system=True)
SYSTEM_READER = Credentials.of("sr", ["reader"], system=True)
ADMIN_PROJECT_ADMIN = Credentials.of("apa", ["admin"], project_id="admin", is_admin_project=True)
PROJECT_ADMIN = Credentials.of("pa", ["admin"], project_id="test")
MEMBER = Credentials.of("m", ["member"], project_id="test")
READER = Credentials.of("r", ["reader"], project_id="test")


def test_implied_roles():
    assert expand_roles(["admin"]) == {"admin", "member", "reader"}
    assert expand_roles(["member", "ResellerAdmin"]) == {"member", "reader", "ResellerAdmin"}
    assert expand_roles(["reader"]) == {"reader"}


def test_rule_language():
    p = Policy({"a": "role:x and (project_id:%(target.project.id)s or user_id:%(owner)s)", "b": "not rule:a",
                "c": "'member':%(target.role.name)s", "d": "@", "e": "!", "f": ""})
    me = Credentials.of("u", ["x"], project_id="p")
    assert p.allows("a", me, {"project": {"id": "p"}}) and p.allows("a", me, {"owner": "u"})
    assert not p.allows("a", me, {"project": {"id": "q"}}) and not p.allows("a", me, {})
    assert p.allows("b", me, {}) and not p.allows("b", me, {"owner": "u"})
    assert p.allows("c", me, {"role": {"name": "member"}}) and not p.allows("c", me, {"role": {"name": "admin"}})
    assert p.allows("d", me) and not p.allows("e", me) and p.allows("f", me)
    assert not p.allows("unknown-operation", me)
    assert not p.allows("a", Credentials.of("u", ["x"]), {"project": {"id": None}})  # None never matches
    for bad in ("role:x and", "(role:x", "role:x)", "nonsense", "rule:missing", "foo:bar"):
        with pytest.raises(PolicyError):
            Policy({"r": bad}).allows("r", me, {})


def test_cloud_admin_is_system_admin_or_admin_project_admin_only():
    assert is_cloud_admin(SYSTEM_ADMIN) and is_cloud_admin(ADMIN_PROJECT_ADMIN)
    assert not any(is_cloud_admin(c) for c in (SYSTEM_READER, PROJECT_ADMIN, MEMBER, READER))
    assert not is_cloud_admin(Credentials.of("x", ["reader"], project_id="admin", is_admin_project=True))


@pytest.mark.parametrize("operation", ["identity:list_users", "identity:update_user", "identity:create_project",
                                       "identity:create_system_grant", "identity:create_role"])
def test_identity_cloud_operations_need_cloud_admin(operation):
    target = {"user": {"id": "victim", "domain_id": "default"}, "project": {"domain_id": "default"}}
    assert IDENTITY.allows(operation, SYSTEM_ADMIN, target)
    assert not IDENTITY.allows(operation, PROJECT_ADMIN, target)
    assert not IDENTITY.allows(operation, READER, target)


def test_project_admin_grants_only_member_and_reader_on_its_project():
    def grant(creds: Credentials, project: str, role: str) -> bool:
        return IDENTITY.allows("identity:create_grant", creds, {"project": {"id": project, "domain_id": "default"},
                                                                "role": {"name": role}})

    assert grant(PROJECT_ADMIN, "test", "member") and grant(PROJECT_ADMIN, "test", "reader")
    assert not any(grant(PROJECT_ADMIN, "test", r) for r in ("admin", "ResellerAdmin", "service"))
    assert not grant(PROJECT_ADMIN, "other", "member") and not grant(MEMBER, "test", "reader")
    assert grant(SYSTEM_ADMIN, "other", "ResellerAdmin")


def test_volume_personas():
    target = {"project_id": "test"}
    assert VOLUMES.allows("volume:get_all", READER, target) and not VOLUMES.allows("volume:create", READER, target)
    assert VOLUMES.allows("volume:create", MEMBER, target) and VOLUMES.allows("volume:delete", PROJECT_ADMIN, target)
    admin_action = "volume_extension:volume_admin_actions:os-reset_status"
    assert not VOLUMES.allows(admin_action, PROJECT_ADMIN, target) and VOLUMES.allows(admin_action, SYSTEM_ADMIN)
    assert VOLUMES.allows("volume:get_all", SYSTEM_READER, target)
    assert not VOLUMES.allows("volume:create", SYSTEM_READER, target)
    assert not VOLUMES.allows("volume:create", Credentials.of("sm", ["member"], system=True), target)


def test_login_throttle_blocks_then_forgets():
    t = LoginThrottle(max_failures=3, window=10)
    for i in range(3):
        assert t.retry_after("u", "a", now=i) == 0
        t.failed("u", "a", now=i)
    assert 0 < t.retry_after("u", "a", now=3) <= 10
    assert t.retry_after("u", "other-address", now=3) == 0 and t.retry_after("v", "a", now=3) == 0
    assert t.retry_after("u", "a", now=10.5) == 0  # the first failure aged out
    t.succeeded("u", "a")
    assert t.retry_after("u", "a", now=3) == 0


def test_login_throttle_memory_is_bounded():
    t = LoginThrottle(max_failures=2, window=60, max_entries=100)
    for i in range(1000):
        t.failed(f"user{i}", "a", now=1)
    assert len(t._failures) == 100
