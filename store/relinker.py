"""A partition power increase on the storage node's disks: relink, then clean up (what Swift's
``swift-object-relinker`` does, run here by the node itself as a background task).

A path's partition is the top ``part_power`` bits of its hash, so with one more bit partition ``p``
becomes ``2p`` or ``2p+1`` on the same devices (``ring.builder.increase_partition_power``). Objects
live in ``objects[-N]/<partition>/<suffix>/<hash>/``, so every hash dir needs a second location:

1. **relink** (the object ring has ``next_part_power = part_power + 1``): every hash dir that sits at its
   current-power location is hard-linked, file by file, into its location under the next power; no data
   is copied. Meanwhile every new write is linked there too (``store.diskfile.DiskFile.next_dir``, asked
   after each rename), so once a device's pass is done nothing is missing at the new locations.
2. **cleanup** (the ring's ``part_power`` went up): every hash dir not at its location under the current
   power is linked there (if a file is still missing) and removed; the cached suffix hashes of the
   partitions it left are dropped, so replication rehashes them. Delete-at index entries carry the
   object's partition and are rewritten to the new one.

Listings (container and account LMDBs) are not kept in partition directories: a device's
``containers.lmdb`` holds its records by name, so nothing needs relinking; only the partition index
replication walks (``parts``: partition + record key) and each container record's account partition
(``acct_part``, where its stats are reported) depend on the power, and are rewritten when the
container or account ring's power changed. Object and listing replication of a ring is paused while
it has ``next_part_power`` (as Swift's replicator skips such a policy): the new locations must not be
pushed to peers (or removed as handoffs) under the old power.

State per device, ``<device>/.recon/relinker.json``: for each ring, the ``power`` its layout matches
and ``relinked_to`` (the next power it has been relinked for), plus counters; while a relink or cleanup
runs, ``progress`` (step, ring, hash dirs so far, rewritten every few seconds; ``stackstore status``
shows it). ``stackstore relink`` waits for every node to report it (docs/ring.md).

Pace: ``[relinker] files_per_second`` (as Swift's relinker: object locations, i.e. hash dirs, looked at
per second; 0 unlimited) keeps a relink or cleanup from taking the disks from client traffic.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from ring import Ring
from ring.hashing import partition_of
from stackstore.storage_policies import object_ring_name
from store import layout
from store.audit.ratelimit import BlockingRateLimiter
from store.diskfile import invalidate_suffix, link_as, relink_rows, remove_obsolete, remove_rows, scan_hash_dir
from store.expiring import Entry, ExpiringIndex
from store.fsutil import ensure_dir, remove_file, syncfs
from store.io_threads import run_blocking
from store.listings import AccountStore, ContainerStore
from store.node import Node
from store.recon import read_stats, write_stats

T = TypeVar("T")
log = logging.getLogger("store.relinker")
STATS_NAME = "relinker"
FILE_EXTS = (".data", ".meta", ".ts")
LISTING_BATCH = 1000
PROGRESS_EVERY = 2.0  # seconds between progress reports of a running pass


@dataclass
class RelinkStats:
    """What one relink or cleanup pass of one device did."""

    hash_dirs: int = 0  # hash dirs looked at
    linked: int = 0  # files hard-linked into a new location
    removed: int = 0  # hash dirs removed from an old location
    reindexed: int = 0  # delete-at entries and listing records whose partition was rewritten
    errors: int = 0


@dataclass
class PassControl:
    """How a relink or cleanup pass paces itself (``limiter``: one unit per hash dir) and reports its
    progress (``report``, called with the counters so far at most every ``report_every`` seconds)."""

    limiter: BlockingRateLimiter | None = None
    report: Callable[[RelinkStats], None] | None = None
    report_every: float = PROGRESS_EVERY
    _next_report: float = field(default=0.0, repr=False)

    def tick(self, stats: RelinkStats) -> None:
        """One more hash dir looked at: wait for the rate limit, report when due (blocking)."""
        if self.limiter is not None:
            self.limiter.consume(1)
        if self.report is not None and (now := time.monotonic()) >= self._next_report:
            self._next_report = now + self.report_every
            self.report(stats)


NO_CONTROL = PassControl()


def partition_for(hash_hex: str, power: int) -> int:
    """The partition of an object hash under ``power``."""
    return partition_of(bytes.fromhex(hash_hex), power)


def relink_hash_dir(src: str, dst: str, device_path: str) -> int:
    """Hard-link every object file of ``src`` into ``dst`` (created as needed) and copy its rows there
    (``store.inline_objects``); how many were new. Files that vanish meanwhile are skipped; superseded files
    and rows in ``dst`` are removed (blocking)."""
    try:
        names = [n for n in os.listdir(src) if n.endswith(FILE_EXTS)]
    except (FileNotFoundError, NotADirectoryError):
        names = []
    obsolete = set(scan_hash_dir(names).obsolete)  # superseded here already: not carried over
    names = [n for n in names if n not in obsolete]
    linked = relink_rows(src, dst)
    if names:
        ensure_dir(dst, device_path)
    for name in names:
        try:
            linked += link_as(os.path.join(src, name), os.path.join(dst, name), device_path)
        except FileNotFoundError:  # cleaned up by a newer write meanwhile
            pass
    if linked:
        remove_obsolete(dst)
        invalidate_suffix(dst)
    return linked


def _sync_device(device_path: str) -> None:
    fd = os.open(device_path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        syncfs(fd)
    finally:
        os.close(fd)


def _hash_dirs(device_path: str, policy: int) -> Iterator[tuple[int, str]]:
    yield from layout.walk_hash_dirs(device_path, policy=policy)


def relink_device(device_path: str, policy: int, power: int, next_power: int,
                  control: PassControl = NO_CONTROL) -> RelinkStats:
    """Link every hash dir at its ``power`` location into its ``next_power`` location (blocking)."""
    stats = RelinkStats()
    for part, hash_hex in _hash_dirs(device_path, policy):
        control.tick(stats)
        stats.hash_dirs += 1
        if partition_for(hash_hex, power) != part:
            continue  # already a next-power location (or a stray dir the cleanup will place)
        target = partition_for(hash_hex, next_power)
        if target == part:
            continue
        try:
            stats.linked += relink_hash_dir(layout.hash_dir_path(device_path, part, hash_hex, policy),
                                            layout.hash_dir_path(device_path, target, hash_hex, policy),
                                            device_path)
        except OSError:
            log.exception("relinking %s/%s on %s", part, hash_hex, device_path)
            stats.errors += 1
    _sync_device(device_path)
    return stats


def _remove_hash_dir(path: str) -> None:
    remove_rows(path)
    try:
        names = os.listdir(path)
    except FileNotFoundError:
        return
    for name in names:
        try:
            os.unlink(os.path.join(path, name))
        except FileNotFoundError:
            pass
    for directory in (path, os.path.dirname(path)):  # the hash dir, then its suffix dir if now empty
        try:
            os.rmdir(directory)
        except OSError:
            return


def _forget_hashes(part_path: str) -> None:
    """Drop a partition's cached suffix hashes (rehashed in full next time); remove it when empty."""
    remove_file(layout.hashes_file_path(part_path))
    if not layout.list_suffixes(part_path):
        remove_file(layout.hashes_invalid_path(part_path))
        try:
            os.rmdir(part_path)
        except OSError:
            pass


