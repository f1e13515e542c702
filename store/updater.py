"""Replays async-pending container updates until the container nodes take them.

Records (``<device>/async_pending/<suffix>/<hash>-<timestamp>-<target>``, see ``store.layout``;
written by ``store.updates`` when a row update failed at write time) name one container replica (host,
device) and the container's partition as the ring had them then. Like Swift's object-updater, each
pass looks the container up in the current container ring: a record queued before a partition power
increase goes to the container's partition under the new power (the old one is refused once the
increase is finished), and one whose device is no longer a primary of the container (a rebalance
moved it, the device was removed) goes to every current primary instead, its file removed once all
of them took it. Records are grouped by target container (host + container path) and each group is
sent oldest first, one at a time; when a container's node fails,
the rest of that group waits for the next pass. Groups run concurrently (``[store]
updater_concurrency``) under a global rate (``updater_max_per_second``). Delivered records are
removed; counters go to ``<device>/.recon/updater.json`` for recon. Disk work (listing, reading,
removing records, stats) runs in the I/O threads.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, unquote

from objclient.http import HttpError
from objclient.loop_pool import loop_pool
from store import fsutil, layout
from store.audit.ratelimit import RateLimiter
from store.io_threads import run_blocking
from store.recon import async_pending_count, read_stats, write_stats
from store.updates import is_success

log = logging.getLogger("store.updater")
T = TypeVar("T")
# (account, container) -> the container's partition and primaries (ip, port, device) under the current
# ring; None without a ring
Locate = Callable[[str, str], tuple[int, list[tuple[str, int, str]]] | None]


class Outstanding:
    """How many of the copies of one record (sent to several primaries) have not succeeded yet."""

    def __init__(self, count: int):
        self.left = count


@dataclass
class Pending:
    """One async-pending record on disk."""

    path: str
    method: str
    host: str
    port: int
    req_path: str
    headers: dict[str, str]
    account: str | None = None  # the names the update is for (records written before they were kept: None)
    container: str | None = None
    outstanding: Outstanding | None = None  # a copy of a record re-aimed at several primaries

    @property
    def group(self) -> tuple[str, int, str]:
        """Target container: the row path without the object name (``/cont/dev/part/a/c``)."""
        return self.host, self.port, "/".join(self.req_path.split("/", 6)[:6])

    @property
    def timestamp(self) -> str:
        return str(self.headers.get("X-Timestamp", ""))


def load_record(path: str) -> Pending:
    """Parse a record; FileNotFoundError if it is gone, ValueError/KeyError/... if it is garbage."""
    with open(path, "rb") as fh:
        record = json.load(fh)
    host, _, port = record["host"].rpartition(":")
    headers = record["headers"]
    if not isinstance(headers, dict):
        raise TypeError("headers is not an object")
    account, container = record.get("account"), record.get("container")
    return Pending(path, record["method"], host.strip("[]"), int(port), record["path"], headers,
                   account if isinstance(account, str) else None,
                   container if isinstance(container, str) else None)


def current_targets(rec: Pending, locate: Locate | None) -> list[Pending]:
    """Where ``rec`` goes under the current container ring: itself with the container's current partition
    while its device is a primary of the container, else one copy per current primary (sharing an
    ``Outstanding``); unchanged without names or a ring (blocking: the ring may reload its file)."""
    if locate is None or rec.account is None or rec.container is None:
        return [rec]
    found = locate(rec.account, rec.container)
    pieces = rec.req_path.split("/", 4)  # "", "cont", device, partition, account/container/object
    if found is None or len(pieces) != 5:
        return [rec]
    part, primaries = found
    if not primaries or (rec.host, rec.port, unquote(pieces[2])) in primaries:
        pieces[3] = str(part)
        rec.req_path = "/".join(pieces)
        return [rec]
    shared = Outstanding(len(primaries))
    return [Pending(rec.path, rec.method, ip, port, f"/cont/{quote(device, safe='')}/{part}/{pieces[4]}",
                    rec.headers, rec.account, rec.container, shared)
            for ip, port, device in primaries]


def remove_empty_dirs(dirs: Iterable[str]) -> None:
    """rmdir each directory that is empty now (the others stay)."""
    for path in dirs:
        try:
            os.rmdir(path)
        except OSError:
            pass


class UpdaterPass:
    """One pass over one device's records."""

    def __init__(self, timeout: float, concurrency: int, limiter: RateLimiter, executor: Executor | None = None,
                 locate: Locate | None = None):
        self.timeout = timeout
        self.concurrency = max(1, concurrency)
        self.limiter = limiter
        self.executor = executor  # None: the loop's default executor
        self.locate = locate  # None: send where the record says
        self.stats = {"success": 0, "failure": 0, "bad": 0}

    async def _io(self, fn: Callable[..., T], *args: Any) -> T:
        return await run_blocking(self.executor, fn, *args)

    def load(self, paths: list[str]) -> list[list[Pending]]:
        """Group the readable records by target container (as the current ring places it), each group
        oldest first (blocking)."""
        groups: dict[tuple[str, int, str], list[Pending]] = {}
        for path in paths:
            try:
                recs = current_targets(load_record(path), self.locate)
            except FileNotFoundError:
                continue
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                self.stats["bad"] += 1
                log.warning("unreadable async pending %s; leaving it", path)
                continue
            for rec in recs:
                groups.setdefault(rec.group, []).append(rec)
        for recs in groups.values():
            recs.sort(key=lambda r: (r.timestamp, r.path))
        return list(groups.values())

    async def send(self, rec: Pending) -> bool:
        await self.limiter.consume(1)
        try:
            reply = await loop_pool().call(rec.host, rec.port, rec.method, rec.req_path, rec.headers,
                                           timeout=self.timeout)
        except HttpError as exc:
            log.info("async pending %s still failing: %s", os.path.basename(rec.path), exc)
            return False
        if not is_success(reply.status):
            log.info("async pending %s answered %s", os.path.basename(rec.path), reply.status)
            return False
        if rec.outstanding is not None:
            rec.outstanding.left -= 1
            if rec.outstanding.left > 0:  # other primaries still to take it (this pass or the next)
                return True
        await self._io(fsutil.remove_file, rec.path)
        return True

    async def send_group(self, recs: list[Pending], sem: asyncio.Semaphore) -> None:
        async with sem:
            for i, rec in enumerate(recs):
                if not await self.send(rec):
                    self.stats["failure"] += len(recs) - i  # the container waits for the next pass
                    return
                self.stats["success"] += 1

    async def run(self, device_path: str) -> dict[str, int]:
        paths = await self._io(layout.list_async_pendings, device_path)
        groups = await self._io(self.load, paths)
        sem = asyncio.Semaphore(self.concurrency)
        await asyncio.gather(*(self.send_group(g, sem) for g in groups))
        await self._io(remove_empty_dirs, {os.path.dirname(p) for p in paths})
        return self.stats


