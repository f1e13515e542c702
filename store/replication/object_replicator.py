"""One object replication pass over every partition of this node's devices.

Primary partitions are pushed to the other primaries; when a primary's device is unmounted (507)
the partition goes to a handoff device in its place, as Swift does. Handoff partitions (this device is not a
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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ring import Device
from stackstore.storage_policies import object_ring_name
from store import inline_objects
from store.diskfile import suffixes_states
from store.fsutil import remove_file
from store.io_threads import run_blocking
from store.layout import (
    HASHES_FILE,
    HASHES_INVALID,
    device_path,
    list_partitions,
    list_suffixes,
    partition_path,
)
from store.node import Node
from store.replication.local import LocalView
from store.replication.sender import Listing, Pusher, PushResult, bulk_hashes, offered_files
from store.replication.settings import Settings
from store.replication.suffix_hashes import forget, get_hashes
from store.replication.transport import PeerError, RateLimiter

T = TypeVar("T")
log = logging.getLogger("store.replication")

UNMOUNTED: dict[int, dict[str, str]] = {}  # sentinel in a pass's remote hashes: the peer answered 507
DISCOVER_CYCLE = 10  # a partition's suffixes are listed (get_hashes ``discover``) once in this many passes
HASH_BATCH = 32  # partitions hashed per trip to an I/O thread


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


@dataclass
class Job:
    """One local partition replica and what the pass learned about it."""

    dev: Device
    part: int
    primaries: list[Device]
    policy: int = 0  # storage policy: which objects directory and ring
    hashes: dict[str, str] | None = None
    listing: Listing = field(default_factory=dict)
    failed: bool = False

    @property
    def peers(self) -> list[Device]:
        return [p for p in self.primaries if p.id != self.dev.id]

    @property
    def handoff(self) -> bool:
        return all(p.id != self.dev.id for p in self.primaries)


class ObjectReplicator:
    def __init__(self, node: Node, view: LocalView, settings: Settings):
        self.node = node
        self.view = view
        self.settings = settings
        self.limiter = RateLimiter(settings.max_bytes_per_sec)
        self.last = PassStats()
        self.totals = PassStats()
        self.passes = 0

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await run_blocking(self.node.executor, fn, *args)

    async def run_pass(self) -> PassStats:
        """For every storage policy: hash every local partition of its objects directory, fetch each
        peer's hashes in bulk, push the differences (by that policy's ring)."""
        stats = PassStats(started=time.time())
        for policy in self.node.policies:
            await self._policy_pass(policy.index, policy.ring_name, stats)
        stats.duration = time.time() - stats.started
        stats.errors = stats.errors[-10:]
        self._account(stats)
        return stats

    async def _policy_pass(self, policy: int, ring_name: str, stats: PassStats) -> None:
        ring = self.view.ring(ring_name)
        if ring is None:
            return
        if ring.next_part_power is not None:  # as Swift: relinked copies must not move under the old power
            log.warning("%s ring: partition power increase in progress, objects not replicated", ring_name)
            return
        jobs: list[Job] = []
        for dev in await self._run(self.view.local_devices, ring_name):  # stats device dirs
            path = device_path(self.node.devices_root, dev.device)
            for part in await self._run(list_partitions, path, policy):
                if part < ring.partition_count:
                    jobs.append(Job(dev, part, ring.primaries(part), policy))
        sem = asyncio.Semaphore(self.settings.concurrency)
        chunks = [jobs[i:i + HASH_BATCH] for i in range(0, len(jobs), HASH_BATCH)]
        await asyncio.gather(*(self._prepare(sem, stats, chunk) for chunk in chunks))
        remote = await self._remote_hashes(jobs, policy)
        await asyncio.gather(*(self._guarded(sem, stats, job, functools.partial(self._push, remote=remote))
                               for job in jobs))

    async def _guarded(self, sem: asyncio.Semaphore, stats: PassStats, job: Job,
                      step: Callable[[Job, PassStats], Awaitable[None]]) -> None:
        async with sem:
            try:
                await step(job, stats)
            except Exception as exc:  # one bad partition must not stop the pass
                _record_failure(job, stats, exc)

    async def _prepare(self, sem: asyncio.Semaphore, stats: PassStats, chunk: list[Job]) -> None:
        """Hash the chunk's partitions one after the other in one trip to an I/O thread (a trip per partition
        cost more than hashing an unchanged one); a partition that fails is marked and the others go on."""
        async with sem:
            failures = await self._run(self._hash_partitions, chunk)
        stats.partitions += len(chunk) - len(failures)
        for job, exc in failures:  # one bad partition must not stop the pass
            _record_failure(job, stats, exc)

    def _hash_partitions(self, chunk: list[Job]) -> list[tuple[Job, Exception]]:
        """Each job's hashes (and a handoff's listing, taken before hashing: everything listed is covered by the
        hashes); the jobs that raised, with what (blocking)."""
        failures: list[tuple[Job, Exception]] = []
        for job in chunk:
            part_path = partition_path(device_path(self.node.devices_root, job.dev.device), job.part, job.policy)
            # a handoff's files are removed once pushed: its hashes must cover every suffix listed, so it always
            # lists; a primary lists once in DISCOVER_CYCLE passes, spread over the passes (as Swift's do_listdir)
            discover = job.handoff or (job.part + self.passes) % DISCOVER_CYCLE == 0
            try:
                if job.handoff:
                    job.listing = _full_listing(part_path)
                job.hashes = get_hashes(part_path, self.settings.reclaim_age, None, discover)
            except Exception as exc:
                failures.append((job, exc))
        return failures

    async def _remote_hashes(self, jobs: list[Job], policy: int = 0) -> dict[int, dict[int, dict[str, str]] | None]:
        """``peer device id -> {partition: hashes}`` (None when the peer did not answer, UNMOUNTED on 507)."""
        wanted: dict[int, tuple[Device, set[int]]] = {}
        for job in jobs:
            for peer in job.peers:
                wanted.setdefault(peer.id, (peer, set()))[1].add(job.part)
        out: dict[int, dict[int, dict[str, str]] | None] = {}

        async def fetch(peer: Device, parts: set[int]) -> None:
            try:
                out[peer.id] = await bulk_hashes(peer, sorted(parts), self.settings.node_timeout, policy=policy)
            except PeerError as exc:
                out[peer.id] = UNMOUNTED if exc.unmounted else None

        await asyncio.gather(*(fetch(peer, parts) for peer, parts in wanted.values()))
        return out

    async def _push(self, job: Job, stats: PassStats, remote: dict[int, dict[int, dict[str, str]] | None]) -> None:
        if job.failed or job.hashes is None:
            return
        pusher = Pusher(self.node.diskfiles, job.dev.device, self.settings.node_timeout, self.limiter, job.policy)
        results = []
        for peer in job.peers:
            known = remote.get(peer.id)
            if known is UNMOUNTED and not job.handoff:
                results.append(await self._push_to_stand_in(job, pusher, remote))
            elif known is None or known is UNMOUNTED:
                results.append(PushResult(ok=False, error=f"{peer.ip}:{peer.port}/{peer.device} unreachable"))
            elif not job.hashes and not known.get(job.part):
                results.append(PushResult(ok=True))
            else:
                results.append(await pusher.push(job.part, job.hashes, peer, known.get(job.part, {})))
        for r in results:
            stats.suffixes_differing += r.suffixes_differing
            stats.files_sent += r.files_sent
            stats.bytes_sent += r.bytes_sent
            if not r.ok:
                stats.failures += 1
                stats.errors.append(r.error)
        if job.handoff and all(r.ok for r in results):
            part_path = partition_path(device_path(self.node.devices_root, job.dev.device), job.part, job.policy)
            await self._run(_remove_pushed, part_path, job.listing)
            stats.handoffs_removed += 1

    async def _push_to_stand_in(self, job: Job, pusher: Pusher,
                                remote: dict[int, dict[int, dict[str, str]] | None]) -> PushResult:
        """Push the partition to the first handoff device that is mounted, in place of an unmounted primary.

        Every primary pushes to the same first handoff (the ring's order is deterministic), which later
        reverts the partition to the primary once its device is back.
        """
        ring = self.view.ring(object_ring_name(job.policy))
        tried = 0
        for dev in ring.handoffs(job.part) if ring is not None else ():
            if dev.id == job.dev.id or remote.get(dev.id) is UNMOUNTED:
                continue
            if tried >= len(job.primaries):
                break
            tried += 1
            try:
                known = (await bulk_hashes(dev, [job.part], self.settings.node_timeout,
                                           policy=job.policy)).get(job.part, {})
            except PeerError as exc:
                if exc.unmounted:
                    remote[dev.id] = UNMOUNTED
                continue
            return await pusher.push(job.part, job.hashes or {}, dev, known)
        return PushResult(ok=False, error=f"partition {job.part}: no mounted handoff for an unmounted primary")

    def _account(self, stats: PassStats) -> None:
        self.last = stats
        self.passes += 1
        for name in ("partitions", "handoffs_removed", "suffixes_differing", "files_sent", "bytes_sent", "failures"):
            setattr(self.totals, name, getattr(self.totals, name) + getattr(stats, name))


def _record_failure(job: Job, stats: PassStats, exc: Exception) -> None:
    """A partition's step failed: logged with its traceback, the job marked, the pass's counters told."""
    log.error("replicating partition %s on %s", job.part, job.dev.device, exc_info=exc)
    job.failed = True
    stats.failures += 1
    stats.errors.append(repr(exc))


def _full_listing(part_path: str) -> Listing:
    return suffixes_states(part_path, list_suffixes(part_path))


def _remove_pushed(part_path: str, listing: Listing) -> None:
    """Remove exactly the listed files and rows (every primary holds them or newer), then empty dirs."""
    found = inline_objects.existing_for_partition(part_path)
    row_keys: list[bytes] = []
    for suffix, states in listing.items():
        sdir = os.path.join(part_path, suffix)
        for h, state in states.items():
            hdir = os.path.join(sdir, h)
            for name in [*offered_files(state), *state.obsolete]:
                remove_file(os.path.join(hdir, name))
                if found is not None:
                    row_keys.append(inline_objects.row_key(found[1], found[2], h, name))
            _rmdir(hdir)
        _rmdir(sdir)
    if found is not None and row_keys:
        found[0].write((key, None) for key in row_keys)
    try:
        left = set(os.listdir(part_path))
    except FileNotFoundError:
        return
    if left <= {HASHES_FILE, HASHES_INVALID}:
        for name in left:
            remove_file(os.path.join(part_path, name))
        if _rmdir(part_path):
            forget(part_path)
            if found is not None:  # the next hashing of this partition rehashes it whole: its marks say nothing
                found[0].take_marks(found[1], found[2])


def _rmdir(path: str) -> bool:
    try:
        os.rmdir(path)
        return True
    except OSError:
        return False
