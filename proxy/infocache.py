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

import asyncio
import functools
import time
from collections.abc import Callable, Coroutine, Mapping
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
        # one read per key at a time: when an entry expires, every request in flight for that container
        # would otherwise read all its primaries at once (a burst of HEADs every ``ttl`` under load)
        self._pending: dict[tuple[str, ...], asyncio.Future[dict[str, Any]]] = {}

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

    async def _cached(self, key: tuple[str, ...],
                      read: Callable[..., Coroutine[Any, Any, dict[str, Any]]], *args: str) -> dict[str, Any]:
        """The cached info of ``key``, else the result of ``read(*args)``, shared by every caller that misses
        while it runs; cached when successful and ``key`` was not invalidated meanwhile. A hit builds nothing."""
        info = self._get(key)
        if info is not None:
            return info
        loop = asyncio.get_running_loop()
        pending = self._pending.get(key)
        if pending is None or pending.get_loop() is not loop:
            pending = self._pending[key] = loop.create_task(read(*args))
            pending.add_done_callback(functools.partial(self._settle, key))
        return await asyncio.shield(pending)  # a cancelled caller leaves the read to the others

    def _settle(self, key: tuple[str, ...], done: asyncio.Future[dict[str, Any]]) -> None:
        failed = done.cancelled() or done.exception() is not None  # (its callers get the exception)
        if self._pending.get(key) is not done:
            return  # invalidated while it ran (a local write): its answer may predate the write
        del self._pending[key]
        if not failed:
            self._put(key, done.result())

    async def container_info(self, account: str, container: str) -> dict[str, Any]:
        """Container info, cached; a miss reads every primary replica and takes the newest (see the module)."""
        key = (account, container)
        return await self._cached(key, self._read_container, account, container)

    async def _read_container(self, account: str, container: str) -> dict[str, Any]:
        resp = await self.client.head_container(account, container, wire.READ_NEWEST)
        info = container_info_from(resp.status, resp.headers)
        if info["sysmeta"].get("versions-enabled"):  # object versioning: every version's bytes count
            hidden = await self.client.head_container(account, versions_container(container))  # a count only
            if 200 <= hidden.status < 300:
                info["bytes"] += _int(hidden.headers.get("x-container-bytes-used"))
        return info

    async def container_policy(self, account: str, container: str) -> int:
        """The storage policy index of a container (0 when it does not exist or says nothing)."""
        info = await self.container_info(account, container)
        try:
            return int(info["storage_policy"]) if 200 <= info["status"] < 300 else 0
        except ValueError:
            return 0

    async def account_info(self, account: str) -> dict[str, Any]:
        """Account info, cached; a miss reads every primary replica and takes the newest (see the module)."""
        key = (account,)
        return await self._cached(key, self._read_account, account)

    async def _read_account(self, account: str) -> dict[str, Any]:
        resp = await self.client.head_account(account, wire.READ_NEWEST)
        return account_info_from(resp.status, resp.headers)

    def invalidate(self, account: str, container: str | None = None) -> None:
        """Forget an account (and, with ``container``, that container) after a local write."""
        self._entries.pop((account,), None)
        self._pending.pop((account,), None)
        if container is not None:
            self._entries.pop((account, container), None)
            self._pending.pop((account, container), None)
