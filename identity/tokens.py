"""Token claims: what a signed JWT carries, how it is encoded and checked, and its Keystone body.

No database access here: the validator used by other services imports this module.
"""

from __future__ import annotations

import base64
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt

from identity.keys import ALGORITHM, KeySet

ISSUER = "stackstore-identity"


def isotime(ts: float) -> str:
    """Keystone's timestamp format: ``2026-11-22T03:13:32.000000Z``."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_audit_id() -> str:
    return base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()


@dataclass
class TokenInfo:
    """The validated content of one token."""

    user: dict[str, Any]  # {"id", "name", "domain": {"id", "name"}}
    methods: list[str]
    issued_at: float
    expires_at: float
    audit_id: str
    project: dict[str, Any] | None = None  # {"id", "name", "domain": {"id", "name"}}
    domain: dict[str, Any] | None = None  # domain scope {"id", "name"}
    system: bool = False  # system scope ({"all": true})
    is_admin_project: bool = False  # scoped to ``[identity] admin_project`` (Keystone's admin_project_name)
    roles: list[dict[str, str]] = field(default_factory=list)  # [{"id", "name"}]
    app_cred: dict[str, Any] | None = None  # {"id", "name", "restricted"}
    audit_chain: list[str] = field(default_factory=list)  # parent token's audit ids (rescoped tokens)

    @property
    def user_id(self) -> str:
        return self.user["id"]

    @property
    def project_id(self) -> str | None:
        return self.project["id"] if self.project else None

    @property
    def domain_id(self) -> str | None:
        """The domain of a domain-scoped token (None for project and system scope)."""
        return self.domain["id"] if self.domain else None

    @property
    def role_names(self) -> set[str]:
        return {r["name"] for r in self.roles}

    def has_role(self, *names: str) -> bool:
        return bool(self.role_names & set(names))

    @property
    def is_system_admin(self) -> bool:
        """System-scoped with the admin role: the cloud's administrator."""
        return self.system and "admin" in self.role_names

    @property
    def is_system_reader(self) -> bool:
        """System-scoped with any of reader/member/admin: may read everything, write nothing (unless admin)."""
        return self.system and bool(self.role_names & {"admin", "member", "reader"})

    @property
    def is_cloud_admin(self) -> bool:
        """System admin, or admin of the admin project (Keystone's ``is_admin_project``); never the admin of
        any other project."""
        return self.is_system_admin or (self.is_admin_project and self.project is not None
                                        and "admin" in self.role_names)

    def claims(self) -> dict[str, Any]:
        data: dict[str, Any] = {"iss": ISSUER, "sub": self.user["id"], "iat": self.issued_at,
                                "exp": int(self.expires_at), "jti": self.audit_id, "methods": self.methods,
                                "user": self.user, "roles": self.roles}
        for name in ("project", "domain", "app_cred"):
            if getattr(self, name):
                data[name] = getattr(self, name)
        if self.system:
            data["system"] = {"all": True}
        if self.is_admin_project:
            data["is_admin_project"] = True
        if self.audit_chain:
            data["audit_chain"] = self.audit_chain
        return data

    @classmethod
    def from_claims(cls, c: dict[str, Any]) -> TokenInfo:
        return cls(user=c["user"], methods=list(c.get("methods", [])), issued_at=float(c["iat"]),
                   expires_at=float(c["exp"]), audit_id=str(c["jti"]), project=c.get("project"),
                   domain=c.get("domain"), system=bool(c.get("system")),
                   is_admin_project=c.get("is_admin_project") is True, roles=list(c.get("roles", [])),
                   app_cred=c.get("app_cred"), audit_chain=list(c.get("audit_chain", [])))

    def body(self, catalog: list[dict] | None = None) -> dict[str, Any]:
        """The ``{"token": ...}`` document of POST/GET /v3/auth/tokens."""
        tok: dict[str, Any] = {
            "methods": self.methods,
            "user": {**self.user, "password_expires_at": None},
            "audit_ids": [self.audit_id, *self.audit_chain],
            "expires_at": isotime(self.expires_at),
            "issued_at": isotime(self.issued_at),
        }
        if self.project:
            tok.update(project=self.project, is_domain=False, roles=self.roles)
            if self.is_admin_project:
                tok["is_admin_project"] = True
        elif self.domain:
            tok.update(domain=self.domain, roles=self.roles)
        elif self.system:
            tok.update(system={"all": True}, roles=self.roles)
        if self.app_cred:
            tok["application_credential"] = self.app_cred
        if catalog is not None and (self.project or self.domain or self.system):
            tok["catalog"] = catalog
        return {"token": tok}


def encode(info: TokenInfo, keys: KeySet) -> str:
    key = keys.current
    return jwt.encode(info.claims(), key.private, algorithm=ALGORITHM, headers={"kid": key.kid})


def decode(token: str, public_keys: dict[str, Any], now: float | None = None) -> TokenInfo | None:
    """Verify signature, issuer and expiry with ``{kid: public key}``; None when invalid."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
        key = public_keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            return None
        claims = jwt.decode(token, key, algorithms=[ALGORITHM], issuer=ISSUER,
                            options={"require": ["exp", "iat", "sub", "jti"], "verify_exp": False,
                                     "verify_iat": False})
        info = TokenInfo.from_claims(claims)
    except (jwt.PyJWTError, KeyError, TypeError, ValueError):
        return None
    if info.expires_at <= (time.time() if now is None else now):
        return None
    return info


def looks_like_jwt(token: str) -> bool:
    return token.startswith("eyJ") and token.count(".") == 2


def revoked(info: TokenInfo, events: list[dict[str, Any]]) -> bool:
    """Whether any revocation event (``audit_id`` or ``user_id``/``project_id``/``app_cred_id`` issued
    before a time) matches the token."""
    audits = {info.audit_id, *info.audit_chain}
    app_cred = info.app_cred["id"] if info.app_cred else None
    for ev in events:
        if ev.get("audit_id"):
            if ev["audit_id"] in audits:
                return True
            continue
        if info.issued_at > float(ev.get("issued_before", 0)):
            continue
        if ev.get("user_id") and ev["user_id"] != info.user_id:
            continue
        if ev.get("project_id") and ev["project_id"] != info.project_id:
            continue
        if ev.get("app_cred_id") and ev["app_cred_id"] != app_cred:
            continue
        if ev.get("user_id") or ev.get("project_id") or ev.get("app_cred_id"):
            return True
    return False
