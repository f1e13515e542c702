"""Who may call what on the block-storage API: one table (operation → rule), Cinder's secure-RBAC defaults.

``reader`` lists and shows its project's resources; ``member`` creates, updates, deletes, attaches and
backs them up; the cloud admin (system admin, or admin of the admin project) does everything, in every
project: ``all_tenants``, volume types, other projects' quotas, ``os-reset_status``, ``os-force_delete``.
An admin of any other project is a member of its project here. Each route maps to one operation
(``ROUTE_OPERATIONS``); volume actions are checked per action name by ``actions.dispatch``.
"""

from __future__ import annotations

from typing import Any

from stackstore.policy import BASE_RULES, Policy
from volumes.context import Context
from volumes.errors import ApiError

READ = "rule:cloud_reader or rule:project_reader"
WRITE = "rule:admin_api or rule:project_member"
ADMIN = "rule:admin_api"

_ACTIONS_WRITE = ("os-extend", "os-extend_volume_completion", "os-reserve", "os-unreserve",
                  "os-initialize_connection", "os-attach", "os-begin_detaching", "os-roll_detaching", "os-detach",
                  "os-terminate_connection", "os-set_bootable", "os-update_readonly_flag")
_ACTIONS_ADMIN = ("os-reset_status", "os-force_delete")

RULES: dict[str, str] = {
    **BASE_RULES,
    "volume:get_all": READ, "volume:get": READ, "volume:create": WRITE, "volume:update": WRITE,
    "volume:delete": WRITE, "volume:action": READ,  # the action itself is checked by name
    "volume:get_volume_metadata": READ, "volume:update_volume_metadata": WRITE,
    "volume:delete_volume_metadata": WRITE,
    "volume:get_all_snapshots": READ, "volume:get_snapshot": READ, "volume:create_snapshot": WRITE,
    "volume:update_snapshot": WRITE, "volume:delete_snapshot": WRITE,
    "volume:get_snapshot_metadata": READ, "volume:update_snapshot_metadata": WRITE,
    "volume:attachment_get_all": READ, "volume:attachment_get": READ, "volume:attachment_create": WRITE,
    "volume:attachment_update": WRITE, "volume:attachment_delete": WRITE, "volume:attachment_complete": WRITE,
    "backup:get_all": READ, "backup:get": READ, "backup:create": WRITE, "backup:delete": WRITE,
    "backup:restore": WRITE,
    "volume_extension:type_get_all": READ, "volume_extension:type_get": READ,
    "volume_extension:types_manage": ADMIN, "volume_extension:types_extra_specs:index": READ,
    "volume_extension:quotas:show": READ, "volume_extension:quotas:update": ADMIN,
    "volume_extension:quotas:delete": ADMIN, "limits_extension:used_limits": READ,
    "volume_extension:availability_zone_list": READ,
    **{f"volume_extension:volume_actions:{name}": WRITE for name in _ACTIONS_WRITE},
    **{f"volume_extension:volume_admin_actions:{name}": ADMIN for name in _ACTIONS_ADMIN},
}