def record_stats(device_path: str, stats: dict[str, int], started: float) -> dict[str, Any]:
    """Persist a device's pass counters (plus running totals) for recon."""
    previous = read_stats(device_path, "updater") or {}
    out: dict[str, Any] = {
        "last_pass": time.time(), "pass_duration": round(time.time() - started, 3),
        "pass_successes": stats["success"], "pass_failures": stats["failure"], "bad": stats["bad"],
        "successes": int(previous.get("successes", 0)) + stats["success"],
        "failures": int(previous.get("failures", 0)) + stats["failure"],
        "async_pending": async_pending_count(device_path),
    }
    write_stats(device_path, "updater", out)
    return out


async def run_updater_pass(devices_root: str | Path, timeout: float = 2.0, concurrency: int = 8,
                           max_per_second: float = 0.0, record: bool = False,
                           executor: Executor | None = None,
                           locate: Locate | None = None) -> dict[str, int]:
    """Retry every async-pending record under ``devices_root``; {"success", "failure", "bad"} counts.

    ``record`` persists per-device counters for recon; disk work runs in ``executor`` (the node's I/O
    threads; None: the loop's default executor). ``locate`` gives a container's partition and primaries
    under the current container ring (called from ``executor``); None sends each record where it was aimed.
    """
    total = {"success": 0, "failure": 0, "bad": 0}
    root = str(devices_root)
    loop = asyncio.get_running_loop()
    limiter = RateLimiter(max_per_second)
    for device in await loop.run_in_executor(executor, layout.list_devices, root):
        device_path = layout.device_path(root, device)
        started = time.time()
        stats = await UpdaterPass(timeout, concurrency, limiter, executor, locate).run(device_path)
        for key in total:
            total[key] += stats[key]
        if record:
            try:
                await loop.run_in_executor(executor, record_stats, device_path, stats, started)
            except OSError as exc:
                log.warning("cannot write updater stats on %s: %s", device, exc)
    return total
