"""One listing replication pass: push differing container/account records to their primaries.

For each partition of each local container (account) DB: ask every other primary for its record
digests and for the sync point it keeps for each of our records (the last change sequence of ours
it merged), then, for each record whose digest differs, push the record and the rows changed after
that point (tombstones included; the receiver merges by timestamp). A receiver that never merged
from our replica of a record (new, wiped, or our replica is a handoff's) gets every row. Records
on a handoff device are pushed to every primary and dropped locally once all of them answered and
the record did not change meanwhile. On a primary, once every other primary answered, tombstone rows
older than ``reclaim_age`` that all of them hold are purged (``store.listing_reclaim``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from ring import Device
from store.io_threads import run_blocking
from store.listing_reclaim import cutoff_ticks, reclaim_record
from store.node import Node
from store.replication import db_sync
from store.replication.local import LocalView
from store.replication.object_replicator import PassStats
from store.replication.settings import Settings
from store.replication.transport import PeerError, call_json

T = TypeVar("T")
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
        self.tombstones_reclaimed = 0

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await run_blocking(self.node.executor, fn, *args)

    async def run_pass(self) -> PassStats:
        stats = PassStats()
        ring = self.view.ring(self.kind.name)
        if ring is None:
            return stats
        if ring.next_part_power is not None:  # records are reindexed for the new power first (store/relinker.py)
            log.warning("%s ring: partition power increase in progress, listings not replicated", self.kind.name)
            return stats
        sem = asyncio.Semaphore(self.settings.concurrency)
        jobs = []
        for dev in await self._run(self.view.local_devices, self.kind.name):  # stats device dirs
            store = self.kind.store(self.node, dev.device)
            for part in await self._run(db_sync.partitions, store):
                jobs.append((dev, store, part))

        async def one(dev: Device, store: db_sync.Store, part: int) -> None:
            async with sem:
                try:
                    await self.replicate_partition(dev, store, part, stats)
                except Exception as exc:
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
        local = await self._run(db_sync.local_records, store, part)
        if not local:
            return
        stats.partitions += 1
        results = await asyncio.gather(*(self._push(store, part, local, peer) for peer in peers),
                                       return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        for err in errors:
            stats.failures += 1
            stats.errors.append(str(err))
        pushes = [r for r in results if isinstance(r, tuple)]
        stats.files_sent += sum(sent for sent, _ in pushes)
        if not handoff and not errors:
            self.tombstones_reclaimed += await self._run(
                _reclaim_partition, store, local, [held for _, held in pushes], self.settings.reclaim_age)
        if handoff and not errors:
            for key_hex, rec in local.items():
                if await self._run(db_sync.remove_if_unchanged, store, bytes.fromhex(key_hex), rec.digest):
                    stats.handoffs_removed += 1

    async def _push(self, store: db_sync.Store, part: int, local: dict[str, db_sync.LocalRecord],
                    peer: Device) -> tuple[int, dict[str, int]]:
        """Send ``peer`` what it lacks of each record whose digest differs; returns the rows sent and,
        per record, the last sequence of ours the peer is known to hold (its sync point, or our
        last sequence when the digests were equal or every change was merged)."""
        senders = {key_hex: [rec.uid, rec.seq, rec.digest] for key_hex, rec in local.items()}
        remote = await call_json(peer.ip, peer.port, "POST", db_path(self.kind.name, peer, part),
                                 {"senders": senders}, self.settings.node_timeout)
        if not isinstance(remote, dict) or not isinstance(remote.get("digests"), dict):
            raise PeerError("bad digest answer")
        points = remote.get("points") or {}
        sent = 0
        held: dict[str, int] = {}
        for key_hex, rec in local.items():
            if remote["digests"].get(key_hex) != rec.digest:
                sent += await self._send_changes(store, part, peer, bytes.fromhex(key_hex),
                                                 _sync_point(points.get(key_hex), rec.seq))
            held[key_hex] = rec.seq  # equal digests, or every change after its point was merged
        self.rows_sent += sent
        return sent, held

    async def _send_changes(self, store: db_sync.Store, part: int, peer: Device, key: bytes, since: int) -> int:
        """Push the record and its rows changed after ``since``, one batch per request, in change
        order (the peer advances its sync point with each merged batch); rows sent."""
        batch, sent = self.settings.sync_batch, 0
        while True:
            item = await self._run(db_sync.export_since, store, key, since, batch)
            if item is None:
                return sent
            await call_json(peer.ip, peer.port, "POST", db_path(self.kind.name, peer, part, "merge"),
                            {"items": [item]}, self.settings.node_timeout)
            sent += len(item["rows"])
            if len(item["rows"]) < batch:
                return sent
            since = item["upto"]


def _reclaim_partition(store: db_sync.Store, local: dict[str, db_sync.LocalRecord],
                       held_by_peers: list[dict[str, int]], reclaim_age: float) -> int:
    """Purge the old tombstone rows every other primary holds (blocking); rows purged."""
    cutoff = cutoff_ticks(reclaim_age)
    removed = 0
    for key_hex, rec in local.items():
        safe = min((held.get(key_hex, 0) for held in held_by_peers), default=rec.seq)  # no peers: ours
        removed += reclaim_record(store, bytes.fromhex(key_hex), safe, cutoff)
    return removed


def _sync_point(remote: Any, local_seq: int) -> int:
    """The peer's sync point for our replica; 0 (send everything) when missing or impossible."""
    if not isinstance(remote, int) or remote < 0 or remote > local_seq:
        return 0
    return remote
