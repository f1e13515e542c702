"""``/v3/roles``, grants on projects/domains (``PUT /v3/projects/{p}/users/{u}/roles/{r}``) and
``/v3/role_assignments``."""

from __future__ import annotations

from sqlalchemy import delete, select

from identity import policy, views
from identity.api.base import Ctx
from identity.api.crud import flush, listing, text
from identity.errors import forbidden, not_found
from identity.lookup import get_or_404, user_group_ids
from identity.models import Assignment, Domain, Group, GroupMember, Project, Role, User, new_id

PROTECTED = ("admin", "member", "reader")


def list_roles(ctx: Ctx):
    policy.authenticated(ctx)
    rows = listing(ctx, Role, ("name",))
    return 200, views.collection(ctx.base, ctx.path, "roles", [views.role(r, ctx.base) for r in rows])


def create_role(ctx: Ctx):
    policy.admin(ctx)
    data = ctx.obj("role")
    role = Role(id=new_id(), name=text(data, "name", required=True),
                description=text(data, "description", default="") or "")
    ctx.db.add(role)
    flush(ctx, f"role {role.name}")
    return 201, {"role": views.role(role, ctx.base)}


def get_role(ctx: Ctx):
    policy.authenticated(ctx)
    return 200, {"role": views.role(get_or_404(ctx.db, Role, ctx.params["role_id"], "role"), ctx.base)}


def delete_role(ctx: Ctx):
    policy.admin(ctx)
    role = get_or_404(ctx.db, Role, ctx.params["role_id"], "role")
    if role.name in PROTECTED:
        raise forbidden(f"The role {role.name} is needed by the cloud and cannot be deleted.")
    holders = ctx.db.execute(select(Assignment.actor_type, Assignment.actor_id).where(Assignment.role_id == role.id))
    for actor_type, actor_id in holders.all():
        _revoke_actor(ctx, actor_type, actor_id, None)
    ctx.db.execute(delete(Assignment).where(Assignment.role_id == role.id))
    ctx.db.delete(role)
    return 204, None


def _revoke_actor(ctx: Ctx, actor_type: str, actor_id: str, project_id: str | None) -> None:
    users = [actor_id] if actor_type == "user" else list(
        ctx.db.scalars(select(GroupMember.user_id).where(GroupMember.group_id == actor_id)))
    for uid in users:
        ctx.svc.revoke(ctx.db, user_id=uid, project_id=project_id)


def _grant(ctx: Ctx) -> tuple[Assignment, Assignment | None]:
    """The assignment a grant URL names (and the existing row), after 404 checks."""
    policy.admin(ctx)
    p = ctx.params
    target_type, target_model = ("project", Project) if "project_id" in p else ("domain", Domain)
    target = get_or_404(ctx.db, target_model, p[f"{target_type}_id"], target_type)
    actor_type, actor_model = ("user", User) if "user_id" in p else ("group", Group)
    actor = get_or_404(ctx.db, actor_model, p[f"{actor_type}_id"], actor_type)
    role = get_or_404(ctx.db, Role, p["role_id"], "role")
    key = (actor_type, actor.id, target_type, target.id, role.id)
    return Assignment(actor_type=actor_type, actor_id=actor.id, target_type=target_type, target_id=target.id,
                      role_id=role.id), ctx.db.get(Assignment, key)


def put_grant(ctx: Ctx):
    new, existing = _grant(ctx)
    if existing is None:
        ctx.db.add(new)
    return 204, None


def check_grant(ctx: Ctx):
    new, existing = _grant(ctx)
    if existing is None:
        raise not_found("role assignment", new.role_id)
    return 204, None


def delete_grant(ctx: Ctx):
    new, existing = _grant(ctx)
    if existing is None:
        raise not_found("role assignment", new.role_id)
    ctx.db.delete(existing)
    _revoke_actor(ctx, new.actor_type, new.actor_id, new.target_id if new.target_type == "project" else None)
    return 204, None


def list_grants(ctx: Ctx):
    new, _ = _grant_target(ctx)
    rows = ctx.db.scalars(select(Role).join(Assignment, Assignment.role_id == Role.id).where(
        Assignment.actor_type == new[0], Assignment.actor_id == new[1], Assignment.target_type == new[2],
        Assignment.target_id == new[3])).all()
    return 200, views.collection(ctx.base, ctx.path, "roles", [views.role(r, ctx.base) for r in rows])


def _grant_target(ctx: Ctx) -> tuple[tuple[str, str, str, str], None]:
    policy.admin(ctx)
    p = ctx.params
    target_type = "project" if "project_id" in p else "domain"
    actor_type = "user" if "user_id" in p else "group"
    target = get_or_404(ctx.db, Project if target_type == "project" else Domain, p[f"{target_type}_id"], target_type)
    actor = get_or_404(ctx.db, User if actor_type == "user" else Group, p[f"{actor_type}_id"], actor_type)
    return (actor_type, actor.id, target_type, target.id), None


