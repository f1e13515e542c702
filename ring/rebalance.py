"""One rebalance of a builder's assignment table.

1. Gather replicas that must move: unassigned ones and those on devices being removed (always, whatever
   ``min_part_hours`` says).
2. Gather, one per partition, replicas sitting in a tier that holds more of the partition than its
   limit (the ceiling of its target, see ``ring.tiers``).
3. Place what was gathered: down the tier tree into the tiers that want the most and have room.
4. Balance: replicas move straight from devices over their (integer) target to devices under it that
   keep the partition within its tier limits; repeated until a round moves nothing. Every move goes
   from a device with too much to one with too little, so a rebalance moves about the fair share.

A partition moves at most one replica per rebalance, and none while ``min_part_hours`` since its last
move have not passed, except replicas that have to leave removed devices or are new (never assigned).
"""

from __future__ import annotations

import random
from array import array
from dataclasses import dataclass

from ring.device import Device
from ring.placement import TierState
from ring.tiers import ReplicaPlan

UNASSIGNED = -1
MAX_BALANCE_ROUNDS = 16


@dataclass
class PassResult:
    """What a rebalance changed: replicas moved and partitions touched."""

    parts_moved: int
    partitions_touched: int


def rebalance_pass(
    assign: list[array],
    last_moved: array,
    devices: dict[int, Device],
    removing: set[int],
    plan: ReplicaPlan,
    min_part_seconds: float,
    now: int,
    rng: random.Random,
) -> PassResult:
    """Rebalance ``assign`` (one ``array('i')`` of device ids per replica) in place towards ``plan``."""
    part_count = len(last_moved)
    replicas = len(assign)
    holders = [d for i, d in sorted(devices.items()) if i not in removing]
    eligible = {d.id for d in plan.tree.devices}
    state = TierState(plan, holders, eligible, part_count, rng)
    state.load(assign)
    before = [row[:] for row in assign]
    touched = bytearray(part_count)  # a live replica of the partition moved in this rebalance
    fresh = [bytearray(part_count) for _ in range(replicas)]  # placed from nowhere in this rebalance

    def movable(p: int) -> bool:
        return not touched[p] and now - last_moved[p] >= min_part_seconds

    # 1. unassigned replicas and replicas on removed devices
    gathered: list[tuple[int, int]] = []
    for r, row in enumerate(assign):
        for p, dev_id in enumerate(row):
            if dev_id == UNASSIGNED or dev_id not in state.dev_tids:
                row[p] = UNASSIGNED
                fresh[r][p] = 1
                gathered.append((p, r))
    for p, r in gathered:
        if before[r][p] != UNASSIGNED or any(assign[o][p] != UNASSIGNED for o in range(replicas)):
            touched[p] = 1  # the partition already has data somewhere: this is its move
    # 2. replicas in a tier over its per-partition limit
    seen: dict[tuple[int, ...], int] = {}
    for p in range(part_count):
        if not movable(p):
            continue
        devs = tuple(assign[r][p] for r in range(replicas))
        r = seen.get(devs)
        if r is None:
            r = seen[devs] = state.violation(devs)
        if r >= 0:
            state.add(assign[r][p], -1)
            assign[r][p] = UNASSIGNED
            touched[p] = 1
            gathered.append((p, r))
    # 3. place what was gathered
    rng.shuffle(gathered)
    for p, r in gathered:
        others = [assign[o][p] for o in range(replicas) if o != r and assign[o][p] != UNASSIGNED]
        dest = state.choose(others, need_want=False)
        if dest < 0:
            dest = state.choose(others, need_want=False, strict=False)
        if dest < 0:
            raise RuntimeError(f"no device can take replica {r} of partition {p}")
        assign[r][p] = dest
        state.add(dest, 1)
    # 4. balance
    _balance(assign, state, movable, touched, fresh, rng)

    moved = touched_count = 0
    for p in range(part_count):
        changed = sum(1 for r in range(replicas) if assign[r][p] != before[r][p])
        if changed:
            moved += changed
            touched_count += 1
            last_moved[p] = now
    return PassResult(moved, touched_count)


def _balance(assign: list[array], state: TierState, movable, touched: bytearray, fresh: list[bytearray],
             rng: random.Random) -> None:
    """Move replicas from devices over their target straight to devices under it, round after round."""
    replicas = len(assign)
    for _ in range(MAX_BALANCE_ROUNDS):
        surplus = [d for d in state.dev_tids if state.dev_want(d) < 0]
        if not surplus:
            return
        holdings: dict[int, list[tuple[int, int]]] = {d: [] for d in surplus}
        for r, row in enumerate(assign):
            for p, dev_id in enumerate(row):
                found = holdings.get(dev_id)
                if found is not None:
                    found.append((p, r))
        rng.shuffle(surplus)
        surplus.sort(key=state.dev_want)  # most over target first; ties in seeded order
        moved = 0
        for dev_id in surplus:
            items = holdings[dev_id]
            rng.shuffle(items)
            for p, r in items:
                if state.dev_want(dev_id) >= 0:
                    break
                if not (fresh[r][p] or movable(p)):
                    continue
                others = [assign[o][p] for o in range(replicas) if o != r]
                dest = state.choose(others, need_want=True)
                if dest < 0:
                    continue
                assign[r][p] = dest
                state.add(dev_id, -1)
                state.add(dest, 1)
                if not fresh[r][p]:
                    touched[p] = 1
                moved += 1
        if not moved:
            return