def cleanup_device(device_path: str, policy: int, power: int, control: PassControl = NO_CONTROL) -> RelinkStats:
    """Move every hash dir not at its ``power`` location there (link, then remove the old one)."""
    stats = RelinkStats()
    _sync_device(device_path)  # links made by the writes of the last moments are durable first
    left: set[int] = set()
    for part, hash_hex in _hash_dirs(device_path, policy):  # dirs created meanwhile are already in place
        control.tick(stats)
        stats.hash_dirs += 1
        target = partition_for(hash_hex, power)
        if target == part:
            continue
        src = layout.hash_dir_path(device_path, part, hash_hex, policy)
        try:
            stats.linked += relink_hash_dir(src, layout.hash_dir_path(device_path, target, hash_hex, policy),
                                            device_path)
        except OSError:
            log.exception("cleaning up %s/%s on %s", part, hash_hex, device_path)
            stats.errors += 1
            continue
        left.add(part)
    if left:
        _sync_device(device_path)  # every object is durable at its new location before the old goes
    for part, hash_hex in _hash_dirs(device_path, policy):
        if part in left and partition_for(hash_hex, power) != part:
            _remove_hash_dir(layout.hash_dir_path(device_path, part, hash_hex, policy))
            stats.removed += 1
    for part in left:
        _forget_hashes(layout.partition_path(device_path, part, policy))
    return stats