def _assignment_view(ctx: Ctx, a: Assignment, names: bool, via_group: str | None = None, user_id: str = "") -> dict:
    role = ctx.db.get(Role, a.role_id)
    out: dict = {"role": {"id": a.role_id}, "scope": {a.target_type: {"id": a.target_id}},
                 "links": {"assignment": f"{ctx.base}/v3/{a.target_type}s/{a.target_id}/{a.actor_type}s/"
                                         f"{a.actor_id}/roles/{a.role_id}"}}
    if via_group:
        out["user"] = {"id": user_id}
        out["links"]["membership"] = f"{ctx.base}/v3/groups/{via_group}/users/{user_id}"
    else:
        out[a.actor_type] = {"id": a.actor_id}
    if names:
        if role is not None:
            out["role"]["name"] = role.name
        target = ctx.db.get(Project if a.target_type == "project" else Domain, a.target_id)
        if target is not None:
            out["scope"][a.target_type].update(name=target.name)
            if a.target_type == "project":
                dom = ctx.db.get(Domain, target.domain_id)
                out["scope"]["project"]["domain"] = {"id": dom.id, "name": dom.name}
        for kind, model in (("user", User), ("group", Group)):
            if kind in out:
                obj = ctx.db.get(model, out[kind]["id"])
                if obj is not None:
                    dom = ctx.db.get(Domain, obj.domain_id)
                    out[kind].update(name=obj.name, domain={"id": dom.id, "name": dom.name})
    return out


def list_assignments(ctx: Ctx):
    caller = policy.authenticated(ctx)
    q = ctx.query
    user_id, project_id = q.get("user.id"), q.get("scope.project.id")
    if not caller.is_admin and user_id != caller.user_id and (project_id is None or project_id != caller.project_id):
        raise forbidden()
    effective = "effective" in q
    names = q.get("include_names", "").lower() in ("1", "true", "") and "include_names" in q
    stmt = select(Assignment)
    for key, col in (("role.id", Assignment.role_id), ("scope.project.id", None), ("scope.domain.id", None)):
        if q.get(key) and col is not None:
            stmt = stmt.where(col == q[key])
    if project_id:
        stmt = stmt.where(Assignment.target_type == "project", Assignment.target_id == project_id)
    if q.get("scope.domain.id"):
        stmt = stmt.where(Assignment.target_type == "domain", Assignment.target_id == q["scope.domain.id"])
    if q.get("group.id"):
        stmt = stmt.where(Assignment.actor_type == "group", Assignment.actor_id == q["group.id"])
    if user_id and not effective:
        stmt = stmt.where(Assignment.actor_type == "user", Assignment.actor_id == user_id)
    elif user_id:
        groups = user_group_ids(ctx.db, user_id)
        stmt = stmt.where(((Assignment.actor_type == "user") & (Assignment.actor_id == user_id))
                          | ((Assignment.actor_type == "group") & Assignment.actor_id.in_(groups or [""])))
    out = []
    for a in ctx.db.scalars(stmt).all():
        if effective and a.actor_type == "group":
            members = [user_id] if user_id else list(
                ctx.db.scalars(select(GroupMember.user_id).where(GroupMember.group_id == a.actor_id)))
            out.extend(_assignment_view(ctx, a, names, a.actor_id, uid) for uid in members)
        else:
            out.append(_assignment_view(ctx, a, names))
    return 200, views.collection(ctx.base, ctx.path, "role_assignments", out)


GRANT_PATHS = ["/v3/projects/{project_id}/users/{user_id}/roles", "/v3/projects/{project_id}/groups/{group_id}/roles",
               "/v3/domains/{domain_id}/users/{user_id}/roles", "/v3/domains/{domain_id}/groups/{group_id}/roles"]

ROUTES = [
    ("/v3/roles", "GET,HEAD", list_roles),
    ("/v3/roles", "POST", create_role),
    ("/v3/roles/{role_id}", "GET,HEAD", get_role),
    ("/v3/roles/{role_id}", "DELETE", delete_role),
    ("/v3/role_assignments", "GET,HEAD", list_assignments),
]
for _path in GRANT_PATHS:
    ROUTES += [(_path, "GET", list_grants), (_path + "/{role_id}", "PUT", put_grant),
               (_path + "/{role_id}", "HEAD", check_grant), (_path + "/{role_id}", "GET", check_grant),
               (_path + "/{role_id}", "DELETE", delete_grant)]
