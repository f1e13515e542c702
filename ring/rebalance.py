"""One rebalance pass over a builder's assignment table.

1. Gather replicas that must move: unassigned ones and those on removed devices (always allowed).
2. Gather replicas that could be more spread out (regions, zones, hosts), one per partition.
3. Place gathered replicas on the most wanting device among the best spread ones.
4. Move replicas off devices holding more than their target, straight to a device that wants more and
   keeps the partition as spread out.

A partition moves at most one replica per pass and none while ``min_part_hours`` since its last move
have not passed, except for replicas that have to leave removed devices or were never assigned.
"""

from __future__ import annotations

import math
import random
from array import array
from collections.abc import Sequence
from dataclasses import dataclass

from ring.device import Device
from ring.placement import Placer
from ring.tiers import replica_targets

UNASSIGNED = -1


@dataclass
class PassResult:
    """What a pass changed: replicas moved and partitions touched."""

    parts_moved: int
    partitions_touched: int


def rebalance_pass(
    assign: list[array],
    last_moved: array,
    devices: dict[int, Device],
    removing: set[int],
    min_part_seconds: float,
    now: int,
    rng: random.Random,
) -> PassResult:
    """Rebalance ``assign`` (one ``array('i')`` of device ids per replica) in place."""
    part_count = len(last_moved)
    kept = [d for i, d in sorted(devices.items()) if i not in removing]
    candidates = [d for d in kept if d.weight > 0]
    rng.shuffle(candidates)  # seeded tie-breaking among equally good devices
    per_part = replica_targets(candidates, len(assign))
    target = [0.0] * (max(devices, default=0) + 1)
    for dev_id, share in per_part.items():
        target[dev_id] = share * part_count
    parts = [0] * len(target)
    for row in assign:
        for dev_id in row:
            if dev_id >= 0:
                parts[dev_id] += 1
    wanted = [t - p for t, p in zip(target, parts, strict=True)]
    placer = Placer(candidates, kept, wanted)
    before = [row[:] for row in assign]
    touched = bytearray(part_count)

    def movable(p: int) -> bool:
        return not touched[p] and now - last_moved[p] >= min_part_seconds

    def unassign(r: int, p: int) -> None:
        dev_id = assign[r][p]
        assign[r][p] = UNASSIGNED
        parts[dev_id] -= 1
        wanted[dev_id] += 1
        touched[p] = 1

    # 1. unassigned replicas and replicas on removed devices
    gathered: list[tuple[int, int]] = []
    for r, row in enumerate(assign):
        for p, dev_id in enumerate(row):
            if dev_id == UNASSIGNED or dev_id in removing or dev_id not in devices:
                if dev_id != UNASSIGNED:
                    unassign(r, p)
                gathered.append((p, r))
                touched[p] = 1
    # 2. replicas that could be more spread out
    replicas = len(assign)
    for p in range(part_count):
        if not movable(p):
            continue
        devs = tuple(assign[r][p] for r in range(replicas))
        r = placer.misplaced_replica(devs)
        if r >= 0:
            unassign(r, p)
            gathered.append((p, r))
    # 3. place what was gathered
    rng.shuffle(gathered)
    for p, r in gathered:
        others = [assign[o][p] for o in range(replicas) if o != r and assign[o][p] != UNASSIGNED]
        _place(assign, parts, wanted, r, p, placer.choose(others))
    # 4. drain overweight devices into devices that want more
    _drain_overweight(assign, parts, wanted, target, placer, movable, touched, rng)

    moved = touched_count = 0
    for p in range(part_count):
        changed = sum(1 for r in range(replicas) if assign[r][p] != before[r][p])
        if changed:
            moved += changed
            touched_count += 1
            last_moved[p] = now
    return PassResult(moved, touched_count)


def _place(assign: list[array], parts: list[int], wanted: list[float], r: int, p: int, dev_id: int) -> None:
    if dev_id < 0:
        raise RuntimeError(f"no device can take replica {r} of partition {p}")
    assign[r][p] = dev_id
    parts[dev_id] += 1
    wanted[dev_id] -= 1


def _drain_overweight(assign: list[array], parts: list[int], wanted: list[float], target: Sequence[float],
                      placer: Placer, movable, touched: bytearray, rng: random.Random) -> None:
    replicas = len(assign)
    limit = [math.ceil(t - 1e-6) for t in target]
    over = [d for d in range(len(parts)) if parts[d] > limit[d]]
    if not over:
        return
    holdings: dict[int, list[tuple[int, int]]] = {d: [] for d in over}
    for r, row in enumerate(assign):
        for p, dev_id in enumerate(row):
            if dev_id in holdings:
                holdings[dev_id].append((p, r))
    rng.shuffle(over)
    for dev_id in over:
        items = holdings[dev_id]
        rng.shuffle(items)
        for p, r in items:
            if parts[dev_id] <= limit[dev_id]:
                break
            if not movable(p):
                continue
            others = [assign[o][p] for o in range(replicas) if o != r]
            dest = placer.choose(others, exclude=dev_id)
            # A draining device (target 0) gives its replicas away even to devices that are full.
            if dest < 0 or (target[dev_id] > 0 and wanted[dest] <= 0):
                continue
            assign[r][p] = UNASSIGNED
            parts[dev_id] -= 1
            wanted[dev_id] += 1
            touched[p] = 1
            _place(assign, parts, wanted, r, p, dest)
