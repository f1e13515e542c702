"""RingBuilder: devices, the partition assignment and its history; saved as JSON, compiled to a ring."""

from __future__ import annotations

import base64
import json
import os
import random
import sys
import time
from array import array
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ring.atomic import atomic_write
from ring.device import Device, matches, parse_search
from ring.errors import RingBuilderError, RingValidationError
from ring.placement import TierState
from ring.rebalance import UNASSIGNED, rebalance_pass
from ring.ringfile import RingData, write_ring_file
from ring.tiers import ReplicaPlan, replica_plan

BUILDER_FORMAT = 1
MAX_PART_POWER = 24
MAX_BALANCE = 999.99  # reported for a device that holds partitions but has no weight


@dataclass(frozen=True)
class RebalanceResult:
    """Outcome of :meth:`RingBuilder.rebalance`."""

    parts_moved: int
    balance_percent: float
    dispersion: float
    devices_removed: int = 0


def _pack(values: array) -> str:
    copy = array(values.typecode, values)
    if sys.byteorder != "little":
        copy.byteswap()
    return base64.b64encode(copy.tobytes()).decode("ascii")


def _unpack(typecode: str, text: str, length: int) -> array:
    out = array(typecode)
    out.frombytes(base64.b64decode(text))
    if sys.byteorder != "little":
        out.byteswap()
    if len(out) != length:
        raise RingBuilderError(f"builder table has {len(out)} entries, expected {length}")
    return out


