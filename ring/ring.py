"""Ring: fast partition and node lookups from a ring file, reloaded when the file changes."""

from __future__ import annotations

import os
import struct
import threading
import time
from collections.abc import Iterator

import xxhash

from ring.device import Device
from ring.hashing import hash_path, partition_of
from ring.ringfile import RingData, read_ring_file

_HANDOFF_CACHE_SIZE = 4096


class _Table:
    """Lookup tables precomputed from one loaded ring file."""

    def __init__(self, data: RingData, stat_key: tuple[int, int, int]):
        self.data = data
        self.stat_key = stat_key
        self.devices = sorted(data.devices, key=lambda d: d.id)
        by_id = {d.id: d for d in self.devices}
        self.part_nodes: list[tuple[Device, ...]] = [
            tuple(by_id[i] for i in ids) for ids in zip(*data.assignment, strict=True)
        ]
        self.handoff_cache: dict[int, tuple[Device, ...]] = {}

    def handoffs(self, part: int) -> tuple[Device, ...]:
        found = self.handoff_cache.get(part)
        if found is None:
            if len(self.handoff_cache) >= _HANDOFF_CACHE_SIZE:
                self.handoff_cache.clear()
            found = handoff_order(part, self.part_nodes[part], self.devices)
            self.handoff_cache[part] = found
        return found


def _mix(part: int, *values: int | str) -> int:
    return xxhash.xxh3_64_intdigest(struct.pack(">I", part) + repr(values).encode())


def handoff_order(part: int, primaries: tuple[Device, ...], devices: list[Device]) -> tuple[Device, ...]:
    """Every non-primary device once: zones without a primary first (round-robin over zones, regions
    without a primary before the rest), then the other zones; order pseudo-random per partition."""
    used_ids = {d.id for d in primaries}
    used_zones = {(d.region, d.zone) for d in primaries}
    used_regions = {d.region for d in primaries}
    zones: dict[tuple[int, int], list[Device]] = {}
    for d in devices:
        if d.id not in used_ids:
            zones.setdefault((d.region, d.zone), []).append(d)
    # per zone: (its region already holds a primary, tie-break, its devices)
    fresh: list[tuple[bool, int, list[Device]]] = []
    seen: list[tuple[bool, int, list[Device]]] = []
    for key, devs in zones.items():
        devs.sort(key=lambda d: _mix(part, d.id))
        group = seen if key in used_zones else fresh
        group.append((key[0] in used_regions, _mix(part, "z", *key), devs))
    out: list[Device] = []
    for group in (fresh, seen):
        group.sort(key=lambda g: (g[0], g[1]))
        lists = [g[2] for g in group]
        depth = max((len(x) for x in lists), default=0)
        for i in range(depth):
            out.extend(x[i] for x in lists if i < len(x))
    return tuple(out)


class Ring:
    """A loaded ring file. Lookups check (at most every ``reload_interval`` s) whether it changed."""

    def __init__(self, path: str | os.PathLike, hash_path_suffix: str, reload_interval: float = 5.0):
        self.path = os.fspath(path)
        self.hash_path_suffix = hash_path_suffix
        self.reload_interval = reload_interval
        self._lock = threading.Lock()
        self._table = self._load()
        self._next_check = time.monotonic() + reload_interval

    def _stat_key(self) -> tuple[int, int, int]:
        st = os.stat(self.path)
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def _load(self) -> _Table:
        key = self._stat_key()
        return _Table(read_ring_file(self.path), key)

    def _current(self) -> _Table:
        if time.monotonic() >= self._next_check:
            self.reload(force=False)
        return self._table

    def reload(self, force: bool = True) -> bool:
        """Reload the file if it changed (or always with ``force``); returns whether it was reloaded.

        A file that cannot be read or is corrupt leaves the current ring in place (the error is raised
        only when ``force`` is set).
        """
        with self._lock:
            self._next_check = time.monotonic() + self.reload_interval
            try:
                if not force and self._stat_key() == self._table.stat_key:
                    return False
                self._table = self._load()
            except Exception:
                if force:
                    raise
                return False
            return True

    # ------------------------------------------------------------- attributes
    @property
    def part_power(self) -> int:
        return self._current().data.part_power

    @property
    def replica_count(self) -> int:
        return self._current().data.replica_count

    @property
    def partition_count(self) -> int:
        return self._current().data.partition_count

    @property
    def devices(self) -> list[Device]:
        return list(self._current().devices)

    @property
    def next_part_power(self) -> int | None:
        """The part power being moved to (set between prepare and finish of an increase), else None."""
        return self._current().data.next_part_power

    @property
    def version(self) -> int:
        return self._current().data.version

    # ----------------------------------------------------------------- lookups
    def partition(self, account: str, container: str | None = None, obj: str | None = None) -> int:
        """The partition of an account, container or object path."""
        part_power = self._current().data.part_power
        return partition_of(hash_path(self.hash_path_suffix, account, container, obj), part_power)

    def primaries(self, part: int) -> list[Device]:
        """The devices holding the partition's replicas (distinct, one per replica)."""
        nodes = self._current().part_nodes
        if not 0 <= part < len(nodes):
            raise IndexError(f"partition {part} out of range")
        return list(nodes[part])

    def handoffs(self, part: int) -> Iterator[Device]:
        """Every other device exactly once, in a deterministic, zone-diverse, per-partition order."""
        table = self._current()
        if not 0 <= part < len(table.part_nodes):
            raise IndexError(f"partition {part} out of range")
        return iter(table.handoffs(part))

    def get_nodes(self, account: str, container: str | None = None,
                  obj: str | None = None) -> tuple[int, list[Device]]:
        """``(partition, primaries)`` for a path."""
        table = self._current()
        part = partition_of(hash_path(self.hash_path_suffix, account, container, obj), table.data.part_power)
        return part, list(table.part_nodes[part])