def reindex_expiring(index: ExpiringIndex, powers: dict[int, int]) -> int:
    """Rewrite delete-at entries whose partition is not their object's under its policy's power
    (in batches: nothing is held whole)."""
    fixed_total = 0
    start: bytes | None = None
    while True:
        fixed: list[Entry] = []
        with index.env.begin() as txn:
            cur = txn.cursor()
            ok = cur.set_range(start) if start is not None else cur.first()
            if ok and start is not None and cur.key() == start:
                ok = cur.next()
            seen = 0
            while ok and seen < LISTING_BATCH:
                seen += 1
                start = cur.key()
                try:
                    entry = Entry.decode(cur.key(), cur.value())
                except (ValueError, KeyError, TypeError, struct.error):
                    ok = cur.next()
                    continue
                power = powers.get(entry.policy)
                if power is not None and (part := partition_for(entry.hash_hex, power)) != entry.partition:
                    fixed.append(Entry(entry.delete_at, entry.hash_hex, entry.name, part, entry.timestamp,
                                       entry.policy))
                ok = cur.next()
        if fixed:
            index.add(fixed)
            fixed_total += len(fixed)
        if not ok:
            return fixed_total


ListingStore = ContainerStore | AccountStore


def _reindexed(store: ListingStore, rec: dict[str, Any], ring: Ring, account_ring: Ring | None) -> bool:
    """Set the record's ``partition`` (and a container's ``acct_part``) for the rings' powers; whether
    anything changed. Records without the names this code writes are left alone."""
    account, container = rec.get("account"), rec.get("container")
    if not isinstance(account, str):
        return False
    if isinstance(store, ContainerStore):
        if not isinstance(container, str):
            return False
        part = ring.partition(account, container)
    else:
        part = ring.partition(account)
    changed = False
    if rec.get("partition") != part:
        rec["partition"] = part
        changed = True
    if account_ring is not None and rec.get("acct_part") is not None:
        acct_part = str(account_ring.partition(account))
        if rec["acct_part"] != acct_part:
            rec["acct_part"] = acct_part
            changed = True
    return changed


def reindex_listings(store: ListingStore, ring: Ring, account_ring: Ring | None) -> int:
    """Give every record of a listing store its partition under ``ring``'s power (the ``parts`` index
    replication walks) and, for containers, its account's partition under ``account_ring``; in
    batches, one write transaction each (blocking)."""
    changed = 0
    start: bytes | None = None
    while True:
        with store.env.begin(write=True) as txn:
            cur = txn.cursor(store.info_db)
            ok = cur.set_range(start) if start is not None else cur.first()
            if ok and start is not None and cur.key() == start:
                ok = cur.next()
            updates: list[tuple[bytes, dict[str, Any], Any]] = []
            seen = 0
            while ok and seen < LISTING_BATCH:
                key, raw = cur.key(), cur.value()
                seen += 1
                start = key
                ok = cur.next()
                try:
                    rec = json.loads(raw)
                except ValueError:
                    continue
                old_part = rec.get("partition")
                if _reindexed(store, rec, ring, account_ring):
                    updates.append((key, rec, old_part))
            cur.close()
            for key, rec, old_part in updates:  # applied after the scan, not under a moving cursor
                if rec["partition"] != old_part:
                    if isinstance(old_part, int):
                        txn.delete(struct.pack(">I", old_part) + key, db=store.parts_db)
                    txn.put(struct.pack(">I", rec["partition"]) + key, b"", db=store.parts_db)
                txn.put(key, json.dumps(rec, separators=(",", ":")).encode("utf-8"), db=store.info_db)
            if updates:
                store._env.dirty = True
                changed += len(updates)
        if not ok:
            return changed


