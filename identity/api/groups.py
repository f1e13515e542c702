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
    policy.admin(ctx)
    rows = listing(ctx, Group)
    return 200, views.collection(ctx.base, ctx.path, "groups", [views.group(g, ctx.base) for g in rows])


def create_group(ctx: Ctx):
    policy.admin(ctx)
    data = ctx.obj("group")
    grp = Group(id=new_id(), name=text(data, "name", required=True), domain_id=domain_id(ctx, data),
                description=text(data, "description", default="") or "")
    ctx.db.add(grp)
    flush(ctx, f"group {grp.name}")
    return 201, {"group": views.group(grp, ctx.base)}


def get_group(ctx: Ctx):
    policy.admin(ctx)
    return 200, {"group": views.group(get_or_404(ctx.db, Group, ctx.params["group_id"], "group"), ctx.base)}


def update_group(ctx: Ctx):
    policy.admin(ctx)
    grp = get_or_404(ctx.db, Group, ctx.params["group_id"], "group")
    data = ctx.obj("group")
    if "name" in data:
        grp.name = text(data, "name", required=True)
    if "description" in data:
        grp.description = text(data, "description", default="") or ""
    flush(ctx, f"group {grp.name}")
    return 200, {"group": views.group(grp, ctx.base)}


def delete_group(ctx: Ctx):
    policy.admin(ctx)
    grp = get_or_404(ctx.db, Group, ctx.params["group_id"], "group")
    members = list(ctx.db.scalars(select(GroupMember.user_id).where(GroupMember.group_id == grp.id)))
    ctx.db.execute(delete(Assignment).where(Assignment.actor_type == "group", Assignment.actor_id == grp.id))
    ctx.db.execute(delete(GroupMember).where(GroupMember.group_id == grp.id))
    ctx.db.delete(grp)
    for uid in members:
        ctx.svc.revoke(ctx.db, user_id=uid)
    return 204, None


def list_members(ctx: Ctx):
    policy.admin(ctx)
    grp = get_or_404(ctx.db, Group, ctx.params["group_id"], "group")
    rows = ctx.db.scalars(select(User).join(GroupMember, GroupMember.user_id == User.id)
                          .where(GroupMember.group_id == grp.id)).all()
    return 200, views.collection(ctx.base, ctx.path, "users", [views.user(u, ctx.base) for u in rows])


def _membership(ctx: Ctx) -> tuple[Group, User, GroupMember | None]:
    policy.admin(ctx)
    grp = get_or_404(ctx.db, Group, ctx.params["group_id"], "group")
    user = get_or_404(ctx.db, User, ctx.params["user_id"], "user")
    return grp, user, ctx.db.get(GroupMember, (grp.id, user.id))


def add_member(ctx: Ctx):
    grp, user, row = _membership(ctx)
    if row is None:
        ctx.db.add(GroupMember(group_id=grp.id, user_id=user.id))
    return 204, None


def check_member(ctx: Ctx):
    grp, user, row = _membership(ctx)
    if row is None:
        raise not_found("membership", f"{user.id} in {grp.id}")
    return 204, None


def remove_member(ctx: Ctx):
    grp, user, row = _membership(ctx)
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
