"""Where a partition's replica may go: tier limits per partition and the device that wants it most.

:class:`TierState` numbers every tier of a device set, tracks how many partition-replicas each tier
holds against its integer target, and chooses devices for replicas by walking the tier tree from the
cluster down, always into the child that wants the most among those whose limit for this partition
(``ReplicaPlan.max_replicas``) still has room.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence

from ring.device import Device
from ring.tiers import ReplicaPlan, Tier, tiers_of

ROOT = 0


def apportion(total: int, shares: Sequence[float]) -> list[int]:
    """Whole numbers summing to ``total`` in proportion to ``shares`` (largest remainder)."""
    whole = sum(shares)
    if whole <= 0:
        exact = [total / len(shares)] * len(shares) if shares else []
    else:
        exact = [total * s / whole for s in shares]
    out = [math.floor(x + 1e-9) for x in exact]
    by_remainder = sorted(range(len(shares)), key=lambda i: (-(exact[i] - out[i]), i))
    for i in by_remainder[:max(total - sum(out), 0)]:
        out[i] += 1
    return out


class TierState:
    """Tier ids, per-partition limits, targets and counts for one rebalance.

    ``devices`` are every device that can hold a replica (draining ones included, so their replicas
    count when judging dispersion); ``eligible`` are the ids that may receive replicas.
    """

    def __init__(self, plan: ReplicaPlan, devices: Iterable[Device], eligible: set[int], part_count: int,
                 rng: random.Random):
        self.tid: dict[Tier, int] = {(): ROOT}
        self.tiers: list[Tier] = [()]
        self.children: list[list[int]] = [[]]
        self.dev_tids: dict[int, tuple[int, ...]] = {}
        self.leaf_dev: dict[int, int] = {}
        for d in sorted(devices, key=lambda d: d.id):
            parent = ROOT
            path = []
            for tier in tiers_of(d):
                t = self.tid.get(tier)
                if t is None:
                    t = self.tid[tier] = len(self.tiers)
                    self.tiers.append(tier)
                    self.children.append([])
                    self.children[parent].append(t)
                path.append(t)
                parent = t
            self.dev_tids[d.id] = tuple(path)
            self.leaf_dev[path[-1]] = d.id
        n = len(self.tiers)
        self.eligible = eligible
        self.max_per_part = [plan.max_replicas(t) for t in self.tiers]
        self.max_per_part[ROOT] = 1 << 30
        # Whole-number targets, rounded top-down so every tier's target is the sum of its children's.
        share = [0.0] * n
        for dev_id, dev_path in self.dev_tids.items():
            if dev_id in eligible:
                for t in (ROOT, *dev_path):
                    share[t] += plan.target.get(self.tiers[dev_path[-1]], 0.0) * part_count
        self.target = [0] * n
        self.target[ROOT] = round(share[ROOT])
        stack = [ROOT]
        while stack:
            t = stack.pop()
            kids = self.children[t]
            for k, whole in zip(kids, apportion(self.target[t], [share[k] for k in kids]), strict=True):
                self.target[k] = whole
                stack.append(k)
        self.dev_target = {d: self.target[path[-1]] for d, path in self.dev_tids.items()}
        self.parts = [0] * n
        self.pos_want = [0] * n  # sum over the tier's devices of max(0, target - parts)
        self.rank = list(range(n))
        rng.shuffle(self.rank)  # seeded tie-breaking between tiers that want the same
        for kids in self.children:
            kids.sort(key=lambda t: self.rank[t])

    # ------------------------------------------------------------------ counts
    def want(self, t: int) -> int:
        return self.target[t] - self.parts[t]

    def dev_want(self, dev_id: int) -> int:
        return self.want(self.dev_tids[dev_id][-1])

    def add(self, dev_id: int, delta: int) -> None:
        """Count ``delta`` partition-replicas more on a device (and every tier above it)."""
        path = self.dev_tids[dev_id]
        leaf = path[-1]
        before = max(0, self.target[leaf] - self.parts[leaf])
        after = max(0, self.target[leaf] - self.parts[leaf] - delta)
        change = after - before
        for t in (ROOT, *path):
            self.parts[t] += delta
            self.pos_want[t] += change

    def load(self, assign: Sequence[Sequence[int]]) -> None:
        """Count the replicas currently assigned (device ids outside the state are ignored)."""
        per_dev: dict[int, int] = {}
        for row in assign:
            for d in row:
                if d in self.dev_tids:
                    per_dev[d] = per_dev.get(d, 0) + 1
        for t in range(len(self.tiers)):
            self.parts[t] = 0
            self.pos_want[t] = 0
        for d, path in self.dev_tids.items():
            n = per_dev.get(d, 0)
            pos = max(0, self.dev_target[d] - n)
            for t in (ROOT, *path):
                self.parts[t] += n
                self.pos_want[t] += pos

    # --------------------------------------------------------------- choosing
    def counts_of(self, others: Iterable[int]) -> dict[int, int]:
        """Replicas per tier id among the devices ``others`` (unknown ids ignored)."""
        counts: dict[int, int] = {}
        for o in others:
            for t in self.dev_tids.get(o, ()):
                counts[t] = counts.get(t, 0) + 1
        return counts

    def violation(self, devs: Sequence[int]) -> int:
        """Index of a replica sitting in a tier over its per-partition limit (-1 when none).

        Among the replicas in the most over-full tier, the one on the device furthest over its target.
        """
        counts = self.counts_of(devs)
        worst, worst_t = 0, -1
        for t, n in counts.items():
            over = n - self.max_per_part[t]
            if over > worst:
                worst, worst_t = over, t
        if worst_t < 0:
            return -1
        best, best_r = None, -1
        for r, d in enumerate(devs):
            path = self.dev_tids.get(d)
            if path and worst_t in path:
                surplus = -self.dev_want(d)
                if best is None or surplus > best:
                    best, best_r = surplus, r
        return best_r

    def choose(self, others: Sequence[int], need_want: bool, strict: bool = True) -> int:
        """The device for one more replica of a partition whose other replicas are on ``others``.

        Walks down into the child tier holding fewest of the partition's replicas, then wanting the
        most, among those with room under the partition limits (``strict``; otherwise limits are ignored).
        With ``need_want`` only a device below its target qualifies. -1 when no device fits.
        """
        counts = self.counts_of(others)
        taken = set(others)
        limit = self.max_per_part if strict else None
        return self._descend(ROOT, counts, taken, need_want, limit)

    def fits(self, dev_id: int, counts: dict[int, int], taken: set[int]) -> bool:
        """Whether ``dev_id`` may take one more replica of a partition (``counts``/``taken`` from its
        other replicas) without exceeding any tier's limit."""
        if dev_id in taken or dev_id not in self.eligible:
            return False
        limit = self.max_per_part
        return all(counts.get(t, 0) < limit[t] for t in self.dev_tids[dev_id])

    def _descend(self, t: int, counts: dict[int, int], taken: set[int], need_want: bool,
                 limit: list[int] | None) -> int:
        kids = self.children[t]
        if not kids:
            d = self.leaf_dev[t]
            if d in taken or d not in self.eligible or (need_want and self.target[t] <= self.parts[t]):
                return -1
            return d
        target, parts, pos_want = self.target, self.parts, self.pos_want
        # fewest of this partition's replicas first (spread), then the most wanting; ties in seeded order
        order = sorted(kids, key=lambda k: (counts.get(k, 0), parts[k] - target[k]))
        for k in order:
            if need_want and pos_want[k] <= 0:
                continue
            if limit is not None and counts.get(k, 0) >= limit[k]:
                continue
            found = self._descend(k, counts, taken, need_want, limit)
            if found >= 0:
                return found
        return -1