class Relinker:
    """The node's relinker task: follows the rings' partition power state (``run_pass``)."""

    def __init__(self, node: Node):
        self.node = node
        rate = float((node.conf.get("relinker") or {}).get("files_per_second", 0.0))
        self.limiter = BlockingRateLimiter(rate) if rate > 0 else None

    def _control(self, path: str, name: str, step: str, rings: dict[str, Any]) -> PassControl:
        """Pace and progress reports of one step: ``progress`` in the device's relinker stats."""
        started = time.time()

        def report(stats: RelinkStats) -> None:  # in the I/O thread running the step
            progress = {"step": step, "ring": name, "started": started, **asdict(stats)}
            try:
                write_stats(path, STATS_NAME, {"rings": dict(rings), "updated": time.time(), "progress": progress})
            except OSError:  # the device vanished
                pass

        return PassControl(self.limiter, report)

    async def _io(self, fn: Callable[..., T], *args: Any) -> T:
        return await run_blocking(self.node.executor, fn, *args)

    async def run_pass(self) -> dict[str, Any]:
        devices = await self._io(layout.list_devices, self.node.devices_root)
        return {device: await self.run_device(device) for device in devices}

    async def run_device(self, device: str) -> dict[str, Any]:
        path = layout.device_path(self.node.devices_root, device)
        state: dict[str, Any] | None = await self._io(read_stats, path, STATS_NAME)
        state = state or {}
        rings: dict[str, Any] = dict(state.get("rings") or {})
        before = json.dumps(rings, sort_keys=True)
        powers: dict[int, int] = {}
        cleaned_objects = False
        # policies with an objects directory or rows (a device that only ever held small objects has no directory)
        stored = await self._io(layout.list_object_policies, path)
        for policy in self.node.policies:
            name = object_ring_name(policy.index)
            ring = await self._io(self.node.rings.ring, name)
            if ring is None:
                continue
            powers[policy.index] = ring.part_power
            if policy.index in stored:
                cleaned_objects |= await self._objects(path, name, policy.index, ring, rings)
            else:  # nothing stored: the layout matches whatever the ring says
                prepared = ring.next_part_power if ring.next_part_power == ring.part_power + 1 else None
                rings[name] = dict(rings.get(name) or {}, power=ring.part_power, relinked_to=prepared)
        if cleaned_objects and await self._io(os.path.isdir, layout.expiring_index_path(path)):
            index = await self._io(self.node.expiring, device)
            fixed = await self._io(reindex_expiring, index, powers)
            log.info("relinker: %d delete-at entries of %s moved to their new partitions", fixed, device)
        await self._listings(device, path, rings)
        if json.dumps(rings, sort_keys=True) != before:
            try:
                await self._io(write_stats, path, STATS_NAME, {"rings": rings, "updated": time.time()})
            except OSError:  # the device vanished
                pass
        return rings

    async def _objects(self, path: str, name: str, policy: int, ring: Ring, rings: dict[str, Any]) -> bool:
        """Relink or clean up one policy's objects on a device; True when a cleanup ran."""
        power, next_power = ring.part_power, ring.next_part_power
        entry = dict(rings.get(name) or {})
        if "power" not in entry:  # first look: the layout matches the ring, or the power just went up
            entry["power"] = power - 1 if next_power is not None and next_power == power else power
        cleaned = False
        if entry["power"] != power:
            stats = await self._io(cleanup_device, path, policy, power, self._control(path, name, "cleanup", rings))
            log.info("relinker: cleaned up %s of %s for part power %d: %s", name, path, power, asdict(stats))
            entry.update(power=power, relinked_to=None, last_cleanup=asdict(stats))
            cleaned = True
        if next_power is not None and next_power == power + 1 and entry.get("relinked_to") != next_power:
            stats = await self._io(relink_device, path, policy, power, next_power,
                                   self._control(path, name, "relink", rings))
            log.info("relinker: relinked %s of %s for part power %d: %s", name, path, next_power, asdict(stats))
            entry.update(relinked_to=next_power, last_relink=asdict(stats))
        if next_power is None and entry.get("relinked_to") is not None:  # a cancelled increase
            stats = await self._io(cleanup_device, path, policy, power, self._control(path, name, "cleanup", rings))
            entry.update(relinked_to=None, last_cleanup=asdict(stats))
            cleaned = True
        rings[name] = entry
        return cleaned

    async def _listings(self, device: str, path: str, rings: dict[str, Any]) -> None:
        """Reindex the listing stores whose ring's power is not the one they were indexed for."""
        account_ring = await self._io(self.node.rings.ring, "account")
        for name, db_path, opener in (("container", layout.containers_db_path(path), self.node.containers),
                                      ("account", layout.accounts_db_path(path), self.node.accounts)):
            ring = await self._io(self.node.rings.ring, name)
            if ring is None:
                continue
            entry = dict(rings.get(name) or {})
            account_power = account_ring.part_power if account_ring is not None else None
            if not await self._io(os.path.isdir, db_path):  # no records to index
                entry.update(power=ring.part_power, account_power=account_power)
            elif entry.get("power") != ring.part_power or entry.get("account_power") != account_power:
                store = await self._io(opener, device)
                changed = await self._io(reindex_listings, store, ring,
                                         account_ring if name == "container" else None)
                if changed:
                    log.info("relinker: %d %s records of %s reindexed for part power %d", changed, name, device,
                             ring.part_power)
                entry.update(power=ring.part_power, account_power=account_power, reindexed=changed)
            rings[name] = entry