# (method, path below /v3[/{project_id}]) -> operation
ROUTE_OPERATIONS: dict[tuple[str, str], str] = {
    ("GET", "/volumes"): "volume:get_all", ("POST", "/volumes"): "volume:create",
    ("GET", "/volumes/detail"): "volume:get_all",
    ("GET", "/volumes/{volume_id}"): "volume:get", ("PUT", "/volumes/{volume_id}"): "volume:update",
    ("DELETE", "/volumes/{volume_id}"): "volume:delete",
    ("POST", "/volumes/{volume_id}/action"): "volume:action",
    ("GET", "/volumes/{volume_id}/metadata"): "volume:get_volume_metadata",
    ("POST", "/volumes/{volume_id}/metadata"): "volume:update_volume_metadata",
    ("PUT", "/volumes/{volume_id}/metadata"): "volume:update_volume_metadata",
    ("DELETE", "/volumes/{volume_id}/metadata/{key}"): "volume:delete_volume_metadata",
    ("GET", "/snapshots"): "volume:get_all_snapshots", ("POST", "/snapshots"): "volume:create_snapshot",
    ("GET", "/snapshots/detail"): "volume:get_all_snapshots",
    ("GET", "/snapshots/{snapshot_id}"): "volume:get_snapshot",
    ("PUT", "/snapshots/{snapshot_id}"): "volume:update_snapshot",
    ("DELETE", "/snapshots/{snapshot_id}"): "volume:delete_snapshot",
    ("GET", "/snapshots/{snapshot_id}/metadata"): "volume:get_snapshot_metadata",
    ("POST", "/snapshots/{snapshot_id}/metadata"): "volume:update_snapshot_metadata",
    ("PUT", "/snapshots/{snapshot_id}/metadata"): "volume:update_snapshot_metadata",
    ("GET", "/attachments"): "volume:attachment_get_all", ("POST", "/attachments"): "volume:attachment_create",
    ("GET", "/attachments/detail"): "volume:attachment_get_all",
    ("GET", "/attachments/{attachment_id}"): "volume:attachment_get",
    ("PUT", "/attachments/{attachment_id}"): "volume:attachment_update",
    ("DELETE", "/attachments/{attachment_id}"): "volume:attachment_delete",
    ("POST", "/attachments/{attachment_id}/action"): "volume:attachment_complete",
    ("GET", "/backups"): "backup:get_all", ("POST", "/backups"): "backup:create",
    ("GET", "/backups/detail"): "backup:get_all",
    ("GET", "/backups/{backup_id}"): "backup:get", ("DELETE", "/backups/{backup_id}"): "backup:delete",
    ("POST", "/backups/{backup_id}/restore"): "backup:restore",
    ("GET", "/types"): "volume_extension:type_get_all", ("POST", "/types"): "volume_extension:types_manage",
    ("GET", "/types/{type_id}"): "volume_extension:type_get",
    ("PUT", "/types/{type_id}"): "volume_extension:types_manage",
    ("DELETE", "/types/{type_id}"): "volume_extension:types_manage",
    ("GET", "/types/{type_id}/extra_specs"): "volume_extension:types_extra_specs:index",
    ("POST", "/types/{type_id}/extra_specs"): "volume_extension:types_manage",
    ("DELETE", "/types/{type_id}/extra_specs/{key}"): "volume_extension:types_manage",
    ("GET", "/os-quota-sets/{target_project}"): "volume_extension:quotas:show",
    ("PUT", "/os-quota-sets/{target_project}"): "volume_extension:quotas:update",
    ("DELETE", "/os-quota-sets/{target_project}"): "volume_extension:quotas:delete",
    ("GET", "/os-quota-sets/{target_project}/defaults"): "volume_extension:quotas:show",
    ("GET", "/limits"): "limits_extension:used_limits",
    ("GET", "/os-availability-zone"): "volume_extension:availability_zone_list",
}

POLICY = Policy(RULES)


def action_operation(name: str) -> str:
    """The operation of volume action ``name`` (``os-reset_status`` is an admin action)."""
    kind = "volume_admin_actions" if name in _ACTIONS_ADMIN else "volume_actions"
    return f"volume_extension:{kind}:{name}"


def allows(ctx: Context, operation: str, target: dict[str, Any] | None = None) -> bool:
    return POLICY.allows(operation, ctx.credentials, {"project_id": ctx.project_id, **(target or {})})


def authorize(ctx: Context, operation: str, target: dict[str, Any] | None = None) -> None:
    """403 with Cinder's body unless the caller may perform ``operation`` (on its project by default)."""
    if not allows(ctx, operation, target):
        raise ApiError(403, f"Policy doesn't allow {operation} to be performed.")
