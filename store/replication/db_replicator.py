"""One listing replication pass: push differing container/account records to their primaries.

For each partition of each local container (account) DB: ask every other primary for its record
digests, push the records whose digests differ (record + all rows, tombstones included; the
receiver merges by timestamp). Records on a handoff device are pushed to every primary and dropped
locally once all of them answered and the record did not change meanwhile.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

from ring import Device
from store.node import Node
from store.replication import db_sync
from store.replication.local import LocalView
from store.replication.object_replicator import PassStats
from store.replication.settings import Settings
from store.replication.transport import PeerError, call_json

log = logging.getLogger("store.replication")


def db_path(kind: str, dev: Device, partition: int, action: str = "") -> str:
    return f"/replicate/db/{kind}/{dev.device}/{partition}" + (f"/{action}" if action else "")


class DBReplicator:
    def __init__(self, node: Node, view: LocalView, settings: Settings, kind: db_sync.DBKind):
        self.node = node
        self.view = view
        self.settings = settings
        self.kind = kind
        self.last = PassStats()
        self.rows_sent = 0

    async def _run(self, fn, *args):  # noqa: ANN001, ANN202
        return await asyncio.get_running_loop().run_in_executor(self.node.executor, functools.partial(fn, *args))

    async def run_pass(self) -> PassStats:
        stats = PassStats()
        ring = self.view.ring(self.kind.name)
        if ring is None:
            return stats
        sem = asyncio.Semaphore(self.settings.concurrency)
        jobs = []
        for dev in self.view.local_devices(self.kind.name):
            store = self.kind.store(self.node, dev.device)
            for part in await self._run(db_sync.partitions, store):
                jobs.append((dev, store, part))

        async def one(dev: Device, store: db_sync.Store, part: int) -> None:
            async with sem:
                try:
                    await self.replicate_partition(dev, store, part, stats)
                except Exception as exc:  # noqa: BLE001
                    log.exception("replicating %s partition %s on %s", self.kind.name, part, dev.device)
                    stats.failures += 1
                    stats.errors.append(repr(exc))

        await asyncio.gather(*(one(*j) for j in jobs))
        self.last = stats
        return stats

    async def replicate_partition(self, dev: Device, store: db_sync.Store, part: int, stats: PassStats) -> None:
        ring = self.view.ring(self.kind.name)
        assert ring is not None
        if part >= ring.partition_count:
            return
        primaries = ring.primaries(part)
        peers = [p for p in primaries if p.id != dev.id]
        handoff = len(peers) == len(primaries)
        local = await self._run(db_sync.digests, store, part)
        if not local:
            return
        stats.partitions += 1
        results = await asyncio.gather(*(self._push(store, part, local, peer) for peer in peers),
                                       return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        for err in errors:
            stats.failures += 1
            stats.errors.append(str(err))
        stats.files_sent += sum(r for r in results if isinstance(r, int))
        if handoff and not errors:
            for key_hex, dg in local.items():
                if await self._run(db_sync.remove_if_unchanged, store, bytes.fromhex(key_hex), dg):
                    stats.handoffs_removed += 1

    async def _push(self, store: db_sync.Store, part: int, local: dict[str, str], peer: Device) -> int:
        timeout = self.settings.node_timeout
        remote = await call_json(peer.ip, peer.port, "POST", db_path(self.kind.name, peer, part), {}, timeout)
        if not isinstance(remote, dict):
            raise PeerError("bad digest answer")
        sent = 0
        for key_hex, dg in local.items():
            if remote.get(key_hex) == dg:
                continue
            items: list[dict[str, Any]] = await self._run(
                lambda k=key_hex: list(db_sync.export(store, bytes.fromhex(k), self.settings.sync_batch)))
            for item in items:
                await call_json(peer.ip, peer.port, "POST", db_path(self.kind.name, peer, part, "merge"),
                                {"items": [item]}, timeout)
                sent += len(item["rows"])
        self.rows_sent += sent
        return sent
