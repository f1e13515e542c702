"""``/v3/users``: CRUD, own password change, a user's projects and groups."""

from __future__ import annotations

from sqlalchemy import delete, select

from identity import policy, views
from identity.api.base import Ctx
from identity.api.crud import domain_id, flag, flush, listing, text
from identity.errors import bad_request, unauthorized
from identity.lookup import get_or_404, user_project_ids
from identity.models import Assignment, Group, GroupMember, Project, User, new_id
from identity.passwords import check_password, hash_password


def _password(data: dict) -> str | None:
    value = data.get("password")
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > 4096:
        raise bad_request("Invalid input for field 'password'.")
    return hash_password(value)


def _default_project(ctx: Ctx, data: dict) -> str | None:
    pid = data.get("default_project_id")
    if pid is None:
        return None
    if not isinstance(pid, str) or ctx.db.get(Project, pid) is None:
        raise bad_request(f"Could not find project: {pid}.")
    return pid


def list_users(ctx: Ctx):
    caller = policy.enforce(ctx, "identity:list_users", policy.scope_domain(ctx.auth()))
    rows = listing(ctx, User)
    only = policy.listing_domain(caller)
    rows = [u for u in rows if only is None or u.domain_id == only]
    return 200, views.collection(ctx.base, ctx.path, "users", [views.user(u, ctx.base) for u in rows])


def create_user(ctx: Ctx):
    data = ctx.obj("user")
    policy.enforce(ctx, "identity:create_user", {"user": {"domain_id": domain_id(ctx, data)}})
    user = User(id=new_id(), name=text(data, "name", required=True), domain_id=domain_id(ctx, data),
                password_hash=_password(data), email=text(data, "email"),
                description=text(data, "description", default="") or "", enabled=flag(data, "enabled"),
                default_project_id=_default_project(ctx, data))
    ctx.db.add(user)
    flush(ctx, f"user {user.name}")
    return 201, {"user": views.user(user, ctx.base)}


def get_user(ctx: Ctx):
    user = get_or_404(ctx.db, User, ctx.params["user_id"], "user")
    policy.enforce(ctx, "identity:get_user", policy.user_target(user))
    return 200, {"user": views.user(user, ctx.base)}


def update_user(ctx: Ctx):
    user = get_or_404(ctx.db, User, ctx.params["user_id"], "user")
    policy.enforce(ctx, "identity:update_user", policy.user_target(user))
    data = ctx.obj("user")
    revoke = False
    if "name" in data:
        user.name = text(data, "name", required=True)
    if "email" in data:
        user.email = text(data, "email")
    if "description" in data:
        user.description = text(data, "description", default="") or ""
    if "default_project_id" in data:
        user.default_project_id = _default_project(ctx, data)
    if "enabled" in data:
        user.enabled = flag(data, "enabled")
        revoke = revoke or not user.enabled
    if data.get("password") is not None:
        user.password_hash, revoke = _password(data), True
    if revoke:
        ctx.svc.revoke(ctx.db, user_id=user.id)
    flush(ctx, f"user {user.name}")
    return 200, {"user": views.user(user, ctx.base)}


def change_password(ctx: Ctx):
    """``POST /v3/users/{id}/password`` by the user: needs the original password; revokes their tokens."""
    user = get_or_404(ctx.db, User, ctx.params["user_id"], "user")
    data = ctx.obj("user")
    if not isinstance(data.get("original_password"), str) or not isinstance(data.get("password"), str):
        raise bad_request("Both original_password and password are required.")
    if not check_password(data["original_password"], user.password_hash):
        raise unauthorized("The original password is incorrect.")
    user.password_hash = _password(data)
    ctx.svc.revoke(ctx.db, user_id=user.id)
    return 204, None


def delete_user(ctx: Ctx):
    user = get_or_404(ctx.db, User, ctx.params["user_id"], "user")
    policy.enforce(ctx, "identity:delete_user", policy.user_target(user))
    ctx.db.execute(delete(Assignment).where(Assignment.actor_type == "user", Assignment.actor_id == user.id))
    ctx.db.delete(user)
    ctx.svc.revoke(ctx.db, user_id=user.id)
    return 204, None


def user_projects(ctx: Ctx):
    user = get_or_404(ctx.db, User, ctx.params["user_id"], "user")
    policy.enforce(ctx, "identity:list_projects_for_user", policy.user_target(user))
    rows = [ctx.db.get(Project, pid) for pid in user_project_ids(ctx.db, user.id)]
    return 200, views.collection(ctx.base, ctx.path, "projects",
                                 [views.project(p, ctx.base) for p in rows if p is not None])


def user_groups(ctx: Ctx):
    user = get_or_404(ctx.db, User, ctx.params["user_id"], "user")
    policy.enforce(ctx, "identity:list_groups_for_user", policy.user_target(user))
    rows = ctx.db.scalars(select(Group).join(GroupMember, GroupMember.group_id == Group.id)
                          .where(GroupMember.user_id == user.id)).all()
    return 200, views.collection(ctx.base, ctx.path, "groups", [views.group(g, ctx.base) for g in rows])


ROUTES = [
    ("/v3/users", "GET,HEAD", list_users),
    ("/v3/users", "POST", create_user),
    ("/v3/users/{user_id}", "GET,HEAD", get_user),
    ("/v3/users/{user_id}", "PATCH", update_user),
    ("/v3/users/{user_id}", "DELETE", delete_user),
    ("/v3/users/{user_id}/password", "POST", change_password, False),
    ("/v3/users/{user_id}/projects", "GET,HEAD", user_projects),
    ("/v3/users/{user_id}/groups", "GET,HEAD", user_groups),
]
