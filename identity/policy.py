"""Who may call what on the identity API: one table (operation → rule), Keystone's secure-RBAC defaults.

Personas: a system-scoped token (``"scope": {"system": {"all": true}}``) with ``admin`` administers the
cloud (users, projects, domains, role grants, the catalog) — as does ``admin`` on the configured admin
project (Keystone's ``admin_project_name`` → ``is_admin_project``); system ``reader``/``member`` read it
all. A domain-scoped admin manages its domain's users, groups and projects. A project admin may grant
and revoke only ``member`` and ``reader`` on its own project; an admin of any other project is nobody
special elsewhere. Everyone may read and manage their own user's credentials.

Targets are dicts named as in Keystone's policies (``target.user.id``, ``target.project.domain_id`` …).
"""

from __future__ import annotations

from typing import Any

from identity.api.base import Ctx
from identity.errors import forbidden
from identity.tokens import TokenInfo
from stackstore.policy import BASE_RULES, Credentials, Policy

_CLOUD_OR_DOMAIN_READER = "rule:cloud_reader or (role:reader and domain_id:%(target.{0}domain_id)s)"
_CLOUD_OR_DOMAIN_ADMIN = "rule:admin_api or (role:admin and domain_id:%(target.{0}domain_id)s)"
_GRANT_READER = ("rule:cloud_reader or (role:reader and domain_id:%(target.domain.id)s)"
                 " or (role:reader and domain_id:%(target.project.domain_id)s)"
                 " or (role:reader and project_id:%(target.project.id)s)")
_GRANT_ADMIN = ("rule:admin_api or (((role:admin and domain_id:%(target.domain.id)s)"
                " or (role:admin and domain_id:%(target.project.domain_id)s)"
                " or (role:admin and project_id:%(target.project.id)s)) and rule:grantable_role)")

