"""``/v3/auth/*``: issue, validate and revoke tokens; the caller's projects, domains and catalog."""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

from identity import views
from identity.api.base import Ctx
from identity.authn import authenticate
from identity.catalog import build_catalog
from identity.errors import KeystoneError, forbidden
from identity.lookup import effective_roles, user_project_ids
from identity.models import Domain, Project
from identity.tokens import TokenInfo


def _catalog(ctx: Ctx, info: TokenInfo) -> list[dict]:
    return build_catalog(ctx.db, info.project_id)


def issue(ctx: Ctx) -> Response:
    info = authenticate(ctx)
    token = ctx.svc.issue(info)
    body = info.body(None if "nocatalog" in ctx.query else _catalog(ctx, info))
    return JSONResponse(body, status_code=201, headers={"X-Subject-Token": token})


def _subject(ctx: Ctx) -> tuple[TokenInfo, str]:
    caller = ctx.auth()
    token = ctx.request.headers.get("x-subject-token", "")
    info = ctx.svc.verify(ctx.db, token)
    if info is None:
        raise KeystoneError(404, "Could not find token.")
    if not caller.is_admin and info.user_id != caller.user_id:
        raise forbidden()
    return info, token


def validate(ctx: Ctx) -> Response:
    info, token = _subject(ctx)
    body = info.body(None if "nocatalog" in ctx.query else _catalog(ctx, info))
    return JSONResponse(body, headers={"X-Subject-Token": token})


def revoke(ctx: Ctx):
    info, _ = _subject(ctx)
    ctx.svc.revoke(ctx.db, audit_id=info.audit_id)
    return 204, None


def projects(ctx: Ctx):
    caller = ctx.auth()
    items = [ctx.db.get(Project, pid) for pid in user_project_ids(ctx.db, caller.user_id)]
    out = [views.project(p, ctx.base) for p in items if p is not None and p.enabled]
    return 200, views.collection(ctx.base, ctx.path, "projects", out)


def domains(ctx: Ctx):
    caller = ctx.auth()
    out = [views.domain(d, ctx.base) for d in ctx.db.query(Domain).all()
           if effective_roles(ctx.db, caller.user_id, "domain", d.id)]
    return 200, views.collection(ctx.base, ctx.path, "domains", out)


def catalog(ctx: Ctx):
    caller = ctx.auth()
    if not (caller.project or caller.domain or caller.system):
        raise forbidden("The service catalog needs a scoped token.")
    return 200, {"catalog": _catalog(ctx, caller), "links": {"self": f"{ctx.base}{ctx.path}"}}


def system(ctx: Ctx):
    caller = ctx.auth()
    return 200, {"system": [{"all": True}] if caller.system or caller.is_admin else [],
                 "links": {"self": f"{ctx.base}{ctx.path}"}}


ROUTES = [
    ("/v3/auth/tokens", "POST", issue, False),
    ("/v3/auth/tokens", "GET,HEAD", validate),
    ("/v3/auth/tokens", "DELETE", revoke),
    ("/v3/auth/projects", "GET,HEAD", projects),
    ("/v3/auth/domains", "GET,HEAD", domains),
    ("/v3/auth/catalog", "GET,HEAD", catalog),
    ("/v3/auth/system", "GET,HEAD", system),
]
