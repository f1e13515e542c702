"""JSON shapes of identity entities, with their ``links``."""

from __future__ import annotations

import json
from typing import Any

from identity.models import (
    AppCredential,
    Credential,
    Domain,
    Endpoint,
    Group,
    Project,
    Region,
    Role,
    Service,
    User,
)
from identity.tokens import isotime


def _links(base: str, coll: str, ident: str) -> dict[str, str]:
    return {"self": f"{base}/v3/{coll}/{ident}"}


def collection(base: str, path: str, name: str, items: list[dict]) -> dict[str, Any]:
    return {name: items, "links": {"self": f"{base}{path}", "next": None, "previous": None}}


def domain(d: Domain, base: str) -> dict:
    return {"id": d.id, "name": d.name, "description": d.description, "enabled": d.enabled, "tags": [],
            "options": {}, "links": _links(base, "domains", d.id)}


def project(p: Project, base: str) -> dict:
    return {"id": p.id, "name": p.name, "domain_id": p.domain_id, "description": p.description,
            "enabled": p.enabled, "parent_id": p.domain_id, "is_domain": False, "tags": [], "options": {},
            "links": _links(base, "projects", p.id)}


def user(u: User, base: str) -> dict:
    out = {"id": u.id, "name": u.name, "domain_id": u.domain_id, "enabled": u.enabled,
           "default_project_id": u.default_project_id, "password_expires_at": None, "options": {},
           "description": u.description, "links": _links(base, "users", u.id)}
    if u.email:
        out["email"] = u.email
    return out


def group(g: Group, base: str) -> dict:
    return {"id": g.id, "name": g.name, "domain_id": g.domain_id, "description": g.description,
            "links": _links(base, "groups", g.id)}


def role(r: Role, base: str) -> dict:
    return {"id": r.id, "name": r.name, "domain_id": None, "description": r.description, "options": {},
            "links": _links(base, "roles", r.id)}


def region(r: Region, base: str) -> dict:
    return {"id": r.id, "description": r.description, "parent_region_id": r.parent_region_id,
            "links": _links(base, "regions", r.id)}


def service(s: Service, base: str) -> dict:
    return {"id": s.id, "type": s.type, "name": s.name, "description": s.description, "enabled": s.enabled,
            "links": _links(base, "services", s.id)}


def endpoint(e: Endpoint, base: str) -> dict:
    return {"id": e.id, "service_id": e.service_id, "interface": e.interface, "region_id": e.region_id,
            "region": e.region_id, "url": e.url, "enabled": e.enabled, "links": _links(base, "endpoints", e.id)}


def credential(c: Credential, base: str) -> dict:
    return {"id": c.id, "user_id": c.user_id, "project_id": c.project_id, "type": c.type, "blob": c.blob,
            "links": _links(base, "credentials", c.id)}


def ec2_credential(c: Credential, base: str) -> dict:
    blob = json.loads(c.blob)
    return {"access": blob.get("access"), "secret": blob.get("secret"), "tenant_id": c.project_id,
            "user_id": c.user_id, "trust_id": blob.get("trust_id"),
            "links": {"self": f"{base}/v3/users/{c.user_id}/credentials/OS-EC2/{blob.get('access')}"}}


def app_credential(a: AppCredential, roles: list[Role], base: str) -> dict:
    return {"id": a.id, "name": a.name, "description": a.description, "user_id": a.user_id,
            "project_id": a.project_id, "expires_at": isotime(a.expires_at) if a.expires_at else None,
            "unrestricted": a.unrestricted, "access_rules": [],
            "roles": [{"id": r.id, "name": r.name, "domain_id": None} for r in roles],
            "links": {"self": f"{base}/v3/users/{a.user_id}/application_credentials/{a.id}"}}
