"""One object replication pass over every partition of this node's devices.

Primary partitions are pushed to the other primaries. Handoff partitions (this device is not a
primary any more, or took writes while a primary was down) are pushed to every primary and, once
all of them confirmed, the files that were pushed are removed locally (anything written meanwhile
stays for the next pass).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import time
from dataclasses import dataclass, field

from ring import Device
from store.diskfile import HASHES_INVALID, list_partitions, list_suffixes, partition_path, suffix_states
from store.node import Node
from store.replication.local import LocalView
from store.replication.sender import Listing, Pusher, offered_files
from store.replication.settings import Settings
from store.replication.suffix_hashes import HASHES_FILE, forget, get_hashes
from store.replication.transport import RateLimiter

log = logging.getLogger("store.replication")


@dataclass
class PassStats:
    started: float = 0.0
    duration: float = 0.0
    partitions: int = 0
    handoffs_removed: int = 0
    suffixes_differing: int = 0
    files_sent: int = 0
    bytes_sent: int = 0
    failures: int = 0
    errors: list[str] = field(default_factory=list)


class ObjectReplicator:
    def __init__(self, node: Node, view: LocalView, settings: Settings):
        self.node = node
        self.view = view
        self.settings = settings
        self.limiter = RateLimiter(settings.max_bytes_per_sec)
        self.last = PassStats()
        self.totals = PassStats()
        self.passes = 0

    async def _run(self, fn, *args):  # noqa: ANN001, ANN202
        return await asyncio.get_running_loop().run_in_executor(self.node.executor, functools.partial(fn, *args))

    async def run_pass(self) -> PassStats:
        stats = PassStats(started=time.time())
        ring = self.view.ring("object")
        if ring is not None:
            jobs: list[tuple[Device, int]] = []
            for dev in self.view.local_devices("object"):
                path = os.path.join(self.node.devices_root, dev.device)
                jobs += [(dev, p) for p in await self._run(list_partitions, path)]
            sem = asyncio.Semaphore(self.settings.concurrency)

            async def one(dev: Device, part: int) -> None:
                async with sem:
                    try:
                        await self.replicate_partition(dev, part, stats)
                    except Exception as exc:  # noqa: BLE001 - one bad partition must not stop the pass
                        log.exception("replicating partition %s on %s", part, dev.device)
                        stats.failures += 1
                        stats.errors.append(repr(exc))

            await asyncio.gather(*(one(d, p) for d, p in jobs))
        stats.duration = time.time() - stats.started
        stats.errors = stats.errors[-10:]
        self._account(stats)
        return stats

    def _account(self, stats: PassStats) -> None:
        self.last = stats
        self.passes += 1
        for name in ("partitions", "handoffs_removed", "suffixes_differing", "files_sent", "bytes_sent", "failures"):
            setattr(self.totals, name, getattr(self.totals, name) + getattr(stats, name))

    async def replicate_partition(self, dev: Device, part: int, stats: PassStats) -> None:
        ring = self.view.ring("object")
        assert ring is not None
        device_path = os.path.join(self.node.devices_root, dev.device)
        part_path = partition_path(device_path, part)
        if part >= ring.partition_count:
            return
        primaries = ring.primaries(part)
        peers = [p for p in primaries if p.id != dev.id]
        handoff = len(peers) == len(primaries)
        listing = await self._run(_full_listing, part_path) if handoff else {}
        hashes = await self._run(get_hashes, part_path, self.settings.reclaim_age)
        stats.partitions += 1
        pusher = Pusher(self.node.diskfiles, dev.device, self.settings.node_timeout, self.limiter)
        results = await asyncio.gather(*(pusher.push(part, hashes, p) for p in peers))
        for r in results:
            stats.suffixes_differing += r.suffixes_differing
            stats.files_sent += r.files_sent
            stats.bytes_sent += r.bytes_sent
            if not r.ok:
                stats.failures += 1
                stats.errors.append(r.error)
        if handoff and all(r.ok for r in results):
            await self._run(_remove_pushed, part_path, listing)
            stats.handoffs_removed += 1


def _full_listing(part_path: str) -> Listing:
    return {s: suffix_states(part_path, s) for s in list_suffixes(part_path)}


def _remove_pushed(part_path: str, listing: Listing) -> None:
    """Remove exactly the listed files (every primary holds them or newer), then empty dirs."""
    for suffix, states in listing.items():
        sdir = os.path.join(part_path, suffix)
        for h, state in states.items():
            hdir = os.path.join(sdir, h)
            for name in [*offered_files(state), *state.obsolete]:
                try:
                    os.unlink(os.path.join(hdir, name))
                except FileNotFoundError:
                    pass
            _rmdir(hdir)
        _rmdir(sdir)
    try:
        left = set(os.listdir(part_path))
    except FileNotFoundError:
        return
    if left <= {HASHES_FILE, HASHES_INVALID}:
        for name in left:
            try:
                os.unlink(os.path.join(part_path, name))
            except FileNotFoundError:
                pass
        if _rmdir(part_path):
            forget(part_path)


def _rmdir(path: str) -> bool:
    try:
        os.rmdir(path)
        return True
    except OSError:
        return False
