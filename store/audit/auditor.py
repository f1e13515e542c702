"""The periodic audit pass: every object of every device, then the listing databases.

Paced by ``[store] auditor_bytes_per_second`` and ``auditor_files_per_second``; after each device
the counters go to ``<device>/.recon/auditor.json``: last pass time and duration, objects and bytes
checked, quarantined this pass and in total, listing problems (count and a few samples), and
``expiring_reindexed``: good objects with X-Delete-At whose delete-at index entry was missing and
has been re-added (after each partition), so a lost index heals within one pass.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any, TypeVar

from store import layout
from store.audit.listings_check import check_accounts, check_containers
from store.audit.objects import audit_hash_dirs
from store.audit.ratelimit import RateLimiter
from store.expiring import Entry
from store.io_threads import run_blocking
from store.layout import list_partitions, walk_hash_dirs
from store.node import Node
from store.recon import read_stats, write_stats

T = TypeVar("T")
log = logging.getLogger("store.auditor")
# hash dirs of one partition audited per trip to an I/O thread (the files rate limit is taken for the batch)
FILES_PER_HOP = 16


class Auditor:
    """One node's auditor; ``run_pass`` is registered as a background task."""

    def __init__(self, node: Node):
        self.node = node
        sconf = node.conf["store"]
        self.bytes_limiter = RateLimiter(float(sconf.get("auditor_bytes_per_second", 10 * 1024 * 1024)))
        self.files_limiter = RateLimiter(float(sconf.get("auditor_files_per_second", 20)))

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await run_blocking(self.node.executor, fn, *args)

    async def run_pass(self) -> dict[str, dict[str, Any]]:
        """Audit every device once; returns the stats written per device."""
        devices = await self._run(layout.list_devices, self.node.devices_root)
        return {device: await self.audit_device(device) for device in devices}

    async def audit_device(self, device: str) -> dict[str, Any]:
        path = layout.device_path(self.node.devices_root, device)
        start = time.time()
        stats: dict[str, Any] = {"objects_checked": 0, "bytes_checked": 0, "quarantined": 0, "errors": 0,
                                 "expiring_reindexed": 0}
        for policy in self.node.policies.indexes:  # every policy's objects directory
            for part in await self._run(list_partitions, path, policy):
                expiring: list[Entry] = []
                found = await self._run(lambda p=part, i=policy: list(walk_hash_dirs(path, [p], i)))
                for start in range(0, len(found), FILES_PER_HOP):
                    batch = found[start:start + FILES_PER_HOP]
                    await self.files_limiter.consume(len(batch))
                    await self._audit_batch(device, batch, stats, expiring, policy)
                if expiring:
                    await self._reindex(device, expiring, stats)
        stats.update(await self.check_listings(device, path))
        previous = await self._run(read_stats, path, "auditor") or {}
        stats["quarantined_total"] = int(previous.get("quarantined_total", 0)) + stats["quarantined"]
        stats["passes"] = int(previous.get("passes", 0)) + 1
        stats["last_pass"] = time.time()
        stats["pass_duration"] = round(stats["last_pass"] - start, 3)
        await self._run(write_stats, path, "auditor", stats)
        return stats

    async def _audit_batch(self, device: str, batch: list[tuple[int, str]], stats: dict[str, Any],
                           expiring: list[Entry], policy: int = 0) -> None:
        dfs = [self.node.diskfiles.get(device, partition, hash_hex, "", policy) for partition, hash_hex in batch]
        results = await audit_hash_dirs(dfs, self._run, self.bytes_limiter.consume, batch[0][0])
        for df, result in zip(dfs, results, strict=True):
            if isinstance(result, OSError):
                stats["errors"] += 1
                log.warning("auditing %s failed: %s", df.dir, result)
                continue
            stats["objects_checked"] += result.checked
            stats["bytes_checked"] += result.bytes
            stats["quarantined"] += result.quarantined is not None
            if result.expiring is not None:
                expiring.append(result.expiring)

    async def _reindex(self, device: str, entries: list[Entry], stats: dict[str, Any]) -> None:
        """Re-add the delete-at index entries that are missing (a read when none are)."""
        try:
            index = await self._run(self.node.expiring, device)
            stats["expiring_reindexed"] += await self._run(index.add_missing, entries)
        except Exception as exc:  # the next pass tries again
            stats["errors"] += 1
            log.warning("re-indexing expiring objects of %s failed: %s", device, exc)

    async def check_listings(self, device: str, path: str) -> dict[str, Any]:
        """Scan the device's container and account environments (those that exist)."""
        problems: list[str] = []
        count = rows = 0
        for name, db_path, opener, check in (
                (layout.CONTAINERS_DB, layout.containers_db_path(path), self.node.containers, check_containers),
                (layout.ACCOUNTS_DB, layout.accounts_db_path(path), self.node.accounts, check_accounts)):
            if not await self._run(os.path.isdir, db_path):
                continue
            try:
                found, seen = await self._run(check, opener(device))  # opened on the loop: one env per process
            except Exception as exc:  # any failure to read the environment is the finding
                count += 1
                problems.append(f"{name}: {exc!r}")
                continue
            count += found.count
            rows += seen
            problems.extend(found.samples)
        if count:
            log.warning("listing problems on %s: %s", device, problems)
        return {"listing_problems": count, "listing_problem_samples": problems, "listing_rows_checked": rows}
