"""POST /v3/auth/tokens: check the identity methods (password, token, application_credential) and the
requested scope, and produce the new token's claims."""

from __future__ import annotations

import json
import time

from sqlalchemy.orm import Session

from identity.api.base import Ctx
from identity.errors import KeystoneError, bad_request, unauthorized
from identity.lookup import (
    effective_roles,
    find_domain,
    find_project,
    find_user,
    system_roles,
    user_project_ids,
    with_implied,
)
from identity.models import DEFAULT_DOMAIN, AppCredential, Domain, Project, Role, User
from identity.passwords import check_password
from identity.tokens import TokenInfo

DENIED = "The request you have made requires authentication."


def _user_ref(db: Session, user: User) -> dict:
    dom = db.get(Domain, user.domain_id)
    return {"id": user.id, "name": user.name, "domain": {"id": dom.id, "name": dom.name}}


def project_ref(db: Session, project: Project) -> dict:
    dom = db.get(Domain, project.domain_id)
    return {"id": project.id, "name": project.name, "domain": {"id": dom.id, "name": dom.name}}


def _active_user(db: Session, user: User | None) -> User:
    if user is None or not user.enabled:
        raise unauthorized(DENIED)
    dom = db.get(Domain, user.domain_id)
    if dom is None or not dom.enabled:
        raise unauthorized(DENIED)
    return user


def _password(db: Session, data: dict) -> User:
    ref = data.get("user") if isinstance(data, dict) else None
    if not isinstance(ref, dict) or not isinstance(ref.get("password"), str):
        raise bad_request("password authentication needs user.password")
    user = find_user(db, ref)
    if user is None or not check_password(ref["password"], user.password_hash):
        raise unauthorized(DENIED)
    return _active_user(db, user)


def _app_cred(db: Session, data: dict) -> tuple[User, AppCredential]:
    if not isinstance(data, dict) or not isinstance(data.get("secret"), str):
        raise bad_request("application_credential authentication needs a secret")
    cred = None
    if isinstance(data.get("id"), str):
        cred = db.get(AppCredential, data["id"])
    elif isinstance(data.get("name"), str):
        user = find_user(db, data.get("user"))
        if user is not None:
            cred = next((c for c in db.query(AppCredential).filter_by(user_id=user.id, name=data["name"])), None)
    if cred is None or not check_password(data["secret"], cred.secret_hash):
        raise unauthorized(DENIED)
    if cred.expires_at is not None and cred.expires_at <= time.time():
        raise unauthorized("The application credential has expired.")
    return _active_user(db, db.get(User, cred.user_id)), cred


def _refs(roles: list[Role]) -> list[dict]:
    return [{"id": r.id, "name": r.name} for r in roles]


def is_admin_project(db: Session, settings, project: Project) -> bool:
    """Whether ``project`` is the cloud's admin project (``[identity] admin_project`` in the default domain)."""
    return project.name == settings.admin_project and project.domain_id == DEFAULT_DOMAIN


def _scope_project(db: Session, user: User, project: Project | None) -> tuple[dict, list[Role]]:
    """The project's reference and the user's direct (not yet implied) roles on it; 401 without any."""
    if project is None or not project.enabled:
        raise unauthorized("The project is disabled or could not be found.")
    dom = db.get(Domain, project.domain_id)
    if dom is None or not dom.enabled:
        raise unauthorized("The project's domain is disabled.")
    roles = effective_roles(db, user.id, "project", project.id)
    if not roles:
        raise unauthorized(f"User {user.id} has no access to project {project.id}.")
    return project_ref(db, project), roles


def _roles_of(db: Session, ids: list[str]) -> list[Role]:
    return [r for r in (db.get(Role, i) for i in ids) if r is not None]


def authenticate(ctx: Ctx) -> TokenInfo:
    """The claims of the token a valid ``{"auth": ...}`` body earns; 400/401 otherwise."""
    db, svc = ctx.db, ctx.svc
    auth = ctx.obj("auth")
    ident = auth.get("identity")
    methods = ident.get("methods") if isinstance(ident, dict) else None
    if not isinstance(methods, list) or not methods or not all(isinstance(m, str) for m in methods):
        raise bad_request("Expecting to find identity.methods in the request body.")
    scope = auth.get("scope")
    expires_at = None
    audit_chain: list[str] = []
    if "application_credential" in methods:
        user, cred = _app_cred(db, ident.get("application_credential"))
        if scope not in (None, "unscoped") and not (isinstance(scope, dict) and scope.get("project")):
            raise unauthorized("Application credentials cannot request a scope.")
        target = db.get(Project, cred.project_id)
        project, roles = _scope_project(db, user, target)
        allowed = {r.id for r in _roles_of(db, json.loads(cred.role_ids))}
        held = [r for r in with_implied(db, roles) if r.id in allowed]
        if not held:
            raise unauthorized("The application credential's roles are no longer assigned.")
        return svc.new_info(user=_user_ref(db, user), methods=["application_credential"], project=project,
                            roles=_refs(with_implied(db, held)),
                            is_admin_project=target is not None and is_admin_project(db, svc.settings, target),
                            app_cred={"id": cred.id, "name": cred.name, "restricted": not cred.unrestricted},
                            expires_at=cred.expires_at)
    if "password" in methods:
        user = _password(db, ident.get("password"))
    elif "token" in methods:
        ref = ident.get("token")
        parent = svc.verify(db, ref.get("id")) if isinstance(ref, dict) else None
        if parent is None:
            raise unauthorized(DENIED)
        if parent.app_cred:
            raise KeystoneError(403, "Application credential tokens cannot be rescoped.")
        user = _active_user(db, db.get(User, parent.user_id))
        expires_at, audit_chain = parent.expires_at, [parent.audit_id, *parent.audit_chain]
    else:
        raise unauthorized(f"Unsupported authentication methods: {methods}.")
    base = dict(user=_user_ref(db, user), methods=methods, expires_at=expires_at, audit_chain=audit_chain)
    if scope is None and user.default_project_id and user.default_project_id in user_project_ids(db, user.id):
        scope = {"project": {"id": user.default_project_id}}
    if scope is None or scope == "unscoped":
        return svc.new_info(**base)
    if not isinstance(scope, dict):
        raise bad_request("Invalid scope.")
    if "project" in scope:
        target = find_project(db, scope["project"])
        project, held = _scope_project(db, user, target)
        return svc.new_info(**base, project=project, roles=_refs(with_implied(db, held)),
                            is_admin_project=target is not None and is_admin_project(db, svc.settings, target))
    if "domain" in scope:
        dom = find_domain(db, scope["domain"])
        held = effective_roles(db, user.id, "domain", dom.id) if dom is not None else []
        if dom is None or not held:
            raise unauthorized("User has no access to the domain.")
        if not dom.enabled:
            raise unauthorized("The domain is disabled.")
        return svc.new_info(**base, domain={"id": dom.id, "name": dom.name}, roles=_refs(with_implied(db, held)))
    if "system" in scope:
        if scope["system"] != {"all": True}:
            raise bad_request("Invalid scope: the system scope is {\"all\": true}.")
        held = system_roles(db, user.id)
        if not held:
            raise unauthorized(f"User {user.id} has no access to the system.")
        return svc.new_info(**base, system=True, roles=_refs(with_implied(db, held)))
    raise bad_request("Invalid scope.")
