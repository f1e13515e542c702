"""``/v3/projects`` and ``/v3/domains``."""

from __future__ import annotations

from sqlalchemy import delete, select

from identity import policy, views
from identity.api.base import Ctx
from identity.api.crud import domain_id, flag, flush, listing, text
from identity.errors import bad_request, forbidden
from identity.lookup import get_or_404, user_project_ids
from identity.models import AppCredential, Assignment, Credential, Domain, Project, User, new_id


def list_projects(ctx: Ctx):
    """Cloud readers see every project, domain readers their domain's, anyone else the projects they
    hold a role on."""
    caller = ctx.auth()
    rows = listing(ctx, Project)
    if not policy.allows(caller, "identity:list_projects", policy.scope_domain(caller)):
        mine = set(user_project_ids(ctx.db, caller.user_id))
        rows = [p for p in rows if p.id in mine]
    elif (only := policy.listing_domain(caller)) is not None:
        rows = [p for p in rows if p.domain_id == only]
    return 200, views.collection(ctx.base, ctx.path, "projects", [views.project(p, ctx.base) for p in rows])


def create_project(ctx: Ctx):
    data = ctx.obj("project")
    policy.enforce(ctx, "identity:create_project", {"project": {"domain_id": domain_id(ctx, data)}})
    if data.get("is_domain"):
        raise bad_request("Projects acting as domains are not supported.")
    proj = Project(id=new_id(), name=text(data, "name", required=True), domain_id=domain_id(ctx, data),
                   description=text(data, "description", default="") or "", enabled=flag(data, "enabled"))
    ctx.db.add(proj)
    flush(ctx, f"project {proj.name}")
    return 201, {"project": views.project(proj, ctx.base)}


def get_project(ctx: Ctx):
    proj = get_or_404(ctx.db, Project, ctx.params["project_id"], "project")
    caller = ctx.auth()
    if not (policy.allows(caller, "identity:get_project", policy.project_target(proj))
            or proj.id in user_project_ids(ctx.db, caller.user_id)):
        raise forbidden()
    return 200, {"project": views.project(proj, ctx.base)}


def update_project(ctx: Ctx):
    proj = get_or_404(ctx.db, Project, ctx.params["project_id"], "project")
    policy.enforce(ctx, "identity:update_project", policy.project_target(proj))
    data = ctx.obj("project")
    if "name" in data:
        proj.name = text(data, "name", required=True)
    if "description" in data:
        proj.description = text(data, "description", default="") or ""
    if "enabled" in data:
        proj.enabled = flag(data, "enabled")
        if not proj.enabled:
            ctx.svc.revoke(ctx.db, project_id=proj.id)
    flush(ctx, f"project {proj.name}")
    return 200, {"project": views.project(proj, ctx.base)}


def delete_project(ctx: Ctx):
    proj = get_or_404(ctx.db, Project, ctx.params["project_id"], "project")
    policy.enforce(ctx, "identity:delete_project", policy.project_target(proj))
    db = ctx.db
    db.execute(delete(Assignment).where(Assignment.target_type == "project", Assignment.target_id == proj.id))
    db.execute(delete(Credential).where(Credential.project_id == proj.id))
    db.execute(delete(AppCredential).where(AppCredential.project_id == proj.id))
    db.execute(User.__table__.update().where(User.default_project_id == proj.id).values(default_project_id=None))
    db.delete(proj)
    ctx.svc.revoke(db, project_id=proj.id)
    return 204, None


def list_domains(ctx: Ctx):
    policy.enforce(ctx, "identity:list_domains")
    rows = listing(ctx, Domain, ("name",))
    return 200, views.collection(ctx.base, ctx.path, "domains", [views.domain(d, ctx.base) for d in rows])


def create_domain(ctx: Ctx):
    policy.enforce(ctx, "identity:create_domain")
    data = ctx.obj("domain")
    dom = Domain(id=new_id(), name=text(data, "name", required=True),
                 description=text(data, "description", default="") or "", enabled=flag(data, "enabled"))
    ctx.db.add(dom)
    flush(ctx, f"domain {dom.name}")
    return 201, {"domain": views.domain(dom, ctx.base)}


def get_domain(ctx: Ctx):
    policy.enforce(ctx, "identity:get_domain")
    dom = get_or_404(ctx.db, Domain, ctx.params["domain_id"], "domain")
    return 200, {"domain": views.domain(dom, ctx.base)}


def update_domain(ctx: Ctx):
    policy.enforce(ctx, "identity:update_domain")
    dom = get_or_404(ctx.db, Domain, ctx.params["domain_id"], "domain")
    data = ctx.obj("domain")
    if "name" in data:
        dom.name = text(data, "name", required=True)
    if "description" in data:
        dom.description = text(data, "description", default="") or ""
    if "enabled" in data:
        dom.enabled = flag(data, "enabled")
    flush(ctx, f"domain {dom.name}")
    return 200, {"domain": views.domain(dom, ctx.base)}


def delete_domain(ctx: Ctx):
    policy.enforce(ctx, "identity:delete_domain")
    dom = get_or_404(ctx.db, Domain, ctx.params["domain_id"], "domain")
    if dom.enabled:
        raise forbidden("Cannot delete a domain that is enabled, please disable it first.")
    for model in (Project, User):
        if ctx.db.scalar(select(model.id).where(model.domain_id == dom.id).limit(1)):
            raise forbidden("Cannot delete a domain that still has projects or users.")
    ctx.db.delete(dom)
    return 204, None


ROUTES = [
    ("/v3/projects", "GET,HEAD", list_projects),
    ("/v3/projects", "POST", create_project),
    ("/v3/projects/{project_id}", "GET,HEAD", get_project),
    ("/v3/projects/{project_id}", "PATCH", update_project),
    ("/v3/projects/{project_id}", "DELETE", delete_project),
    ("/v3/domains", "GET,HEAD", list_domains),
    ("/v3/domains", "POST", create_domain),
    ("/v3/domains/{domain_id}", "GET,HEAD", get_domain),
    ("/v3/domains/{domain_id}", "PATCH", update_domain),
    ("/v3/domains/{domain_id}", "DELETE", delete_domain),
]
