"""Refuse storage requests built for a partition space this node's rings do not know.

Every object, container and account request names a partition. Built from a ring with the same partition
power as the node's, it is the path's partition whatever the two rings' versions: device assignments
may differ (the node keeps a copy it is no primary for like a handoff; replication moves it), which is
safe, so such requests are served. A partition that is *not* the path's partition under any power the
node knows was built by a sender whose ring has another partition power, or another hash path suffix (a
misconfigured host): filed under it, the data would sit where no reader and no replicator looks for it.
Those requests get 503 (the sender tries another node; nothing is written) and the node checks its peers
for newer rings at once.

Powers the node knows: its ring's ``part_power``; during a partition power increase also
``next_part_power`` (prepared: relinking), and after the increase step, until it is finished, the old
power (senders still on the previous ring). A node without the ring in question serves everything.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from pathlib import Path

from ring import Ring
from ring.errors import RingError
from ring.hashing import hash_path, partition_of
from stackstore.storage_policies import object_ring_name
from store.reqparse import StoragePath

log = logging.getLogger("store.ring_guard")
POLICY_INDEX_HEADER = "x-backend-storage-policy-index"
RECHECK_SECONDS = 1.0  # how often a ring file is checked for a new version (in the executor)
LOG_EVERY_SECONDS = 10.0


def known_partitions(ring: Ring, digest: bytes) -> set[int]:
    """The partitions of a path digest under every partition power ``ring`` knows (see module doc)."""
    power, following = ring.part_power, ring.next_part_power
    powers = {power}
    if following is not None:
        powers.add(following)
        if following == power:  # increased, not yet finished: requests from the previous ring
            powers.add(power - 1)
    return {partition_of(digest, p) for p in powers if p > 0}


class RingGuard:
    """The check of one node: ``await guard.problem(sp, headers)`` is None or why to refuse."""

    def __init__(self, ring_dir: str | Path, hash_suffix: str, executor: Executor,
                 on_mismatch: Callable[[], None] | None = None):
        self.ring_dir = Path(ring_dir)
        self.hash_suffix = hash_suffix
        self.executor = executor
        self.on_mismatch = on_mismatch
        self._rings: dict[str, Ring | None] = {}
        self._next_check: dict[str, float] = {}
        self._logged_at = 0.0

    def _load(self, name: str) -> Ring | None:
        """Open (or reload when changed) ring ``name``; runs in the executor."""
        ring = self._rings.get(name)
        if ring is not None:
            ring.reload(force=False)  # keeps the loaded ring if the file is unreadable
            return ring
        path = self.ring_dir / f"{name}.ring"
        if not os.path.exists(path):
            return None
        try:
            return Ring(path, self.hash_suffix, reload_interval=float("inf"))  # reloaded by _load only
        except (RingError, OSError):
            return None

    async def _ring(self, name: str) -> Ring | None:
        now = time.monotonic()
        if now >= self._next_check.get(name, 0.0):
            self._next_check[name] = now + RECHECK_SECONDS  # before the await: one reload at a time
            self._rings[name] = await asyncio.get_running_loop().run_in_executor(self.executor, self._load, name)
        return self._rings.get(name)

    async def problem(self, sp: StoragePath, headers: Mapping[str, str]) -> str | None:
        """None when the request's partition is one this node knows for its path, else the reason."""
        if sp.kind == "obj":
            raw = (headers.get(POLICY_INDEX_HEADER) or "0").strip()
            if not raw.isdigit() or len(raw) > 4:
                return None  # the handler answers 400 for a policy index it does not know
            name = object_ring_name(int(raw))
            digest = hash_path(self.hash_suffix, sp.account, sp.container, sp.obj)
        elif sp.kind == "cont":
            name, digest = "container", hash_path(self.hash_suffix, sp.account, sp.container)
        else:
            name, digest = "account", hash_path(self.hash_suffix, sp.account)
        # the ring as last loaded; a reload (in the executor) only when its check is due
        ring = self._rings.get(name) if time.monotonic() < self._next_check.get(name, 0.0) else await self._ring(name)
        if ring is None or partition_of(digest, ring.part_power) == sp.partition \
                or sp.partition in known_partitions(ring, digest):
            return None
        if self.on_mismatch is not None:
            self.on_mismatch()
        now = time.monotonic()
        if now - self._logged_at >= LOG_EVERY_SECONDS:
            self._logged_at = now
            log.warning("refusing %s request for partition %d: not this path's partition under the %s ring "
                        "(part power %d, version %d); the sender's ring has another partition power or hash "
                        "path suffix", sp.kind, sp.partition, name, ring.part_power, ring.version)
        return (f"partition {sp.partition} is not this path's partition in {name} ring version {ring.version}: "
                "the sender's ring has another partition power or hash path suffix")
