"""Who may call what on the image API: one table (operation → rule), Glance's secure-RBAC defaults.

``reader`` lists, shows and downloads images it can see; ``member`` creates, updates, uploads, tags and
deletes its project's images; the cloud admin (system admin, or admin of the admin project) acts on every
image and alone may make an image public (``publicize_image``, checked where the visibility is set). An
admin of any other project is a member of its project here. Which images a caller sees or owns is
decided per image in ``images.api.base``.
"""

from __future__ import annotations

from typing import Any

from identity.tokens import TokenInfo
from images.errors import forbidden
from stackstore.policy import BASE_RULES, Credentials, Policy

READ = "rule:cloud_reader or rule:project_reader"
WRITE = "rule:admin_api or rule:project_member"

RULES: dict[str, str] = {
    **BASE_RULES,
    "get_images": READ, "get_image": READ, "download_image": READ,
    "add_image": "rule:project_member", "modify_image": WRITE, "upload_image": WRITE, "delete_image": WRITE,
    "publicize_image": "rule:admin_api",
}

POLICY = Policy(RULES)


def allows(who: TokenInfo, operation: str, target: dict[str, Any] | None = None) -> bool:
    return POLICY.allows(operation, Credentials.from_token(who), {"project_id": who.project_id, **(target or {})})


def authorize(who: TokenInfo, operation: str, target: dict[str, Any] | None = None) -> None:
    """403 with Glance's body unless the token permits ``operation``."""
    if not allows(who, operation, target):
        raise forbidden(f"You are not authorized to complete {operation} action.")
