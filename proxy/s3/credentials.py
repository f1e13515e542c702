"""Credential lookup for S3 auth: access key → secret and the Identity it acts as.

One interface (``CredentialStore.lookup``); ``IdentityCredentials`` adds the identity service's EC2 credentials.
The built-in store serves TempAuth users (access key ``acct:user``, secret = the user's key) and the
extra pairs of ``[s3].keys`` (access key → ``{"secret", "user"[, "groups"]}``). What the Identity may do
is decided by ``proxy.auth.authorize.check_access``, as for the Swift API.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from identity.service_user import SERVICE_PROJECT, SERVICE_USER, service_password
from proxy.auth.keystone import identity_url, project_identity
from proxy.auth.resellers import primary_prefix
from proxy.auth.tempauth import group_identity
from proxy.context import Identity
from stackstore.config import Config

OWNER_GROUPS = (".admin",)


@dataclass(frozen=True)
class Credential:
    """A resolved S3 key pair and who it acts as (user ``acct:name``, account, owner/reader rights).

    ``active`` is False for a key whose holder may no longer use it (an EC2 credential of a user without
    any role on its project): the signature is still checked, then the request is refused (AccessDenied).
    """

    access_key: str
    secret: str
    identity: Identity
    active: bool = True
    email: str = ""  # the holder's e-mail address where identity has one (ACL grants by e-mail)

    @property
    def user(self) -> str:
        return self.identity.user

    @property
    def account(self) -> str:  # e.g. "AUTH_acct"
        return self.identity.account


class CredentialStore(Protocol):
    async def lookup(self, access_key: str) -> Credential | None:
        """The credential for ``access_key``, or None (→ InvalidAccessKeyId)."""
        ...


class ConfigCredentials:
    """TempAuth users plus ``[s3].keys`` from the configuration.

    A TempAuth user's key acts with the user's groups; an ``[s3].keys`` pair with its own ``groups``, else
    those of the TempAuth user it names, else as the account's owner (``.admin``).
    """

    def __init__(self, conf: Config):
        tempauth = conf.get("tempauth", {}) if hasattr(conf, "get") else {}
        self.prefix = primary_prefix(conf)
        self.users: dict[str, dict[str, Any]] = dict(tempauth.get("users", {}))
        s3 = conf.get("s3", {}) if hasattr(conf, "get") else {}
        self.keys: dict[str, dict[str, Any]] = dict(s3.get("keys", {}))
        self._found: dict[str, Credential | None] = {}  # the configuration does not change under a proxy

    def _credential(self, access_key: str, secret: str, user: str, groups: Iterable[str]) -> Credential:
        named = self.users.get(user)
        email = str(named.get("email", "")) if isinstance(named, dict) else ""
        return Credential(access_key, secret, group_identity(user, groups, self.prefix), email=email)

    async def lookup(self, access_key: str) -> Credential | None:
        try:
            return self._found[access_key]
        except KeyError:
            pass
        found = self._resolve(access_key)
        if len(self._found) < 10000:  # unknown keys are remembered too, up to a bound
            self._found[access_key] = found
        return found

    def _resolve(self, access_key: str) -> Credential | None:
        extra = self.keys.get(access_key)
        if isinstance(extra, dict) and "secret" in extra and "user" in extra:
            user = str(extra["user"])
            named = self.users.get(user)
            groups = extra.get("groups", named.get("groups", ()) if named is not None else OWNER_GROUPS)
            return self._credential(access_key, str(extra["secret"]), user, groups)
        entry = self.users.get(access_key)
        if entry is not None and ":" in access_key:
            return self._credential(access_key, str(entry.get("key", "")), access_key, entry.get("groups", ()))
        return None


class IdentityCredentials:
    """EC2 credentials of the identity service, tried after ``fallback`` (the configured keys).

    Looked up with the proxy's service account (``identity.service_user``) at
    ``/v3/OS-STACKSTORE/ec2/<access>``, which also returns the holder's roles on the credential's project:
    the key acts on that project's account like a Keystone token scoped to it (``project_identity``).
    Cached ``ttl`` seconds, so a deleted credential (InvalidAccessKeyId) or a role change (a user left
    without any role gets AccessDenied) takes effect within that delay.
    """

    def __init__(self, conf: Config, fallback: CredentialStore | None = None, ttl: float = 5.0):
        self.conf = conf
        self.url = identity_url(conf)
        self.fallback = fallback or ConfigCredentials(conf)
        self.prefix = primary_prefix(conf)
        self.ttl = ttl
        self._cache: dict[str, tuple[float, Credential | None]] = {}
        self._token: tuple[str, float] | None = None  # (token, monotonic refresh time)

    async def _service_token(self, client: httpx.AsyncClient, fresh: bool = False) -> str:
        if self._token and not fresh and time.monotonic() < self._token[1]:
            return self._token[0]
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": SERVICE_USER, "domain": {"id": "default"}, "password": service_password(self.conf)}}},
            "scope": {"project": {"name": SERVICE_PROJECT, "domain": {"id": "default"}}}}}
        resp = await client.post(f"{self.url}/v3/auth/tokens?nocatalog", json=body)
        resp.raise_for_status()
        self._token = (resp.headers["X-Subject-Token"], time.monotonic() + 600)
        return self._token[0]

    async def _fetch(self, access_key: str) -> Credential | None:
        async with httpx.AsyncClient(timeout=5.0) as client:
            for attempt in range(2):
                token = await self._service_token(client, fresh=attempt > 0)
                resp = await client.get(f"{self.url}/v3/OS-STACKSTORE/ec2/{access_key}",
                                        headers={"X-Auth-Token": token})
                if resp.status_code != 401:
                    break
        if resp.status_code != 200:
            return None
        data = resp.json()["credential"]
        project = {"id": data["project_id"], "name": data["project_name"]}
        user = {"id": data["user_id"], "name": data["user_name"]}
        roles = list(data["roles"])
        return Credential(access_key, data["secret"], project_identity(self.prefix, project, user, roles),
                          active=bool(roles), email=str(data.get("user_email") or ""))

    async def lookup(self, access_key: str) -> Credential | None:
        found = await self.fallback.lookup(access_key)
        if found is not None or not access_key or "/" in access_key or ":" in access_key:
            return found
        now = time.monotonic()
        cached = self._cache.get(access_key)
        if cached and cached[0] > now:
            return cached[1]
        try:
            cred = await self._fetch(access_key)
        except Exception:  # identity unreachable or answering garbage: the key is unknown for now
            return None
        if len(self._cache) > 10000:
            self._cache.clear()
        self._cache[access_key] = (now + self.ttl, cred)
        return cred
