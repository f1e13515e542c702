"""``/v3/auth/*``: issue, validate and revoke tokens; the caller's projects, domains and catalog."""

from __future__ import annotations

import json

from starlette.responses import JSONResponse, Response

from identity import policy, views
from identity.api.base import Ctx
from identity.authn import authenticate
from identity.catalog import build_catalog
from identity.errors import KeystoneError, forbidden
from identity.lookup import effective_roles, system_roles, user_project_ids
from identity.models import Domain, Project
from identity.tokens import TokenInfo


def _catalog(ctx: Ctx, info: TokenInfo) -> list[dict]:
    return build_catalog(ctx.db, info.project_id)


def _login_key(ctx: Ctx) -> str:
    """Who a token request claims to be (user id or domain/name, or application credential), for throttling."""
    auth = ctx.body.get("auth") if isinstance(ctx.body, dict) else None
    ident = auth.get("identity") if isinstance(auth, dict) else None
    if not isinstance(ident, dict):
        return ""
    for method in ("password", "application_credential"):
        data = ident.get(method)
        ref = data.get("user") if method == "password" and isinstance(data, dict) else data
        if isinstance(ref, dict):
            dom = ref.get("domain") if isinstance(ref.get("domain"), dict) else {}
            parts = (method, ref.get("id"), ref.get("name"), dom.get("id"), dom.get("name"))
            return json.dumps([p if isinstance(p, str) else None for p in parts])[:1024]
    return ""


def issue(ctx: Ctx) -> Response:
    """POST /v3/auth/tokens; after too many failures for one user from one address: 429 for a while."""
    key, address = _login_key(ctx), ctx.request.client.host if ctx.request.client else ""
    throttle = ctx.svc.login_throttle
    if key:
        wait = throttle.retry_after(key, address)
        if wait:
            raise KeystoneError(429, "Too many failed authentication attempts; try again later.",
                                headers={"Retry-After": str(wait)})
    try:
        info = authenticate(ctx)
    except KeystoneError as err:
        if key and err.code == 401:
            throttle.failed(key, address)
        raise
    if key:
        throttle.succeeded(key, address)
    token = ctx.svc.issue(info)
    body = info.body(None if "nocatalog" in ctx.query else _catalog(ctx, info))
    return JSONResponse(body, status_code=201, headers={"X-Subject-Token": token})


def _subject(ctx: Ctx, operation: str) -> tuple[TokenInfo, str]:
    ctx.auth()
    token = ctx.request.headers.get("x-subject-token", "")
    info = ctx.svc.verify(ctx.db, token)
    if info is None:
        raise KeystoneError(404, "Could not find token.")
    policy.enforce(ctx, operation, {"user": {"id": info.user_id}})
    return info, token


def validate(ctx: Ctx) -> Response:
    info, token = _subject(ctx, "identity:validate_token")
    body = info.body(None if "nocatalog" in ctx.query else _catalog(ctx, info))
    return JSONResponse(body, headers={"X-Subject-Token": token})


def revoke(ctx: Ctx):
    info, _ = _subject(ctx, "identity:revoke_token")
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
    """The system scopes the caller may ask a token for: ``[{"all": true}]`` with a role on the system."""
    caller = ctx.auth()
    return 200, {"system": [{"all": True}] if system_roles(ctx.db, caller.user_id) else [],
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
