"""The node's lifecycle task: every ``[lifecycle] interval`` seconds, run the S3 lifecycle rules of the
buckets this node is responsible for.

Which buckets: each device scans its own container records (``containers.lmdb``, the bucket list of
this device, no network) for live containers carrying a lifecycle configuration (container sysmeta,
``stackstore/lifecycle.py``), and runs those for which it is the first container primary, in ring
order, that is up and holds the container: the primaries before it are asked (a HEAD each), and any
that answers 2xx runs the bucket instead. So one node works on a bucket while the cluster is healthy,
the next primary takes over while the first is down or lost its copy, and should two briefly both run
it (a slow answer), every action is idempotent: deletes carry the object's own timestamp plus one
tick, aborts find the upload already gone.

Progress goes to ``<device>/.recon/lifecycle.json`` (``buckets`` run, ``examined`` rows, versions and upload
markers, ``expired`` current versions, ``aborted`` uploads, ``noncurrent`` versions and ``markers``
(expired delete markers) removed, ``locked`` versions kept, ``failures``, ``last_pass``,
``pass_duration`` and running totals), shown by ``GET /recon`` and ``stackstore status``.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import Any, TypeVar

from objclient.client import StorageClient
from stackstore.lifecycle import DAY_SECONDS, SYSMETA_COUNT, Rule, from_sysmeta
from store import layout
from store.container_duty import ContainerDutyTask, runs_container
from store.lifecycle import version_layout
from store.lifecycle.bucket import BucketLifecycle, PassStats
from store.listings import ContainerStore, live_meta
from store.node import Node

T = TypeVar("T")
log = logging.getLogger("store.lifecycle")
STATS_NAME = "lifecycle"
TOTALS = ("expired", "aborted", "failures", "noncurrent", "markers")
_COUNT_KEY = SYSMETA_COUNT.lower()


@dataclass(frozen=True)
class ConfiguredBucket:
    """A live container of this device with lifecycle rules."""

    account: str
    container: str
    policy: int
    rules: list[Rule]
    versioning: str | None = None  # version_layout.ENABLED / SUSPENDED; None: never versioned


def configured_buckets(store: ContainerStore) -> list[ConfiguredBucket]:
    """Every live container of a device's listing store with a readable lifecycle configuration (blocking)."""
    out = []
    for rec in store.live_containers():
        meta = rec.get("meta") or {}
        if not (meta.get(_COUNT_KEY) or ["", ""])[0]:
            continue
        live = live_meta(meta)
        rules = from_sysmeta(live)
        if rules:
            out.append(ConfiguredBucket(rec["account"], rec["container"], int(rec.get("policy", 0)), rules,
                                        version_layout.state_of(live)))
    return out


class LifecycleRunner(ContainerDutyTask):
    """One node's lifecycle task; ``run_pass`` is registered as a background task."""

    STATS_NAME = STATS_NAME
    TOTALS = TOTALS

    def __init__(self, node: Node):
        super().__init__(node)
        lconf = node.conf.get("lifecycle", {})
        day = float(lconf.get("day_seconds", DAY_SECONDS))
        self.day_seconds = day if day > 0 else DAY_SECONDS
        self.concurrency = max(1, int(lconf.get("concurrency", 8)))

    async def runs_bucket(self, client: StorageClient, device: str, account: str, container: str) -> bool:
        """This device is the bucket's first container primary that is up and holds the container
        (``store.container_duty``): a primary before it answering a HEAD with 2xx runs the bucket instead."""
        return await runs_container(client, device, self.address, account, container)

    async def run_device(self, client: StorageClient, device: str) -> dict[str, Any]:
        path = layout.device_path(self.node.devices_root, device)
        stats = PassStats()
        started = time.time()
        if await self._io(os.path.isdir, layout.containers_db_path(path)):
            store = await self._io(self.node.containers, device)  # opening an environment touches the disk
            for bucket in await self._io(configured_buckets, store):
                if bucket.container.endswith("+segments") or not await self.runs_bucket(
                        client, device, bucket.account, bucket.container):
                    continue
                stats.buckets += 1
                try:
                    await BucketLifecycle(client, store, self._io, bucket.account, bucket.container, bucket.policy,
                                          bucket.rules, self.day_seconds, self.concurrency, stats,
                                          versioning=bucket.versioning).run()
                except Exception:  # one bucket must not stop the pass
                    log.exception("lifecycle of /%s/%s failed", bucket.account, bucket.container)
                    stats.failures += 1
        return await self._record(path, stats, started)

