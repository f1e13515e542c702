"""The policy reconciler: moves objects stored under a storage policy other than their container's.

An object lands in the wrong policy when its PUT raced a container being deleted and recreated under
another policy (the proxy routed it by container info a few seconds old), or when container replicas
disagreed for a while. Each node scans its devices' objects directories, every policy, every
``[store] reconciler_interval`` seconds (<= 0: off). For each live object (a ``.data``) it asks the
container's policy (one container HEAD per container and pass). When the container exists under another
policy:

* the correct policy already holds this version or a newer one (data or tombstone): the misplaced copy
  is removed;
* otherwise the object is PUT to the correct policy through the internal client with its original
  ``X-Timestamp``, metadata and body (the container row is the same, so listings do not change), then
  the local misplaced copy is removed.

Every node holding a misplaced copy does the same, so copies a replication pass hands back meanwhile
go on the next pass. Tombstones in the wrong policy are left alone (they expire with reclaim_age), and a
newer ``.meta`` moves merged into the object's metadata at the data's timestamp. Counters go to
``<device>/.recon/reconciler.json``.
"""

from __future__ import annotations

import functools
import logging
import shutil
import time
from collections.abc import AsyncIterator
from typing import Any

from objclient.client import StorageClient
from stackstore.storage_policies import POLICY_INDEX_HEADER
from stackstore.timestamp import Timestamp
from store import layout
from store.diskfile import DiskFile, DiskFileError, ObjectReader, invalidate_suffix, remove_rows
from store.node_task import NodeTask

log = logging.getLogger("store.reconciler")

# stored headers that describe the stored copy rather than the object (not sent with the move)
NOT_MOVED = frozenset({"content-length", "etag", "x-timestamp", "x-backend-timestamp"})


class Reconciler(NodeTask):
    """One node's reconciler; ``run_pass`` is registered as a background task."""

    STATS_NAME = "reconciler"

    async def run_pass(self) -> dict[str, dict[str, Any]]:
        """Reconcile every device once (the container policies asked once per pass); returns the counters
        per device."""
        client = self.client()
        if client is None or len(self.node.policies) < 2:
            return {}
        policies: dict[tuple[str, str], int | None] = {}  # container -> its policy, for this pass
        out = {}
        for device in await self._io(layout.list_devices, self.node.devices_root):
            stats = {"checked": 0, "misplaced": 0, "moved": 0, "removed": 0, "failures": 0}
            started = time.time()
            path = layout.device_path(self.node.devices_root, device)
            for policy in self.node.policies.indexes:
                for part in await self._io(layout.list_partitions, path, policy):
                    found = await self._io(_hash_dirs, path, part, policy)
                    for partition, hash_hex in found:
                        try:
                            await self.reconcile(client, device, partition, hash_hex, policy, policies, stats)
                        except Exception:  # one object must not stop the pass
                            log.exception("reconciling %s/%s/%s failed", device, partition, hash_hex)
                            stats["failures"] += 1
            await self._record(path, stats, started)
            out[device] = stats
        return out

    async def container_policy(self, client: StorageClient, account: str, container: str,
                               cache: dict[tuple[str, str], int | None]) -> int | None:
        """The container's policy index; None when it does not exist or did not answer."""
        key = (account, container)
        if key not in cache:
            resp = await client.head_container(account, container)
            await resp.close()
            raw = resp.headers.get(POLICY_INDEX_HEADER) if 200 <= resp.status < 300 else None
            policy = self.node.policies.by_index(raw) if raw is not None else None
            cache[key] = policy.index if policy is not None else None
        return cache[key]

    async def reconcile(self, client: StorageClient, device: str, partition: int, hash_hex: str, policy: int,
                        cache: dict[tuple[str, str], int | None], stats: dict[str, int]) -> None:
        """Move one object to its container's policy when it is stored under another."""
        df = self.node.diskfiles.get(device, partition, hash_hex, "", policy)
        try:
            reader = await self._io(functools.partial(df.open, now=0.0))  # expired objects move too
        except DiskFileError:
            return  # a tombstone, nothing, or quarantined
        stats["checked"] += 1
        try:
            name = reader.meta.get("name")
            if not isinstance(name, str) or name.count("/") < 3:
                return
            account, container, obj = name[1:].split("/", 2)
            right = await self.container_policy(client, account, container, cache)
            if right is None or right == policy:
                return
            stats["misplaced"] += 1
            if not await self._right_is_current(client, account, container, obj, right, reader.timestamp):
                status = await self._move(client, reader, account, container, obj, right)
                if status not in (201, 202, 409):  # 409: a newer version is there already
                    stats["failures"] += 1
                    return
                stats["moved"] += 1
        finally:
            reader.close()
        await self._io(_remove_hash_dir, df)
        stats["removed"] += 1
        log.info("moved misplaced %s from policy %d to %d", name, policy, right)

    async def _right_is_current(self, client: StorageClient, account: str, container: str, obj: str,
                                policy: int, timestamp: Timestamp) -> bool:
        resp = await client.head_object(account, container, obj, policy=policy)
        await resp.close()
        newest = resp.headers.get("X-Backend-Timestamp") or resp.headers.get("X-Timestamp")
        if resp.status not in (200, 404) or not newest:
            return False
        try:
            return Timestamp(newest) >= timestamp
        except ValueError:
            return False

    async def _move(self, client: StorageClient, reader: ObjectReader, account: str, container: str, obj: str,
                    policy: int) -> int:
        headers = {k: v for k, v in reader.headers.items() if k.lower() not in NOT_MOVED}
        headers.update({"X-Timestamp": reader.timestamp.normal, "Content-Type": reader.content_type})
        resp = await client.put_object(account, container, obj, headers, _body(reader), reader.size,
                                       policy=policy)
        await resp.close()
        return resp.status


async def _body(reader: ObjectReader) -> AsyncIterator[bytes]:
    if reader.size:
        async for chunk in reader.iter_range(0, reader.size - 1):
            yield bytes(chunk)  # (the reader's views share its blocks; the client may keep what it sends)


def _hash_dirs(device_path: str, partition: int, policy: int) -> list[tuple[int, str]]:
    return list(layout.walk_hash_dirs(device_path, [partition], policy))


def _remove_hash_dir(df: DiskFile) -> None:
    """Drop a misplaced copy, its files and rows (blocking); replication sees the suffix changed."""
    remove_rows(df.dir)
    shutil.rmtree(df.dir, ignore_errors=True)
    invalidate_suffix(df.dir)