RULES: dict[str, str] = {
    **BASE_RULES,
    "service_role": "role:service",
    "owner": "user_id:%(target.user.id)s",
    # what a project or domain admin may hand out (never admin, ResellerAdmin or the service role)
    "grantable_role": "'member':%(target.role.name)s or 'reader':%(target.role.name)s",
    # users
    "identity:list_users": _CLOUD_OR_DOMAIN_READER.format(""),
    "identity:get_user": _CLOUD_OR_DOMAIN_READER.format("user.") + " or rule:owner",
    "identity:create_user": _CLOUD_OR_DOMAIN_ADMIN.format("user."),
    "identity:update_user": _CLOUD_OR_DOMAIN_ADMIN.format("user."),
    "identity:delete_user": _CLOUD_OR_DOMAIN_ADMIN.format("user."),
    "identity:list_projects_for_user": _CLOUD_OR_DOMAIN_READER.format("user.") + " or rule:owner",
    "identity:list_groups_for_user": _CLOUD_OR_DOMAIN_READER.format("user.") + " or rule:owner",
    # projects and domains
    "identity:list_projects": _CLOUD_OR_DOMAIN_READER.format(""),
    "identity:get_project": _CLOUD_OR_DOMAIN_READER.format("project.") + " or project_id:%(target.project.id)s",
    "identity:create_project": _CLOUD_OR_DOMAIN_ADMIN.format("project."),
    "identity:update_project": _CLOUD_OR_DOMAIN_ADMIN.format("project."),
    "identity:delete_project": _CLOUD_OR_DOMAIN_ADMIN.format("project."),
    "identity:list_domains": "@",
    "identity:get_domain": "@",
    "identity:create_domain": "rule:admin_api",
    "identity:update_domain": "rule:admin_api",
    "identity:delete_domain": "rule:admin_api",
    # groups
    "identity:list_groups": _CLOUD_OR_DOMAIN_READER.format(""),
    "identity:get_group": _CLOUD_OR_DOMAIN_READER.format("group."),
    "identity:create_group": _CLOUD_OR_DOMAIN_ADMIN.format("group."),
    "identity:update_group": _CLOUD_OR_DOMAIN_ADMIN.format("group."),
    "identity:delete_group": _CLOUD_OR_DOMAIN_ADMIN.format("group."),
    "identity:list_users_in_group": _CLOUD_OR_DOMAIN_READER.format("group."),
    "identity:check_user_in_group": _CLOUD_OR_DOMAIN_READER.format("group."),
    "identity:add_user_to_group": _CLOUD_OR_DOMAIN_ADMIN.format("group."),
    "identity:remove_user_from_group": _CLOUD_OR_DOMAIN_ADMIN.format("group."),
    # roles and grants
    "identity:list_roles": "@",
    "identity:get_role": "@",
    "identity:create_role": "rule:admin_api",
    "identity:delete_role": "rule:admin_api",
    "identity:list_grants": _GRANT_READER,
    "identity:check_grant": _GRANT_READER,
    "identity:create_grant": _GRANT_ADMIN,
    "identity:revoke_grant": _GRANT_ADMIN,
    "identity:list_system_grants": "rule:cloud_reader or rule:owner",
    "identity:check_system_grant": "rule:cloud_reader or rule:owner",
    "identity:create_system_grant": "rule:admin_api",
    "identity:revoke_system_grant": "rule:admin_api",
    "identity:list_role_assignments": ("rule:cloud_reader or (role:reader and domain_id:%(target.domain.id)s)"
                                       " or (role:reader and project_id:%(target.project.id)s) or rule:owner"),
    # credentials (EC2 and others) and application credentials
    "identity:list_credentials": "rule:cloud_reader or rule:owner",
    "identity:get_credential": "rule:cloud_reader or rule:owner",
    "identity:manage_credential": "rule:admin_api or rule:owner",
    "identity:list_application_credentials": "rule:cloud_reader or rule:owner",
    "identity:get_application_credential": "rule:cloud_reader or rule:owner",
    "identity:delete_application_credential": "rule:admin_api or rule:owner",
    # catalog
    "identity:read_catalog": "@",
    "identity:manage_catalog": "rule:admin_api",
    # tokens and the services' EC2 lookup
    "identity:validate_token": "rule:cloud_reader or rule:service_role or rule:owner",
    "identity:revoke_token": "rule:admin_api or rule:owner",
    "identity:ec2_lookup": "rule:service_role or rule:admin_api",
}

POLICY = Policy(RULES)


def credentials(caller: TokenInfo) -> Credentials:
    return Credentials.from_token(caller)


def allows(caller: TokenInfo, operation: str, target: dict[str, Any] | None = None) -> bool:
    """Whether the caller's token permits ``operation`` on ``target``."""
    return POLICY.allows(operation, credentials(caller), target)


def enforce(ctx: Ctx, operation: str, target: dict[str, Any] | None = None) -> TokenInfo:
    """The authenticated caller if the policy permits ``operation`` on ``target``; 401 / 403 otherwise."""
    caller = ctx.auth()
    if not allows(caller, operation, target):
        raise forbidden()
    return caller


def user_target(user: Any) -> dict[str, Any]:
    return {"user": {"id": user.id, "domain_id": user.domain_id}}


def project_target(project: Any) -> dict[str, Any]:
    return {"project": {"id": project.id, "domain_id": project.domain_id}}


def group_target(group: Any) -> dict[str, Any]:
    return {"group": {"id": group.id, "domain_id": group.domain_id}}


def scope_domain(caller: TokenInfo) -> dict[str, Any]:
    """Target of a listing: the caller's domain scope (domain readers list their own domain only)."""
    return {"domain_id": caller.domain_id} if caller.domain_id else {}


def listing_domain(caller: TokenInfo) -> str | None:
    """The only domain a listing may show the caller (None: every domain, for cloud readers)."""
    if POLICY.allows("cloud_reader", credentials(caller)):
        return None
    return caller.domain_id
