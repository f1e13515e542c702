"""Credential lookup for S3 auth: access key → secret and the storage account it acts on.

One interface (``CredentialStore.lookup``) so the identity service can plug EC2 credentials in later.
The built-in store serves TempAuth users (access key ``acct:user``, secret = the user's key) and the
extra pairs of ``[s3].keys`` (access key → ``{"secret", "user"}``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


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
