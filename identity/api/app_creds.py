"""``/v3/users/{user_id}/application_credentials``: secrets shown once, stored as scrypt hashes."""

from __future__ import annotations

import base64
import json
import os
from datetime import datetime

from sqlalchemy import select

from identity import policy, views
from identity.api.base import Ctx
from identity.api.crud import flush, text
from identity.errors import bad_request, forbidden, not_found
from identity.lookup import get_or_404, role_by_name_or_id
from identity.models import AppCredential, Role, User, new_id
from identity.passwords import hash_password


def _roles(ctx: Ctx, cred: AppCredential) -> list[Role]:
    return [r for r in (ctx.db.get(Role, i) for i in json.loads(cred.role_ids)) if r is not None]


def _expiry(value: object) -> float | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_request("Invalid input for field 'expires_at'.")
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise bad_request("Invalid input for field 'expires_at'.") from None
    if when.tzinfo is None:
        from datetime import UTC

        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def _owner(ctx: Ctx, operation: str) -> User:
    user = get_or_404(ctx.db, User, ctx.params["user_id"], "user")
    policy.enforce(ctx, operation, {"user": {"id": user.id}})
    return user


def create(ctx: Ctx):
    user = _owner(ctx, "identity:get_application_credential")
    caller = ctx.auth()
    if caller.user_id != user.id:
        raise forbidden("Application credentials can only be created by their user.")
    if caller.project is None:
        raise forbidden("Creating an application credential needs a project-scoped token.")
    if caller.app_cred and caller.app_cred.get("restricted", True):
        raise forbidden("A restricted application credential cannot create application credentials.")
    data = ctx.obj("application_credential")
    held = {r["id"] for r in caller.roles}
    requested = data.get("roles") or [{"id": r["id"]} for r in caller.roles]
    if not isinstance(requested, list):
        raise bad_request("Invalid input for field 'roles'.")
    roles = []
    for ref in requested:
        role = role_by_name_or_id(ctx.db, ref) if isinstance(ref, dict) else None
        if role is None or role.id not in held:
            raise forbidden(f"Role {ref} is not held in the token's project.")
        roles.append(role)
    secret = data.get("secret") or base64.urlsafe_b64encode(os.urandom(48)).rstrip(b"=").decode()
    if not isinstance(secret, str):
        raise bad_request("Invalid input for field 'secret'.")
    cred = AppCredential(id=new_id(), name=text(data, "name", required=True), user_id=user.id,
                         project_id=caller.project_id, secret_hash=hash_password(secret),
                         description=data.get("description") if isinstance(data.get("description"), str) else None,
                         expires_at=_expiry(data.get("expires_at")), unrestricted=bool(data.get("unrestricted")),
                         role_ids=json.dumps(sorted({r.id for r in roles})))
    ctx.db.add(cred)
    flush(ctx, f"application credential {cred.name}")
    return 201, {"application_credential": {**views.app_credential(cred, _roles(ctx, cred), ctx.base),
                                            "secret": secret}}


def list_creds(ctx: Ctx):
    user = _owner(ctx, "identity:list_application_credentials")
    stmt = select(AppCredential).where(AppCredential.user_id == user.id)
    if ctx.query.get("name"):
        stmt = stmt.where(AppCredential.name == ctx.query["name"])
    rows = ctx.db.scalars(stmt).all()
    return 200, views.collection(ctx.base, ctx.path, "application_credentials",
                                 [views.app_credential(c, _roles(ctx, c), ctx.base) for c in rows])


def _cred(ctx: Ctx, operation: str) -> AppCredential:
    user = _owner(ctx, operation)
    cred = ctx.db.get(AppCredential, ctx.params["cred_id"])
    if cred is None or cred.user_id != user.id:
        raise not_found("application credential", ctx.params["cred_id"])
    return cred


def get_cred(ctx: Ctx):
    cred = _cred(ctx, "identity:get_application_credential")
    return 200, {"application_credential": views.app_credential(cred, _roles(ctx, cred), ctx.base)}


def delete_cred(ctx: Ctx):
    cred = _cred(ctx, "identity:delete_application_credential")
    ctx.db.delete(cred)
    ctx.svc.revoke(ctx.db, app_cred_id=cred.id)
    return 204, None


BASE = "/v3/users/{user_id}/application_credentials"
ROUTES = [
    (BASE, "GET,HEAD", list_creds),
    (BASE, "POST", create),
    (BASE + "/{cred_id}", "GET,HEAD", get_cred),
    (BASE + "/{cred_id}", "DELETE", delete_cred),
]
