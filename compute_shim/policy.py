"""Who may call what on the compute API: one table (operation → rule), Nova's secure-RBAC defaults.

``reader`` lists and shows its project's servers; ``member`` creates, updates, deletes, starts, stops,
reboots them and attaches volumes; the cloud admin (system admin, or admin of the admin project) acts on
every project (``all_tenants``), manages flavors and sees zone details. An admin of any other project is
a member of its project here. Each route maps to one operation (``ROUTE_OPERATIONS``); server actions
are checked per action name.
"""

from __future__ import annotations

from typing import Any

from compute_shim.errors import forbidden
from identity.tokens import TokenInfo
from stackstore.policy import BASE_RULES, Credentials, Policy

READ = "rule:cloud_reader or rule:project_reader"
WRITE = "rule:admin_api or rule:project_member"
ADMIN = "rule:admin_api"
P = "os_compute_api:"

RULES: dict[str, str] = {
    **BASE_RULES,
    P + "os-flavor-manage:create": ADMIN, P + "os-flavor-manage:delete": ADMIN,
    P + "flavors:index": "@", P + "flavors:show": "@",
    P + "os-flavor-extra-specs:index": READ, P + "os-flavor-extra-specs:create": ADMIN,
    P + "os-flavor-extra-specs:delete": ADMIN,
    P + "servers:index": READ, P + "servers:detail": READ, P + "servers:show": READ,
    P + "servers:create": "rule:project_member", P + "servers:update": WRITE, P + "servers:delete": WRITE,
    P + "servers:action": READ,  # the action itself is checked by name below
    P + "servers:start": WRITE, P + "servers:stop": WRITE, P + "servers:reboot": WRITE,
    P + "server-metadata:index": READ, P + "server-metadata:create": WRITE, P + "server-metadata:delete": WRITE,
    P + "os-volumes-attachments:index": READ, P + "os-volumes-attachments:show": READ,
    P + "os-volumes-attachments:create": WRITE, P + "os-volumes-attachments:update": WRITE,
    P + "os-volumes-attachments:delete": WRITE,
    P + "os-availability-zone:list": READ, P + "os-availability-zone:detail": ADMIN,
}

_S, _VA = "/servers/{server_id}", "/servers/{server_id}/os-volume_attachments"
# (method, path below /v2.1) -> operation
ROUTE_OPERATIONS: dict[tuple[str, str], str] = {
    ("GET", "/flavors"): P + "flavors:index", ("POST", "/flavors"): P + "os-flavor-manage:create",
    ("GET", "/flavors/detail"): P + "flavors:index", ("GET", "/flavors/{flavor_id}"): P + "flavors:show",
    ("DELETE", "/flavors/{flavor_id}"): P + "os-flavor-manage:delete",
    ("GET", "/flavors/{flavor_id}/os-extra_specs"): P + "os-flavor-extra-specs:index",
    ("POST", "/flavors/{flavor_id}/os-extra_specs"): P + "os-flavor-extra-specs:create",
    ("DELETE", "/flavors/{flavor_id}/os-extra_specs/{key}"): P + "os-flavor-extra-specs:delete",
    ("GET", "/servers"): P + "servers:index", ("POST", "/servers"): P + "servers:create",
    ("GET", "/servers/detail"): P + "servers:detail", ("GET", _S): P + "servers:show",
    ("PUT", _S): P + "servers:update", ("DELETE", _S): P + "servers:delete",
    ("POST", _S + "/action"): P + "servers:action",
    ("GET", _S + "/metadata"): P + "server-metadata:index", ("POST", _S + "/metadata"): P + "server-metadata:create",
    ("PUT", _S + "/metadata"): P + "server-metadata:create",
    ("DELETE", _S + "/metadata/{key}"): P + "server-metadata:delete",
    ("GET", _VA): P + "os-volumes-attachments:index", ("POST", _VA): P + "os-volumes-attachments:create",
    ("GET", _VA + "/{volume_id}"): P + "os-volumes-attachments:show",
    ("PUT", _VA + "/{volume_id}"): P + "os-volumes-attachments:update",
    ("DELETE", _VA + "/{volume_id}"): P + "os-volumes-attachments:delete",
    ("GET", "/os-availability-zone"): P + "os-availability-zone:list",
    ("GET", "/os-availability-zone/detail"): P + "os-availability-zone:detail",
}

ACTION_OPERATIONS = {"os-start": P + "servers:start", "os-stop": P + "servers:stop", "reboot": P + "servers:reboot"}

POLICY = Policy(RULES)


def allows(who: TokenInfo, operation: str, target: dict[str, Any] | None = None) -> bool:
    """Whether the token permits ``operation`` (on the token's own project unless ``target`` says else)."""
    return POLICY.allows(operation, Credentials.from_token(who), {"project_id": who.project_id, **(target or {})})


def authorize(who: TokenInfo, operation: str, target: dict[str, Any] | None = None) -> None:
    """403 with Nova's body unless the token permits ``operation``."""
    if not allows(who, operation, target):
        raise forbidden(f"Policy doesn't allow {operation} to be performed.")
