"""Credential lookup for S3 auth: access key → secret and the storage account it acts on.

One interface (``CredentialStore.lookup``); ``IdentityCredentials`` adds the identity service's EC2 credentials.
The built-in store serves TempAuth users (access key ``acct:user``, secret = the user's key) and the
extra pairs of ``[s3].keys`` (access key → ``{"secret", "user"}``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from identity.service_user import SERVICE_PROJECT, SERVICE_USER, service_password
from proxy.auth.keystone import identity_url


@dataclass(frozen=True)
class Credential:
    """A resolved S3 key pair: who it is (``user`` like ``acct:name``) and which account it owns."""

    access_key: str
    secret: str
    user: str
    account: str  # e.g. "AUTH_acct"
    groups: tuple[str, ...] = field(default_factory=tuple)


class CredentialStore(Protocol):
    async def lookup(self, access_key: str) -> Credential | None:
        """The credential for ``access_key``, or None (→ InvalidAccessKeyId)."""
        ...


class ConfigCredentials:
    """TempAuth users plus ``[s3].keys`` from the configuration."""

    def __init__(self, conf: Any):
        tempauth = conf.get("tempauth", {}) if hasattr(conf, "get") else {}
        self.prefix = tempauth.get("reseller_prefix", "AUTH_")
        self.users: dict[str, dict[str, Any]] = dict(tempauth.get("users", {}))
        s3 = conf.get("s3", {}) if hasattr(conf, "get") else {}
        self.keys: dict[str, dict[str, Any]] = dict(s3.get("keys", {}))

    def _credential(self, access_key: str, secret: str, user: str) -> Credential:
        account = user.partition(":")[0]
        groups = tuple(self.users.get(user, {}).get("groups", ()))
        return Credential(access_key, secret, user, self.prefix + account, groups)

    async def lookup(self, access_key: str) -> Credential | None:
        extra = self.keys.get(access_key)
        if isinstance(extra, dict) and "secret" in extra and "user" in extra:
            return self._credential(access_key, str(extra["secret"]), str(extra["user"]))
        entry = self.users.get(access_key)
        if entry is not None and ":" in access_key:
            return self._credential(access_key, str(entry.get("key", "")), access_key)
        return None


class IdentityCredentials:
    """EC2 credentials of the identity service, tried after ``fallback`` (the configured keys).

    Looked up with the proxy's service account (``identity.service_user``) at
    ``/v3/OS-STACKSTORE/ec2/<access>`` and cached ``ttl`` seconds, so a deleted credential (or a user who
    lost their role) stops working within that delay.
    """

    def __init__(self, conf: Any, fallback: CredentialStore | None = None, ttl: float = 5.0):
        self.conf = conf
        self.url = identity_url(conf)
        self.fallback = fallback or ConfigCredentials(conf)
        self.prefix = conf.get("tempauth", {}).get("reseller_prefix", "AUTH_")
        self.ttl = ttl
        self._cache: dict[str, tuple[float, Credential | None]] = {}
        self._token: tuple[str, float] | None = None  # (token, monotonic refresh time)

    async def _service_token(self, client: Any, fresh: bool = False) -> str:
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
        user = f"{data['project_name']}:{data['user_name']}"
        groups = (f"{data['project_id']}:{data['user_id']}", f"{data['project_id']}:*")
        return Credential(access_key, data["secret"], user, self.prefix + data["project_id"], groups)

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
