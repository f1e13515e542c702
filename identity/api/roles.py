"""``/v3/roles``, grants on projects/domains (``PUT /v3/projects/{p}/users/{u}/roles/{r}``) and
``/v3/role_assignments``."""

from __future__ import annotations

from sqlalchemy import delete, select

from identity import policy, views
from identity.api.base import Ctx
from identity.api.crud import flush, listing, text
from identity.errors import bad_request, forbidden, not_found
from identity.lookup import SYSTEM_TARGET, get_or_404, user_group_ids
from identity.models import Assignment, Domain, Group, GroupMember, Project, Role, User, new_id

PROTECTED = ("admin", "member", "reader")


def list_roles(ctx: Ctx):
    policy.enforce(ctx, "identity:list_roles")
    rows = listing(ctx, Role, ("name",))
    return 200, views.collection(ctx.base, ctx.path, "roles", [views.role(r, ctx.base) for r in rows])


def create_role(ctx: Ctx):
    policy.enforce(ctx, "identity:create_role")
    data = ctx.obj("role")
    role = Role(id=new_id(), name=text(data, "name", required=True),
                description=text(data, "description", default="") or "")
    ctx.db.add(role)
    flush(ctx, f"role {role.name}")
    return 201, {"role": views.role(role, ctx.base)}


def get_role(ctx: Ctx):
    policy.enforce(ctx, "identity:get_role")
    return 200, {"role": views.role(get_or_404(ctx.db, Role, ctx.params["role_id"], "role"), ctx.base)}


def delete_role(ctx: Ctx):
    policy.enforce(ctx, "identity:delete_role")
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


def _target_ref(target_type: str, target: Project | Domain | None) -> dict:
    """The policy target naming a grant's project or domain (the system has none)."""
    if isinstance(target, Project):
        return {"project": {"id": target.id, "domain_id": target.domain_id}}
    if isinstance(target, Domain):
        return {"domain": {"id": target.id}}
    return {}


def _target_of(ctx: Ctx) -> tuple[str, str, Project | Domain | None]:
    """(target type, target id, row) of a grant URL: project, domain or the system (``all``); 404 unknown."""
    p = ctx.params
    if "project_id" in p:
        proj = get_or_404(ctx.db, Project, p["project_id"], "project")
        return "project", proj.id, proj
    if "domain_id" in p:
        dom = get_or_404(ctx.db, Domain, p["domain_id"], "domain")
        return "domain", dom.id, dom
    return SYSTEM_TARGET[0], SYSTEM_TARGET[1], None


def _actor_of(ctx: Ctx) -> tuple[str, User | Group]:
    p = ctx.params
    if "user_id" in p:
        return "user", get_or_404(ctx.db, User, p["user_id"], "user")
    return "group", get_or_404(ctx.db, Group, p["group_id"], "group")


def _grant(ctx: Ctx, operation: str) -> tuple[Assignment, Assignment | None]:
    """The assignment a grant URL names (and the existing row), after 404 and policy checks: ``operation``
    (``create_grant`` …) on a project/domain, its ``_system_`` variant on the system."""
    target_type, target_id, target = _target_of(ctx)
    actor_type, actor = _actor_of(ctx)
    role = get_or_404(ctx.db, Role, ctx.params["role_id"], "role")
    if target_type == "system":
        operation = operation.replace("_grant", "_system_grant")
    policy.enforce(ctx, operation, {**_target_ref(target_type, target), "role": {"id": role.id, "name": role.name},
                                    **({"user": {"id": actor.id}} if actor_type == "user" else {})})
    key = (actor_type, actor.id, target_type, target_id, role.id)
    return Assignment(actor_type=actor_type, actor_id=actor.id, target_type=target_type, target_id=target_id,
                      role_id=role.id), ctx.db.get(Assignment, key)


def put_grant(ctx: Ctx):
    new, existing = _grant(ctx, "identity:create_grant")
    if existing is None:
        ctx.db.add(new)
    return 204, None


def check_grant(ctx: Ctx):
    new, existing = _grant(ctx, "identity:check_grant")
    if existing is None:
        raise not_found("role assignment", new.role_id)
    return 204, None


def delete_grant(ctx: Ctx):
    new, existing = _grant(ctx, "identity:revoke_grant")
    if existing is None:
        raise not_found("role assignment", new.role_id)
    ctx.db.delete(existing)
    _revoke_actor(ctx, new.actor_type, new.actor_id, new.target_id if new.target_type == "project" else None)
    return 204, None


def list_grants(ctx: Ctx):
    target_type, target_id, target = _target_of(ctx)
    actor_type, actor = _actor_of(ctx)
    operation = "identity:list_system_grants" if target_type == "system" else "identity:list_grants"
    policy.enforce(ctx, operation, {**_target_ref(target_type, target),
                                    **({"user": {"id": actor.id}} if actor_type == "user" else {})})
    rows = ctx.db.scalars(select(Role).join(Assignment, Assignment.role_id == Role.id).where(
        Assignment.actor_type == actor_type, Assignment.actor_id == actor.id, Assignment.target_type == target_type,
        Assignment.target_id == target_id)).all()
    return 200, views.collection(ctx.base, ctx.path, "roles", [views.role(r, ctx.base) for r in rows])


def _assignment_view(ctx: Ctx, a: Assignment, names: bool, via_group: str | None = None, user_id: str = "") -> dict:
    role = ctx.db.get(Role, a.role_id)
    if a.target_type == SYSTEM_TARGET[0]:
        scope: dict = {"system": {"all": True}}
        link = f"{ctx.base}/v3/system/{a.actor_type}s/{a.actor_id}/roles/{a.role_id}"
    else:
        scope = {a.target_type: {"id": a.target_id}}
        link = f"{ctx.base}/v3/{a.target_type}s/{a.target_id}/{a.actor_type}s/{a.actor_id}/roles/{a.role_id}"
    out: dict = {"role": {"id": a.role_id}, "scope": scope, "links": {"assignment": link}}
    if via_group:
        out["user"] = {"id": user_id}
        out["links"]["membership"] = f"{ctx.base}/v3/groups/{via_group}/users/{user_id}"
    else:
        out[a.actor_type] = {"id": a.actor_id}
    if names:
        if role is not None:
            out["role"]["name"] = role.name
        target = None if a.target_type == SYSTEM_TARGET[0] else ctx.db.get(
            Project if a.target_type == "project" else Domain, a.target_id)
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
    q = ctx.query
    user_id, project_id = q.get("user.id"), q.get("scope.project.id")
    target: dict = {}
    if user_id:
        target["user"] = {"id": user_id}
    if project_id:
        target["project"] = {"id": project_id}
    if q.get("scope.domain.id"):
        target["domain"] = {"id": q["scope.domain.id"]}
    policy.enforce(ctx, "identity:list_role_assignments", target)
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
    if q.get("scope.system"):
        if q["scope.system"] != "all":
            raise bad_request("scope.system must be 'all'.")
        stmt = stmt.where(Assignment.target_type == SYSTEM_TARGET[0], Assignment.target_id == SYSTEM_TARGET[1])
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
               "/v3/domains/{domain_id}/users/{user_id}/roles", "/v3/domains/{domain_id}/groups/{group_id}/roles",
               "/v3/system/users/{user_id}/roles", "/v3/system/groups/{group_id}/roles"]

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
