"""The rings as a storage node reads them for its own disk layout: which part power its objects and
listings are moving to while a partition power increase is in progress (``next_part_power``).

Rings are loaded lazily from ``conf.ring_dir`` and reload themselves when the file changes (checked at
most once a second), so a node follows ``prepare-increase-partition-power`` / ``increase-partition-power``
/ ``finish-increase-partition-power`` without a restart. A missing ring file is looked for again at most
once a second.
"""

from __future__ import annotations

import os
import threading
import time

from ring import Ring, RingError
from ring.hashing import partition_of
from stackstore.storage_policies import object_ring_name

RELOAD_INTERVAL = 1.0


class NodeRings:
    """Lazily loaded rings by name (``object``, ``object-<N>``, ``container``, ``account``)."""

    def __init__(self, ring_dir: str | os.PathLike, hash_suffix: str):
        self.ring_dir = os.fspath(ring_dir)
        self.hash_suffix = hash_suffix
        self._rings: dict[str, Ring] = {}
        self._missing: dict[str, float] = {}  # name -> when to look for the file again
        self._lock = threading.Lock()

    def ring(self, name: str) -> Ring | None:
        """The ring ``name``, or None while its file does not exist (blocking: may read the file)."""
        ring = self._rings.get(name)
        if ring is not None:
            return ring
        now = time.monotonic()
        if self._missing.get(name, 0.0) > now:
            return None
        with self._lock:
            ring = self._rings.get(name)
            if ring is None:
                path = os.path.join(self.ring_dir, f"{name}.ring")
                try:
                    ring = self._rings[name] = Ring(path, self.hash_suffix, reload_interval=RELOAD_INTERVAL)
                except (RingError, ValueError, OSError):
                    self._missing[name] = now + RELOAD_INTERVAL
                    return None
        return ring

    def next_part_power(self, policy: int) -> int | None:
        """The part power the objects of storage policy ``policy`` are moving to, else None."""
        ring = self.ring(object_ring_name(policy))
        return ring.next_part_power if ring is not None else None

    def current_partition(self, policy: int, partition: int, hash_hex: str) -> int:
        """Where an object request for ``partition`` is served: the object's partition under the new power
        when the request names its old-power partition after ``increase-partition-power`` (a proxy that
        has not reloaded the ring yet; the old location may already be cleaned up), else ``partition``."""
        ring = self.ring(object_ring_name(policy))
        if ring is None:
            return partition
        power = ring.part_power
        if ring.next_part_power != power:
            return partition
        digest = bytes.fromhex(hash_hex)
        old, new = partition_of(digest, power - 1), partition_of(digest, power)
        return new if partition == old != new else partition
