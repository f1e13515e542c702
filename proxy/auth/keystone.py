"""Keystone tokens for the Swift API: identity JWTs validated locally (``identity.validator``).

A token scoped to project P acts on account ``AUTH_<P>``: ``admin`` and ``member`` own it (read and
write), ``reader`` may only read it. Container ACLs may name ``<project>:<user>`` by id or name, with
``*`` for either side.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starlette.requests import Request

from identity.tokens import TokenInfo, looks_like_jwt
from identity.validator import TokenValidator
from proxy.auth.base import request_token
from proxy.auth.resellers import primary_prefix
from proxy.context import Identity
from stackstore.config import Config

OWNER_ROLES = ("admin", "member")
READER_ROLES = ("reader",)
RESELLER_ROLES = ("ResellerAdmin",)  # Swift keystoneauth's reseller_admin_role: owner of every account


def identity_url(conf: Config) -> str:
    """Where this proxy reaches the identity service (``[identity] internal_url``, else host:port)."""
    ident = conf.get("identity", {})
    return str(ident.get("internal_url") or f"http://{ident.get('host', '127.0.0.1')}:{ident.get('port', 5000)}")


def keystone_enabled(conf: Config) -> bool:
    return bool(conf.get("identity", {}).get("enabled", True))


def acl_names(project: dict[str, Any], user: dict[str, Any]) -> list[str]:
    """``project:user`` names (ids and names, with wildcards) an ACL may grant to."""
    pid, pname = project.get("id", ""), project.get("name", "")
    uid, uname = user.get("id", ""), user.get("name", "")
    names = [f"{p}:{u}" for p in (pid, pname, "*") for u in (uid, uname) if p and u]
    names += [f"{p}:*" for p in (pid, pname) if p]
    return list(dict.fromkeys(names))


def project_identity(prefix: str, project: dict[str, Any], user: dict[str, Any], roles: Iterable[str]) -> Identity:
    """The Identity of ``user`` holding ``roles`` on ``project`` (``{"id", "name"}`` dicts), acting on
    account ``<prefix><project id>``: owner with an ``OWNER_ROLES`` role, else reader with a
    ``READER_ROLES`` one, else neither (container ACLs only); a ``RESELLER_ROLES`` role reaches every
    account. Keystone tokens and EC2 credentials alike."""
    account = prefix + project["id"] if project.get("id") else ""
    held = set(roles)
    owner = bool(account) and not held.isdisjoint(OWNER_ROLES)
    reader = bool(account) and not owner and not held.isdisjoint(READER_ROLES)
    label = f"{project.get('name', '')}:{user.get('name', '')}"
    return Identity(user=label, account=account, groups=acl_names(project, user), is_admin=owner, is_reader=reader,
                    is_reseller=not held.isdisjoint(RESELLER_ROLES))


class KeystoneAuth:
    """AuthBackend for identity-issued JWTs (any token shaped ``eyJ….….…``)."""

    def __init__(self, conf: Config, validator: TokenValidator | None = None):
        self.prefix = primary_prefix(conf)
        self.validator = validator or TokenValidator(identity_url(conf))

    def owns_token(self, token: str) -> bool:
        return looks_like_jwt(token)

    def identity(self, info: TokenInfo) -> Identity:
        return project_identity(self.prefix, info.project or {}, info.user, info.role_names)

    async def authenticate(self, request: Request) -> Identity | None:
        return await self.authenticate_token(request_token(request) or "")

    async def authenticate_token(self, token: str) -> Identity | None:
        info = await self.validator.validate(token)
        return self.identity(info) if info is not None else None