class RingBuilder:
    """Builds a ring: assigns ``2**part_power`` partitions x ``replicas`` to devices by weight and spread."""

    def __init__(self, part_power: int, replicas: int, min_part_hours: float):
        if not 0 <= int(part_power) <= MAX_PART_POWER:
            raise RingBuilderError(f"part_power must be between 0 and {MAX_PART_POWER}")
        if int(replicas) < 1:
            raise RingBuilderError("replicas must be at least 1")
        if min_part_hours < 0:
            raise RingBuilderError("min_part_hours must not be negative")
        self.part_power = int(part_power)
        self.replicas = int(replicas)
        self.min_part_hours = min_part_hours
        self.devices: dict[int, Device] = {}
        self.removing: set[int] = set()
        self.version = 0
        self.next_id = 0
        self.last_rebalance = 0.0
        self.overload = 0.0
        self.next_part_power: int | None = None
        count = self.partition_count
        self._assign = [array("i", [UNASSIGNED]) * count for _ in range(self.replicas)]
        self._last_moved = array("q", [0]) * count

    @property
    def partition_count(self) -> int:
        return 1 << self.part_power

    # ----------------------------------------------------------------- devices
    def add_device(self, region: int, zone: int, ip: str, port: int, device: str, weight: float,
                   meta: str = "") -> int:
        """Add a device (it gets partitions at the next rebalance); returns its id."""
        if weight < 0:
            raise RingBuilderError("weight must not be negative")
        for other in self.devices.values():
            if other.id not in self.removing and (other.ip, other.port, other.device) == (ip, port, device):
                raise RingBuilderError(f"device {ip}:{port}/{device} already exists as id {other.id}")
        dev_id = self.next_id
        self.next_id += 1
        self.devices[dev_id] = Device(dev_id, int(region), int(zone), ip, int(port), device, float(weight), meta)
        self.version += 1
        return dev_id

    def _get(self, dev_id: int) -> Device:
        if dev_id not in self.devices or dev_id in self.removing:
            raise RingBuilderError(f"no device with id {dev_id}")
        return self.devices[dev_id]

    def remove_device(self, dev_id: int) -> None:
        """Schedule a device for removal; the next rebalance moves its partitions away and drops it."""
        self._get(dev_id)
        self.removing.add(dev_id)
        self.version += 1

    def set_weight(self, dev_id: int, weight: float) -> None:
        """Change a device's weight (takes effect at the next rebalance)."""
        if weight < 0:
            raise RingBuilderError("weight must not be negative")
        self.devices[dev_id] = replace(self._get(dev_id), weight=float(weight))
        self.version += 1

    def search(self, value: str) -> list[Device]:
        """Devices (not pending removal) matching an id or a ``r1z2-ip:port/dev`` style search value."""
        criteria = parse_search(value)
        return [d for i, d in sorted(self.devices.items()) if i not in self.removing and matches(d, criteria)]

    def active_devices(self) -> list[Device]:
        """Devices not pending removal, by id."""
        return [d for i, d in sorted(self.devices.items()) if i not in self.removing]

    def set_overload(self, overload: float) -> None:
        """Let a tier take up to ``overload`` (0.1 = 10%) more than its weight's share for dispersion."""
        if not overload >= 0 or overload == float("inf"):
            raise RingBuilderError("overload must be a finite number >= 0")
        self.overload = float(overload)
        self.version += 1

    def set_replicas(self, replicas: int) -> None:
        """Change the replica count: new replicas are placed, surplus ones dropped, at the next rebalance."""
        self._no_partition_power_increase("change the replica count")
        if int(replicas) < 1:
            raise RingBuilderError("replicas must be at least 1")
        replicas = int(replicas)
        if replicas > self.replicas:
            self._assign.extend(array("i", [UNASSIGNED]) * self.partition_count
                                for _ in range(replicas - self.replicas))
        else:
            del self._assign[replicas:]
        self.replicas = replicas
        self.version += 1

    # ------------------------------------------------------ partition power
    def _no_partition_power_increase(self, action: str) -> None:
        if self.next_part_power is not None:
            raise RingBuilderError(
                f"cannot {action} while a partition power increase is in progress "
                f"(next_part_power {self.next_part_power}); finish it first")

    def prepare_increase_partition_power(self) -> None:
        """Announce ``next_part_power = part_power + 1`` in the ring so nodes start relinking.

        Storage nodes seeing ``next_part_power`` hard-link every object file into the location it will
        have under the next power as well as keeping the current one (``relink``).
        """
        self._no_partition_power_increase("prepare another increase")
        if self.part_power >= MAX_PART_POWER:
            raise RingBuilderError(f"part_power is already {MAX_PART_POWER}, the maximum")
        self.validate()
        self.next_part_power = self.part_power + 1
        self.version += 1

    def increase_partition_power(self) -> None:
        """Double the partitions: old partition ``p`` becomes ``2p`` and ``2p+1`` on the same devices.

        A path's partition is the top ``part_power`` bits of its hash, so one more bit splits ``p`` into
        ``2p`` and ``2p+1``; data relinked in place is already where the new ring expects it.
        """
        if self.next_part_power != self.part_power + 1:
            raise RingBuilderError("run prepare-increase-partition-power (and let nodes relink) first")
        self.validate()
        self._assign = [_split_rows(row) for row in self._assign]
        self._last_moved = _split_rows(self._last_moved)
        self.part_power += 1
        self.version += 1

    def finish_increase_partition_power(self) -> None:
        """Drop ``next_part_power`` once nodes have cleaned up the old locations."""
        if self.next_part_power is None:
            raise RingBuilderError("no partition power increase is in progress")
        if self.next_part_power != self.part_power:
            raise RingBuilderError("run increase-partition-power before finishing the increase")
        self.next_part_power = None
        self.version += 1

    def cancel_increase_partition_power(self) -> None:
        """Abandon a prepared increase that has not been applied yet (nodes remove the extra links)."""
        if self.next_part_power is None or self.next_part_power == self.part_power:
            raise RingBuilderError("no prepared, unapplied partition power increase to cancel")
        self.next_part_power = None
        self.version += 1

    # --------------------------------------------------------------- rebalance
    def replica_plan(self) -> ReplicaPlan:
        """Per-tier replica targets for the current devices, replica count and overload."""
        return replica_plan(self.active_devices(), self.replicas, self.overload)

    def rebalance(self, seed: int | None = None, now: float | None = None) -> RebalanceResult:
        """Reassign partitions (see ``ring.rebalance``); deterministic for a given seed and time."""
        self._no_partition_power_increase("rebalance")
        candidates = [d for d in self.active_devices() if d.weight > 0]
        if len(candidates) < self.replicas:
            raise RingBuilderError(
                f"{self.replicas} replicas need at least {self.replicas} devices with weight > 0, "
                f"have {len(candidates)}")
        now_i = int(time.time() if now is None else now)
        rng = random.Random(seed)
        result = rebalance_pass(self._assign, self._last_moved, self.devices, self.removing,
                                self.replica_plan(), self.min_part_hours * 3600.0, now_i, rng)
        removed = len(self.removing)
        for dev_id in self.removing:
            del self.devices[dev_id]
        self.removing.clear()
        if result.parts_moved or removed:
            self.version += 1
            self.last_rebalance = now_i
        return RebalanceResult(result.parts_moved, self.balance(), self.dispersion(), removed)

    def pretend_min_part_hours_passed(self) -> None:
        """Let every partition move at the next rebalance, whatever min_part_hours says."""
        self._last_moved = array("q", [0]) * self.partition_count

    def min_part_seconds_left(self, now: float | None = None) -> float:
        """Seconds until every partition may move again."""
        now = time.time() if now is None else now
        newest = max(self._last_moved, default=0)
        return max(0.0, newest + self.min_part_hours * 3600.0 - now)

    # ------------------------------------------------------------------ report
    def parts_per_device(self) -> dict[int, int]:
        """Partition-replicas held by each device (devices pending removal included)."""
        counts = Counter({dev_id: 0 for dev_id in self.devices})
        for row in self._assign:
            counts.update(row)
        counts.pop(UNASSIGNED, None)
        return dict(counts)

    def weighted_want(self) -> dict[int, float]:
        """Each device's weight-proportional share of all partition-replicas."""
        active = [d for d in self.active_devices() if d.weight > 0]
        total = sum(d.weight for d in active)
        total_parts = self.partition_count * self.replicas
        return {d.id: (d.weight / total * total_parts if d.id in {a.id for a in active} and total else 0.0)
                for d in self.devices.values()}

    def device_balance(self) -> dict[int, float]:
        """Percent each device holds above (+) or below (-) its weight-proportional share."""
        want = self.weighted_want()
        out = {}
        for dev_id, parts in self.parts_per_device().items():
            if want.get(dev_id, 0.0) > 0:
                out[dev_id] = (parts - want[dev_id]) / want[dev_id] * 100.0
            else:
                out[dev_id] = MAX_BALANCE if parts else 0.0
        return out

    def balance(self) -> float:
        """Largest absolute deviation (percent) of any device from its weight-proportional share."""
        return max((abs(v) for v in self.device_balance().values()), default=0.0)

    def _dispersion_state(self) -> TierState:
        """Tier limits for judging dispersion: the most even spread the devices allow."""
        plan = self.replica_plan()
        spread = replace(plan, target=plan.dispersed)
        eligible = {d.id for d in plan.tree.devices}
        return TierState(spread, self.devices.values(), eligible, self.partition_count, random.Random(0))

    def dispersion(self) -> float:
        """Percent of partitions with more replicas in some tier than the most even spread puts there."""
        if not any(d.weight > 0 for d in self.active_devices()):
            return 0.0
        state = self._dispersion_state()
        bad = 0
        seen: dict[tuple[int, ...], bool] = {}
        for devs in zip(*self._assign, strict=True):
            found = seen.get(devs)
            if found is None:
                found = seen[devs] = UNASSIGNED in devs or state.violation(devs) >= 0
            bad += found
        return bad / self.partition_count * 100.0

    def dispersion_report(self) -> dict[str, Any]:
        """Dispersion percent plus, per zone and per host, how many partitions hold 0..replicas copies."""
        tiers: dict[str, dict[str, list[int]]] = {"zone": {}, "host": {}}
        for devs in zip(*self._assign, strict=True):
            zones: Counter = Counter()
            hosts: Counter = Counter()
            for dev_id in devs:
                if dev_id == UNASSIGNED:
                    continue
                d = self.devices[dev_id]
                zones[f"r{d.region}z{d.zone}"] += 1
                hosts[f"r{d.region}z{d.zone}-{d.ip}"] += 1
            for level, counts in (("zone", zones), ("host", hosts)):
                for name, n in counts.items():
                    tiers[level].setdefault(name, [0] * (self.replicas + 1))[n] += 1
        for level_hists in tiers.values():  # partitions with no replica in the tier
            for hist in level_hists.values():
                hist[0] = self.partition_count - sum(hist[1:])
        max_per = {level: max((i for hist in t.values() for i, n in enumerate(hist) if n), default=0)
                   for level, t in tiers.items()}
        return {"dispersion": self.dispersion(), "max_replicas_per": max_per, "tiers": tiers}

    def validate(self) -> None:
        """Raise :class:`RingValidationError` describing the first problem with the assignment."""
        if len(self._assign) != self.replicas or any(len(r) != self.partition_count for r in self._assign):
            raise RingValidationError("assignment table does not match part_power and replicas")
        if len(self.active_devices()) < self.replicas:
            raise RingValidationError(f"{self.replicas} replicas need at least {self.replicas} devices")
        unassigned = sum(row.count(UNASSIGNED) for row in self._assign)
        if unassigned:
            raise RingValidationError(f"{unassigned} partition-replicas are unassigned; run rebalance")
        for p, devs in enumerate(zip(*self._assign, strict=True)):
            if len(set(devs)) != len(devs):
                raise RingValidationError(f"partition {p} has two replicas on one device: {list(devs)}")
            for dev_id in devs:
                if dev_id not in self.devices:
                    raise RingValidationError(f"partition {p} is assigned to unknown device {dev_id}")
                if dev_id in self.removing:
                    raise RingValidationError(
                        f"device {dev_id} is pending removal but still holds partitions; run rebalance")

    # ------------------------------------------------------------- persistence
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": BUILDER_FORMAT,
            "part_power": self.part_power,
            "replicas": self.replicas,
            "min_part_hours": self.min_part_hours,
            "version": self.version,
            "next_id": self.next_id,
            "last_rebalance": self.last_rebalance,
            "overload": self.overload,
            "next_part_power": self.next_part_power,
            "devices": [d.to_dict() for _, d in sorted(self.devices.items())],
            "removing": sorted(self.removing),
            "assignment": [_pack(row) for row in self._assign],
            "last_moved": _pack(self._last_moved),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RingBuilder:
        if data.get("format") != BUILDER_FORMAT:
            raise RingBuilderError(f"unsupported builder format {data.get('format')!r}")
        b = cls(data["part_power"], data["replicas"], data["min_part_hours"])
        b.version = int(data["version"])
        b.next_id = int(data["next_id"])
        b.last_rebalance = float(data.get("last_rebalance", 0))
        b.overload = float(data.get("overload", 0.0))
        npp = data.get("next_part_power")
        b.next_part_power = None if npp is None else int(npp)
        b.devices = {d["id"]: Device.from_dict(d) for d in data["devices"]}
        b.removing = set(data["removing"])
        if len(data["assignment"]) != b.replicas:
            raise RingBuilderError("builder has the wrong number of assignment rows")
        b._assign = [_unpack("i", row, b.partition_count) for row in data["assignment"]]
        b._last_moved = _unpack("q", data["last_moved"], b.partition_count)
        return b

    def save(self, path: str | os.PathLike) -> None:
        """Atomically write the builder state as JSON."""
        atomic_write(path, json.dumps(self.to_dict(), indent=1).encode() + b"\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> RingBuilder:
        """Read a builder saved by :meth:`save`."""
        try:
            data = json.loads(Path(path).read_text())
        except OSError as exc:
            raise RingBuilderError(f"cannot read builder {os.fspath(path)}: {exc}") from exc
        except ValueError as exc:
            raise RingBuilderError(f"builder {os.fspath(path)} is not valid JSON: {exc}") from exc
        try:
            return cls.from_dict(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise RingBuilderError(f"builder {os.fspath(path)} is damaged: {exc}") from exc

    def ring_data(self) -> RingData:
        """The compiled ring (validates first)."""
        self.validate()
        return RingData(self.version, self.part_power, self.replicas, self.active_devices(),
                        [array("i", row) for row in self._assign], self.next_part_power)

    def write_ring(self, path: str | os.PathLike) -> None:
        """Validate and atomically write the serialized ring."""
        write_ring_file(path, self.ring_data())


def _split_rows(row: array) -> array:
    """``row[p]`` at ``2p`` and ``2p+1``: the table for one more bit of partition power."""
    out = array(row.typecode, bytes(len(row) * 2 * row.itemsize))
    out[0::2] = row
    out[1::2] = row
    return out
