"""First-start (and every-start, idempotent) content: default domain, roles, admin/demo/service
accounts, the TempAuth users, and the catalog pointing at the configured services.

Projects made from TempAuth accounts get the account name as their id, so ``AUTH_test`` is the same
storage account for the TempAuth user ``test:tester`` and for Keystone tokens scoped to project ``test``.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from identity.lookup import SYSTEM_TARGET
from identity.models import (
    DEFAULT_DOMAIN,
    Assignment,
    Domain,
    Endpoint,
    Project,
    Region,
    Role,
    Service,
    User,
    new_id,
)
from identity.passwords import check_password, hash_password
from identity.service_user import SERVICE_PROJECT, SERVICE_ROLE, SERVICE_USER, service_password
from identity.settings import Settings, service_url

log = logging.getLogger("stackstore.identity.bootstrap")

RESELLER_ADMIN_ROLE = "ResellerAdmin"  # Swift keystoneauth's reseller_admin_role: every account
ROLES = ("admin", "member", "reader", RESELLER_ADMIN_ROLE, SERVICE_ROLE)


@dataclass
class BootstrapResult:
    first_start: bool
    passwords: dict[str, str] = field(default_factory=dict)  # user name -> password generated this start


def ensure_project(db: Session, name: str, project_id: str | None = None) -> Project:
    proj = db.scalar(select(Project).where(Project.name == name, Project.domain_id == DEFAULT_DOMAIN))
    if proj is None:
        proj = Project(id=project_id or new_id(), name=name, domain_id=DEFAULT_DOMAIN, description="", enabled=True)
        db.add(proj)
        db.flush()
    return proj


def ensure_user(db: Session, name: str, password: str, default_project: str | None = None) -> tuple[User, bool]:
    user = db.scalar(select(User).where(User.name == name, User.domain_id == DEFAULT_DOMAIN))
    if user is not None:
        return user, False
    user = User(id=new_id(), name=name, domain_id=DEFAULT_DOMAIN, password_hash=hash_password(password),
                description="", enabled=True, default_project_id=default_project)
    db.add(user)
    db.flush()
    return user, True


def grant(db: Session, user: User, project: Project, role: Role) -> None:
    key = ("user", user.id, "project", project.id, role.id)
    if db.get(Assignment, key) is None:
        db.add(Assignment(actor_type="user", actor_id=user.id, target_type="project", target_id=project.id,
                          role_id=role.id))
        db.flush()


def grant_system(db: Session, user: User, role: Role) -> None:
    """``role`` on the system (``openstack role add --system all``)."""
    key = ("user", user.id, *SYSTEM_TARGET, role.id)
    if db.get(Assignment, key) is None:
        db.add(Assignment(actor_type="user", actor_id=user.id, target_type=SYSTEM_TARGET[0],
                          target_id=SYSTEM_TARGET[1], role_id=role.id))
        db.flush()


def _roles(db: Session) -> dict[str, Role]:
    out = {}
    for name in ROLES:
        role = db.scalar(select(Role).where(Role.name == name))
        if role is None:
            role = Role(id=new_id(), name=name, description="")
            db.add(role)
            db.flush()
        out[name] = role
    return out


def _tempauth_users(settings: Settings) -> list[tuple[str, str, dict]]:
    users = settings.conf.get("tempauth", {}).get("users", {}) or {}
    out = []
    for full, entry in users.items():
        account, _, name = str(full).partition(":")
        if account and name and isinstance(entry, dict):
            out.append((account, name, entry))
    return out


def _tempauth(db: Session, settings: Settings, roles: dict[str, Role]) -> None:
    """TempAuth ``acct:name`` → user ``name`` (password = key unless the user exists) with ``member``
    (``admin`` for ``.admin``) on project ``acct``; ``.reseller_admin`` → ``admin`` on every project
    existing now, and ``ResellerAdmin`` on ``acct``, which the proxy honours on every account (also
    those of projects created later).

    A project admin administers only that project, so ``.admin`` keeps meaning "owner of that Swift
    account". The one exception is the admin project (``[identity] admin_project``), whose admins are
    cloud admins: TempAuth never grants ``admin`` there (only ``member``, still the account's owner)."""
    resellers = []
    for account, name, entry in _tempauth_users(settings):
        full = f"{account}:{name}"
        project = ensure_project(db, account, project_id=account)
        user, created = ensure_user(db, name, str(entry.get("key", "")), project.id)
        if not created and not check_password(str(entry.get("key", "")), user.password_hash):
            log.warning("identity user %s already exists with another password; TempAuth user %s keeps "
                        "its own key for TempAuth only", name, full)
        groups = entry.get("groups", []) or []
        admin = (".admin" in groups or ".reseller_admin" in groups) and project.name != settings.admin_project
        grant(db, user, project, roles["admin" if admin else "member"])
        if ".reseller_admin" in groups:
            resellers.append(user)
            grant(db, user, project, roles[RESELLER_ADMIN_ROLE])
    for user in resellers:
        for project in db.scalars(select(Project).where(Project.name != settings.admin_project)).all():
            grant(db, user, project, roles["admin"])


def catalog_entries(settings: Settings) -> list[tuple[str, str, str]]:
    """(type, name, url) of every service the cloud runs."""
    conf = settings.conf
    prefix = conf.get("tempauth", {}).get("reseller_prefix", "AUTH_")
    proxy, volumes = service_url(conf, "proxy"), service_url(conf, "volumes")
    image = service_url(conf, "images") if conf.get("images") else f"http://{settings.host}:9292"
    return [
        ("identity", "keystone", f"{settings.public_url}/v3"),
        ("object-store", "swift", f"{proxy}/v1/{prefix}%(project_id)s"),
        # No project id in the URL (Cinder 3.67+, as upstream recommends): system-scoped tokens, which
        # have no project, get the block-storage endpoint too; the API serves both URL forms.
        ("volumev3", "cinderv3", f"{volumes}/v3"),
        ("block-storage", "cinder", f"{volumes}/v3"),
        ("compute", "nova", f"{service_url(conf, 'compute')}/v2.1"),
        ("image", "glance", image),
    ]


def sync_catalog(db: Session, settings: Settings) -> None:
    """Create or update the managed services' endpoints (public, internal, admin) in the region."""
    if db.get(Region, settings.region) is None:
        db.add(Region(id=settings.region, description="", parent_region_id=None))
        db.flush()
    for stype, name, url in catalog_entries(settings):
        svc = db.scalar(select(Service).where(Service.type == stype, Service.name == name))
        if svc is None:
            svc = Service(id=new_id(), type=stype, name=name, description="", enabled=True)
            db.add(svc)
            db.flush()
        for interface in ("public", "internal", "admin"):
            ep = db.scalar(select(Endpoint).where(Endpoint.service_id == svc.id, Endpoint.interface == interface,
                                                  Endpoint.region_id == settings.region))
            if ep is None:
                db.add(Endpoint(id=new_id(), service_id=svc.id, interface=interface, region_id=settings.region,
                                url=url, enabled=True))
            elif ep.url != url:
                ep.url = url
    db.flush()


def bootstrap(db: Session, settings: Settings) -> BootstrapResult:
    if db.get(Domain, DEFAULT_DOMAIN) is None:
        db.add(Domain(id=DEFAULT_DOMAIN, name="Default", description="The default domain", enabled=True))
        db.flush()
    roles = _roles(db)
    for account, _name, _entry in _tempauth_users(settings):
        ensure_project(db, account, project_id=account)
    result = BootstrapResult(first_start=False)
    admin_project = ensure_project(db, settings.admin_project)
    admin_pw = settings.admin_password or secrets.token_urlsafe(16)
    admin, created = ensure_user(db, "admin", admin_pw, admin_project.id)
    if created:
        result.first_start = True
        result.passwords["admin"] = admin_pw
    grant(db, admin, admin_project, roles["admin"])
    grant_system(db, admin, roles["admin"])
    demo_project = ensure_project(db, "demo")
    demo_pw = secrets.token_urlsafe(12)
    demo, created = ensure_user(db, "demo", demo_pw, demo_project.id)
    if created:
        result.passwords["demo"] = demo_pw
    grant(db, demo, demo_project, roles["member"])
    service_project = ensure_project(db, SERVICE_PROJECT)
    svc_pw = service_password(settings.conf)
    svc_user, created = ensure_user(db, SERVICE_USER, svc_pw, service_project.id)
    if not created and not check_password(svc_pw, svc_user.password_hash):
        svc_user.password_hash = hash_password(svc_pw)
    grant(db, svc_user, service_project, roles[SERVICE_ROLE])
    _tempauth(db, settings, roles)
    sync_catalog(db, settings)
    return result


