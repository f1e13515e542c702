"""Background tasks run inside the node's lifespan.

Each task is a coroutine function ``fn(node)`` run every ``interval`` seconds: the listing sync (LMDB
``sync=False`` flushed about once a second), the debounced container -> account stat reports, the
async-pending updater pass, the auditor, the object expirer, the policy reconciler, the S3
lifecycle runner, the container sync daemon, the partition power relinker and the orphaned-segment reaper
(an interval <= 0 disables those seven) and the replicator.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from store.audit.auditor import Auditor
from store.container_sync import ContainerSyncTask
from store.expirer import Expirer
from store.lifecycle.runner import LifecycleRunner
from store.node import Node
from store.reconciler import Reconciler
from store.relinker import Relinker
from store.replication.service import run_replication
from store.segment_reaper import SegmentReaper
from store.updater import run_updater_pass

log = logging.getLogger("store.background")


@dataclass
class Periodic:
    name: str
    interval: float
    fn: Callable[[Node], Awaitable[object]]


async def _sync_listings(node: Node) -> None:
    await asyncio.get_running_loop().run_in_executor(node.executor, node.sync_listings)


async def _report_containers(node: Node) -> None:
    await node.updater.report_container_stats(node.container_stores())


def _container_nodes(node: Node, account: str, container: str) -> tuple[int, list[tuple[str, int, str]]] | None:
    """A container's partition and primaries under the node's current container ring (None without one;
    blocking)."""
    ring = node.rings.ring("container")
    if ring is None:
        return None
    part, devices = ring.get_nodes(account, container)
    return part, [(d.ip, int(d.port), d.device) for d in devices]


async def _async_pending(node: Node) -> None:
    sconf = node.conf["store"]
    await run_updater_pass(node.devices_root, timeout=node.container_update_timeout,
                           concurrency=int(sconf.get("updater_concurrency", 8)),
                           max_per_second=float(sconf.get("updater_max_per_second", 50.0)), record=True,
                           executor=node.executor,
                           locate=lambda account, container: _container_nodes(node, account, container))


def _optional_tasks(node: Node) -> list[Periodic]:
    """Auditor, expirer, policy reconciler, lifecycle runner, relinker and segment reaper, each only when its
    interval is positive."""
    sconf = node.conf["store"]
    tasks = []
    if (interval := float(sconf.get("auditor_interval", 30.0))) > 0:
        auditor = Auditor(node)
        tasks.append(Periodic("auditor", interval, lambda _node: auditor.run_pass()))
    if (interval := float(sconf.get("expirer_interval", 300.0))) > 0:
        expirer = Expirer(node)
        tasks.append(Periodic("expirer", interval, lambda _node: expirer.run_pass()))
    if (interval := float(sconf.get("reconciler_interval", 300.0))) > 0:
        reconciler = Reconciler(node)
        tasks.append(Periodic("reconciler", interval, lambda _node: reconciler.run_pass()))
    if (interval := float(node.conf.get("lifecycle", {}).get("interval", 3600.0))) > 0:
        lifecycle = LifecycleRunner(node)
        tasks.append(Periodic("lifecycle", interval, lambda _node: lifecycle.run_pass()))
    if (interval := float(node.conf.get("container_sync", {}).get("interval", 300.0))) > 0:
        container_sync = ContainerSyncTask(node)
        tasks.append(Periodic("container-sync", interval, lambda _node: container_sync.run_pass()))
    if (interval := float(sconf.get("relinker_interval", 60.0))) > 0:
        relinker = Relinker(node)
        tasks.append(Periodic("relinker", interval, lambda _node: relinker.run_pass()))
    if (interval := float(sconf.get("segment_reaper_interval", 3600.0))) > 0:
        reaper = SegmentReaper(node)
        tasks.append(Periodic("segment-reaper", interval, lambda _node: reaper.run_pass()))
    return tasks


def default_tasks(node: Node) -> list[Periodic]:
    sconf = node.conf["store"]
    return [
        Periodic("listing-sync", float(sconf.get("listing_sync_interval", 1.0)), _sync_listings),
        Periodic("account-reports", float(sconf.get("account_update_interval", 1.0)), _report_containers),
        Periodic("updater", float(sconf.get("updater_interval", 10.0)), _async_pending),
        *_optional_tasks(node),
        Periodic("replicator", float(sconf.get("replicator_interval", 30.0)), run_replication),
    ]


class BackgroundTasks:
    """Starts periodic tasks on startup and stops them (then flushes listings) on shutdown."""

    def __init__(self, node: Node, tasks: list[Periodic] | None = None):
        self.node = node
        self.periodics = default_tasks(node) if tasks is None else tasks
        self._tasks: list[asyncio.Task] = []

    async def _loop(self, p: Periodic) -> None:
        while True:
            await asyncio.sleep(p.interval)
            try:
                await p.fn(self.node)
            except asyncio.CancelledError:
                raise
            except Exception:  # a failing pass must not stop the loop
                log.exception("background task %s failed", p.name)

    def start(self) -> None:
        self.node.open_container_stores()  # resume unreported account updates after a restart
        self._tasks = [asyncio.create_task(self._loop(p), name=f"store-{p.name}") for p in self.periodics]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
        self._tasks = []
