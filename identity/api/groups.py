"""``/v3/groups`` and group membership."""

from __future__ import annotations

from sqlalchemy import delete, select

from identity import policy, views
from identity.api.base import Ctx
from identity.api.crud import domain_id, flush, listing, text
from identity.errors import not_found
from identity.lookup import get_or_404
from identity.models import Assignment, Group, GroupMember, User, new_id


def list_groups(ctx: Ctx):
    caller = policy.enforce(ctx, "identity:list_groups", policy.scope_domain(ctx.auth()))
    only = policy.listing_domain(caller)
    rows = [g for g in listing(ctx, Group) if only is None or g.domain_id == only]
    return 200, views.collection(ctx.base, ctx.path, "groups", [views.group(g, ctx.base) for g in rows])


def create_group(ctx: Ctx):
    data = ctx.obj("group")
    policy.enforce(ctx, "identity:create_group", {"group": {"domain_id": domain_id(ctx, data)}})
    grp = Group(id=new_id(), name=text(data, "name", required=True), domain_id=domain_id(ctx, data),
                description=text(data, "description", default="") or "")
    ctx.db.add(grp)
    flush(ctx, f"group {grp.name}")
    return 201, {"group": views.group(grp, ctx.base)}


def get_group(ctx: Ctx):
    grp = get_or_404(ctx.db, Group, ctx.params["group_id"], "group")
    policy.enforce(ctx, "identity:get_group", policy.group_target(grp))
    return 200, {"group": views.group(grp, ctx.base)}


def update_group(ctx: Ctx):
    grp = get_or_404(ctx.db, Group, ctx.params["group_id"], "group")
    policy.enforce(ctx, "identity:update_group", policy.group_target(grp))
    data = ctx.obj("group")
    if "name" in data:
        grp.name = text(data, "name", required=True)
    if "description" in data:
        grp.description = text(data, "description", default="") or ""
    flush(ctx, f"group {grp.name}")
    return 200, {"group": views.group(grp, ctx.base)}


def delete_group(ctx: Ctx):
    grp = get_or_404(ctx.db, Group, ctx.params["group_id"], "group")
    policy.enforce(ctx, "identity:delete_group", policy.group_target(grp))
    members = list(ctx.db.scalars(select(GroupMember.user_id).where(GroupMember.group_id == grp.id)))
    ctx.db.execute(delete(Assignment).where(Assignment.actor_type == "group", Assignment.actor_id == grp.id))
    ctx.db.execute(delete(GroupMember).where(GroupMember.group_id == grp.id))
    ctx.db.delete(grp)
    for uid in members:
        ctx.svc.revoke(ctx.db, user_id=uid)
    return 204, None


def list_members(ctx: Ctx):
    grp = get_or_404(ctx.db, Group, ctx.params["group_id"], "group")
    policy.enforce(ctx, "identity:list_users_in_group", policy.group_target(grp))
    rows = ctx.db.scalars(select(User).join(GroupMember, GroupMember.user_id == User.id)
                          .where(GroupMember.group_id == grp.id)).all()
    return 200, views.collection(ctx.base, ctx.path, "users", [views.user(u, ctx.base) for u in rows])


def _membership(ctx: Ctx, operation: str) -> tuple[Group, User, GroupMember | None]:
    """The group, the user and their membership row, once ``operation`` is allowed on the group (and, to
    change a membership, the user may be updated by the caller too)."""
    grp = get_or_404(ctx.db, Group, ctx.params["group_id"], "group")
    user = get_or_404(ctx.db, User, ctx.params["user_id"], "user")
    policy.enforce(ctx, operation, policy.group_target(grp))
    if operation != "identity:check_user_in_group":
        policy.enforce(ctx, "identity:update_user", policy.user_target(user))
    return grp, user, ctx.db.get(GroupMember, (grp.id, user.id))


def add_member(ctx: Ctx):
    grp, user, row = _membership(ctx, "identity:add_user_to_group")
    if row is None:
        ctx.db.add(GroupMember(group_id=grp.id, user_id=user.id))
    return 204, None


def check_member(ctx: Ctx):
    grp, user, row = _membership(ctx, "identity:check_user_in_group")
    if row is None:
        raise not_found("membership", f"{user.id} in {grp.id}")
    return 204, None


def remove_member(ctx: Ctx):
    grp, user, row = _membership(ctx, "identity:remove_user_from_group")
    if row is None:
        raise not_found("membership", f"{user.id} in {grp.id}")
    ctx.db.delete(row)
    ctx.svc.revoke(ctx.db, user_id=user.id)
    return 204, None


ROUTES = [
    ("/v3/groups", "GET,HEAD", list_groups),
    ("/v3/groups", "POST", create_group),
    ("/v3/groups/{group_id}", "GET,HEAD", get_group),
    ("/v3/groups/{group_id}", "PATCH", update_group),
    ("/v3/groups/{group_id}", "DELETE", delete_group),
    ("/v3/groups/{group_id}/users", "GET,HEAD", list_members),
    ("/v3/groups/{group_id}/users/{user_id}", "PUT", add_member),
    ("/v3/groups/{group_id}/users/{user_id}", "GET,HEAD", check_member),
    ("/v3/groups/{group_id}/users/{user_id}", "DELETE", remove_member),
]
