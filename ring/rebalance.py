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
from collections.abc import Callable
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
        if devs not in seen:
            seen[devs] = state.violation(devs)
        r = seen[devs]
        if r >= 0:
            state.add(assign[r][p], -1)
            assign[r][p] = UNASSIGNED
            touched[p] = 1
            gathered.append((p, r))
    # 3. place what was gathered
    rng.shuffle(gathered)
    for p, r in gathered:
        others = [assign[o][p] for o in range(replicas) if o != r and assign[o][p] != UNASSIGNED]
        dest = state.choose(others, need_want=True)
        if dest < 0:
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


def _balance(assign: list[array], state: TierState, movable: Callable[[int], bool], touched: bytearray,
             fresh: list[bytearray], rng: random.Random) -> None:
    """Move replicas from devices over their target to devices under it, round after round.

    Direct moves first; when none is left, two-step moves: a replica goes from a device over its target
    to one at its target that, in exchange, passes another partition's replica to a device under it
    (needed when no partition on the full device may go to the device that wants, e.g. every one of
    them already has a replica in its zone).
    """
    replicas = len(assign)
    mover = _Mover(assign, state, movable, touched, fresh)
    for _ in range(MAX_BALANCE_ROUNDS):
        surplus = [d for d in state.dev_tids if state.dev_want(d) < 0]
        if not surplus:
            return
        holdings = mover.index(rng)
        rng.shuffle(surplus)
        surplus.sort(key=state.dev_want)  # most over target first; ties in seeded order
        moved = 0
        for dev_id in surplus:
            for p, r in holdings.get(dev_id, ()):
                if state.dev_want(dev_id) >= 0:
                    break
                if assign[r][p] != dev_id or not mover.may_move(p, r):
                    continue
                others = [assign[o][p] for o in range(replicas) if o != r]
                dest = state.choose(others, need_want=True)
                if dest >= 0:
                    mover.move(p, r, dest)
                    moved += 1
        if not moved:
            moved = _two_step_moves(mover, holdings, rng)
        if not moved:
            return


class _Mover:
    """Moves replicas during balancing and remembers which partitions have moved."""

    def __init__(self, assign: list[array], state: TierState, movable: Callable[[int], bool], touched: bytearray,
                 fresh: list[bytearray]):
        self.assign, self.state, self.movable, self.touched, self.fresh = assign, state, movable, touched, fresh

    def may_move(self, p: int, r: int) -> bool:
        return bool(self.fresh[r][p]) or self.movable(p)

    def move(self, p: int, r: int, dest: int) -> None:
        self.state.add(self.assign[r][p], -1)
        self.state.add(dest, 1)
        self.assign[r][p] = dest
        if not self.fresh[r][p]:
            self.touched[p] = 1

    def index(self, rng: random.Random) -> dict[int, list[tuple[int, int]]]:
        """Every device's movable replicas, shuffled."""
        holdings: dict[int, list[tuple[int, int]]] = {d: [] for d in self.state.dev_tids}
        for r, row in enumerate(self.assign):
            for p, dev_id in enumerate(row):
                found = holdings.get(dev_id)
                if found is not None and self.may_move(p, r):
                    found.append((p, r))
        for items in holdings.values():
            rng.shuffle(items)
        return holdings


def _two_step_moves(mover: _Mover, holdings: dict[int, list[tuple[int, int]]], rng: random.Random) -> int:
    """Full device -> device at target -> device under target, with two different partitions."""
    assign, state = mover.assign, mover.state
    replicas = len(assign)
    cursor: dict[int, int] = {}  # per middle device: holdings before this index cannot be passed on
    moved = 0
    surplus = [d for d in state.dev_tids if state.dev_want(d) < 0]
    rng.shuffle(surplus)
    for dev_id in surplus:
        for p, r in holdings[dev_id]:
            if state.dev_want(dev_id) >= 0:
                break
            if assign[r][p] != dev_id or not mover.may_move(p, r):
                continue
            others = [assign[o][p] for o in range(replicas) if o != r]
            counts, taken = state.counts_of(others), set(others)
            middles = [m for m in state.dev_tids if m != dev_id and state.dev_want(m) >= 0
                       and state.fits(m, counts, taken)]
            middles.sort(key=lambda m: -state.dev_want(m))
            for mid in middles:
                passed = _pass_on(mover, holdings[mid], cursor, mid, exclude=p)
                if passed is None:
                    continue
                q, rq, dest = passed
                mover.move(q, rq, dest)
                mover.move(p, r, mid)
                moved += 2
                break
    return moved


def _pass_on(mover: _Mover, items: list[tuple[int, int]], cursor: dict[int, int], mid: int, exclude: int
             ) -> tuple[int, int, int] | None:
    """A replica on ``mid`` (not of partition ``exclude``) that a device under its target can take."""
    assign, state = mover.assign, mover.state
    replicas = len(assign)
    i = cursor.get(mid, 0)
    while i < len(items):
        q, rq = items[i]
        if q != exclude and assign[rq][q] == mid and mover.may_move(q, rq):
            dest = state.choose([assign[o][q] for o in range(replicas) if o != rq], need_want=True)
            if dest >= 0:
                cursor[mid] = i + 1
                return q, rq, dest
        i += 1
    cursor[mid] = i
    return None
