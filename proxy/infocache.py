"""Short-lived cache of account and container metadata (ACLs, tempurl keys, CORS, counts).

Shaped like Swift's ``get_container_info``/``get_account_info`` dicts so features can read e.g.
``info["meta"]["temp-url-key"]`` or ``info["cors"]["allow_origin"]``. Only successful lookups are
cached (a few seconds); this process's own writes invalidate the entries they touch.

Every miss reads all primary replicas and keeps the newest (``wire.READ_NEWEST``): ACLs, bucket policies and
ACLs, the S3 bucket registry, versioning and lock configuration, quotas and the storage policy are all decided
on this info, and a replica that missed a change (a revoked ACL, a deletion and re-creation by another
account) must not decide (docs/durability.md "Reads that decide: the newest copy").
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from stackstore import wire
from stackstore.versioning_names import versions_container

if TYPE_CHECKING:
    from objclient.client import StorageClient

DEFAULT_TTL = 5.0


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def _split_meta(headers: Mapping[str, str], kind: str) -> tuple[dict[str, str], dict[str, str]]:
    meta, sysmeta = {}, {}
    user_prefix, sys_prefix = f"x-{kind}-meta-", f"x-{kind}-sysmeta-"
    for name, value in headers.items():
        low = name.lower()
        if low.startswith(user_prefix):
            meta[low[len(user_prefix):]] = value
        elif low.startswith(sys_prefix):
            sysmeta[low[len(sys_prefix):]] = value
    return meta, sysmeta


def container_info_from(status: int, headers: Mapping[str, str]) -> dict[str, Any]:
    """Swift-style container info from a HEAD response."""
    meta, sysmeta = _split_meta(headers, "container")
    return {
        "status": status,
        "read_acl": headers.get("x-container-read"),
        "write_acl": headers.get("x-container-write"),
        "sync_key": None,
        "object_count": _int(headers.get("x-container-object-count")),
        "bytes": _int(headers.get("x-container-bytes-used")),
        "versions": headers.get("x-versions-location"),
        "storage_policy": headers.get("x-backend-storage-policy-index", "0"),
        "meta": meta,
        "sysmeta": sysmeta,
        "cors": {
            "allow_origin": meta.get("access-control-allow-origin"),
            "expose_headers": meta.get("access-control-expose-headers"),
            "max_age": meta.get("access-control-max-age"),
        },
        "headers": {k.lower(): v for k, v in headers.items()},
    }


def account_info_from(status: int, headers: Mapping[str, str]) -> dict[str, Any]:
    """Swift-style account info from a HEAD response."""
    meta, sysmeta = _split_meta(headers, "account")
    return {
        "status": status,
        "container_count": _int(headers.get("x-account-container-count")),
        "total_object_count": _int(headers.get("x-account-object-count")),
        "bytes": _int(headers.get("x-account-bytes-used")),
        "meta": meta,
        "sysmeta": sysmeta,
        "headers": {k.lower(): v for k, v in headers.items()},
    }


class InfoCache:
    """Per-process TTL cache in front of ``head_account``/``head_container``."""

    def __init__(self, client: StorageClient, ttl: float = DEFAULT_TTL):
        self.client = client
        self.ttl = ttl
        self._entries: dict[tuple[str, ...], tuple[float, dict[str, Any]]] = {}

    def _get(self, key: tuple[str, ...]) -> dict[str, Any] | None:
        hit = self._entries.get(key)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        self._entries.pop(key, None)
        return None

    def _put(self, key: tuple[str, ...], info: dict[str, Any]) -> dict[str, Any]:
        if 200 <= info["status"] < 300:
            if len(self._entries) > 10000:
                self._entries.clear()
            self._entries[key] = (time.monotonic() + self.ttl, info)
        return info

    async def container_info(self, account: str, container: str) -> dict[str, Any]:
        """Container info, cached; a miss reads every primary replica and takes the newest (see the module)."""
        key = (account, container)
        info = self._get(key)
        if info is None:
            resp = await self.client.head_container(account, container, wire.READ_NEWEST)
            info = container_info_from(resp.status, resp.headers)
            if info["sysmeta"].get("versions-enabled"):  # object versioning: every version's bytes count
                hidden = await self.client.head_container(account, versions_container(container), wire.READ_NEWEST)
                if 200 <= hidden.status < 300:
                    info["bytes"] += _int(hidden.headers.get("x-container-bytes-used"))
            info = self._put(key, info)
        return info

    async def container_policy(self, account: str, container: str) -> int:
        """The storage policy index of a container (0 when it does not exist or says nothing)."""
        info = await self.container_info(account, container)
        try:
            return int(info["storage_policy"]) if 200 <= info["status"] < 300 else 0
        except ValueError:
            return 0

    async def account_info(self, account: str) -> dict[str, Any]:
        key = (account,)
        info = self._get(key)
        if info is None:
            resp = await self.client.head_account(account, wire.READ_NEWEST)
            info = self._put(key, account_info_from(resp.status, resp.headers))
        return info

    def invalidate(self, account: str, container: str | None = None) -> None:
        """Forget an account (and, with ``container``, that container) after a local write."""
        self._entries.pop((account,), None)
        if container is not None:
            self._entries.pop((account, container), None)
