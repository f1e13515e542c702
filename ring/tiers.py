"""Replica targets per failure-domain tier: weighted, dispersion-wanted, and the two blended by overload.

Tiers are tuples: ``()`` the cluster, ``(region,)``, ``(region, zone)``, ``(region, zone, ip)`` a host and
``(region, zone, ip, id)`` a device. Every function returns, per tier, a number of replicas *per
partition* (a device holds at most 1; the cluster holds ``replicas``); a tier's value is the sum of its
children's.

* **weighted**: each tier's share in proportion to its weight (a device never more than one replica, a
  tier never more than its device count).
* **wanted**: what dispersion needs. Spreading every partition's replicas as evenly as possible over the
  tiers (``dispersed``) bounds each tier between the floor and ceiling of its even share; inside those
  bounds replicas still follow weight. With three equal zones and three replicas, each zone wants
  exactly one replica whatever its weight.
* **target**: ``weighted + (wanted - weighted) * min(overload, required) / required`` where
  ``required`` is the overload some device would need to take what dispersion wants of it. Overload 0
  (the default) balances by weight alone; an overload at least ``required`` gives full dispersion.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ring.device import Device

Tier = tuple[Any, ...]

LEVEL_NAMES = ("region", "zone", "host", "device")

_EPS = 1e-9


def tiers_of(dev: Device) -> tuple[Tier, Tier, Tier, Tier]:
    """The region, zone, host and device tiers a device belongs to."""
    return ((dev.region,), (dev.region, dev.zone), (dev.region, dev.zone, dev.ip),
            (dev.region, dev.zone, dev.ip, dev.id))


def tier_name(tier: Tier) -> str:
    """``r1``, ``r1z2``, ``r1z2-10.0.0.1``, ``r1z2-10.0.0.1/d5`` (``cluster`` for the root)."""
    if not tier:
        return "cluster"
    text = f"r{tier[0]}"
    if len(tier) > 1:
        text += f"z{tier[1]}"
    if len(tier) > 2:
        text += f"-{tier[2]}"
    if len(tier) > 3:
        text += f"/d{tier[3]}"
    return text


class TierTree:
    """Children, weights and device counts of every tier above a set of devices with weight > 0."""

    def __init__(self, devices: Iterable[Device]):
        self.devices = [d for d in devices if d.weight > 0]
        self.children: dict[Tier, list[Tier]] = {(): []}
        self.weight: dict[Tier, float] = {(): 0.0}
        self.count: dict[Tier, int] = {(): 0}
        for d in sorted(self.devices, key=lambda d: d.id):
            parent: Tier = ()
            self.weight[()] += d.weight
            self.count[()] += 1
            for tier in tiers_of(d):
                if tier not in self.weight:
                    self.children[parent].append(tier)
                    self.children[tier] = []
                    self.weight[tier] = 0.0
                    self.count[tier] = 0
                self.weight[tier] += d.weight
                self.count[tier] += 1
                parent = tier

    def top_down(self, root_value: float, split: Callable[[Tier, float, list[Tier]], list[float]]
                 ) -> dict[Tier, float]:
        """Give the root ``root_value`` and each tier's value to its children with ``split``."""
        out: dict[Tier, float] = {}
        stack: list[tuple[Tier, float]] = [((), root_value)]
        while stack:
            tier, value = stack.pop()
            out[tier] = value
            kids = self.children[tier]
            if kids:
                stack.extend(zip(kids, split(tier, value, kids), strict=True))
        return out


def weighted_replicas(tree: TierTree, replicas: float) -> dict[Tier, float]:
    """Replicas per partition each tier holds in proportion to weight (capped by its device count)."""
    def split(_tier: Tier, n: float, kids: list[Tier]) -> list[float]:
        return bounded_split(n, [tree.weight[k] for k in kids], [0.0] * len(kids),
                             [float(tree.count[k]) for k in kids])
    return tree.top_down(min(float(replicas), float(tree.count[()])), split)


def dispersed_replicas(tree: TierTree, replicas: float) -> dict[Tier, float]:
    """Replicas per partition each tier holds when spread as evenly as device counts allow, by weight
    only where the spread leaves a choice (the most even spread ignores weight)."""
    def split(_tier: Tier, n: float, kids: list[Tier]) -> list[float]:
        return _even_split(n, [tree.count[k] for k in kids])
    return tree.top_down(min(float(replicas), float(tree.count[()])), split)


def wanted_replicas(tree: TierTree, replicas: float) -> dict[Tier, float]:
    """Replicas per partition each tier should hold for the best dispersion, by weight within it."""
    dispersed = dispersed_replicas(tree, replicas)

    def split(_tier: Tier, n: float, kids: list[Tier]) -> list[float]:
        lo = [math.floor(dispersed[k] + _EPS) for k in kids]
        hi = [min(math.ceil(dispersed[k] - _EPS), tree.count[k]) for k in kids]
        if sum(lo) > n + _EPS:  # the parent got less than it could spread; only the upper bound holds
            lo = [0] * len(kids)
        return bounded_split(n, [tree.weight[k] for k in kids], [float(x) for x in lo], [float(x) for x in hi])
    return tree.top_down(min(float(replicas), float(tree.count[()])), split)


def required_overload(weighted: dict[Tier, float], wanted: dict[Tier, float]) -> float:
    """The overload (0.1 = 10%) the most constrained device needs to take what dispersion wants."""
    need = 0.0
    for tier, want in wanted.items():
        have = weighted.get(tier, 0.0)
        if len(tier) == 4 and have > _EPS and want > have + _EPS:
            need = max(need, (want - have) / have)
    return need


def target_replicas(weighted: dict[Tier, float], wanted: dict[Tier, float], overload: float
                    ) -> dict[Tier, float]:
    """Blend weighted and wanted replicas by ``overload`` (see the module docstring)."""
    required = required_overload(weighted, wanted)
    if required <= 0:
        return dict(wanted)
    use = min(max(overload, 0.0), required)
    return {t: weighted[t] + (wanted[t] - weighted[t]) * use / required for t in weighted}


@dataclass(frozen=True)
class ConstrainedTier:
    """A tier whose weight share differs from what dispersion wants of it."""

    tier: Tier
    weighted: float
    wanted: float
    target: float

    @property
    def name(self) -> str:
        return tier_name(self.tier)

    @property
    def level(self) -> str:
        return LEVEL_NAMES[len(self.tier) - 1]


@dataclass(frozen=True)
class ReplicaPlan:
    """Per-tier replica targets for one device set, replica count and overload."""

    tree: TierTree
    weighted: dict[Tier, float]
    wanted: dict[Tier, float]
    dispersed: dict[Tier, float]
    target: dict[Tier, float]
    overload: float
    required_overload: float

    def max_replicas(self, tier: Tier) -> int:
        """Most replicas of one partition the tier may hold (ceiling of its target, at most 1 a device)."""
        return min(math.ceil(self.target.get(tier, 0.0) - 1e-6), self.tree.count.get(tier, 0))

    def dispersed_max(self, tier: Tier) -> int:
        """Most replicas of one partition the tier holds under the most even spread."""
        return math.ceil(self.dispersed.get(tier, 0.0) - 1e-6)

    def constrained_tiers(self) -> list[ConstrainedTier]:
        """Tiers (outermost first) where dispersion wants more than the weight share, worst first."""
        out = [ConstrainedTier(t, self.weighted[t], self.wanted[t], self.target[t])
               for t in self.weighted
               if t and self.wanted[t] > self.weighted[t] + 1e-6]
        out.sort(key=lambda c: (len(c.tier), -(c.wanted - c.weighted) / max(c.weighted, _EPS)))
        return out


def replica_plan(devices: Iterable[Device], replicas: float, overload: float) -> ReplicaPlan:
    """Build the :class:`ReplicaPlan` for devices (those with weight 0 get nothing)."""
    tree = TierTree(devices)
    if not tree.devices:
        return ReplicaPlan(tree, {(): 0.0}, {(): 0.0}, {(): 0.0}, {(): 0.0}, overload, 0.0)
    weighted = weighted_replicas(tree, replicas)
    wanted = wanted_replicas(tree, replicas)
    return ReplicaPlan(tree, weighted, wanted, dispersed_replicas(tree, replicas),
                       target_replicas(weighted, wanted, overload), overload,
                       required_overload(weighted, wanted))


def replica_targets(devices: Sequence[Device], replicas: float, overload: float = 0.0) -> dict[int, float]:
    """Replicas per partition each device should hold (sums to ``replicas``; each device at most 1)."""
    plan = replica_plan(devices, replicas, overload)
    return {t[3]: v for t, v in plan.target.items() if len(t) == 4}


def _even_split(n: float, caps: list[int]) -> list[float]:
    """Split ``n`` as evenly as possible with child ``i`` holding at most ``caps[i]``."""
    out = [0.0] * len(caps)
    free = list(range(len(caps)))
    left = n
    while free and left > _EPS:
        each = left / len(free)
        full = [i for i in free if caps[i] <= each + _EPS]
        if not full:
            for i in free:
                out[i] = each
            break
        for i in full:
            out[i] = float(caps[i])
            left -= caps[i]
        free = [i for i in free if i not in full]
    return out


def bounded_split(n: float, weights: list[float], lo: list[float], hi: list[float]) -> list[float]:
    """Split ``n`` in proportion to ``weights`` with each share clamped to ``[lo[i], hi[i]]``."""
    shares: list[float | None] = [None] * len(weights)
    while True:
        free = [i for i, s in enumerate(shares) if s is None]
        if not free:
            break
        remaining = n - sum(s for s in shares if s is not None)
        wsum = sum(weights[i] for i in free)
        if wsum <= 0:
            trial = {i: remaining / len(free) for i in free}
        else:
            trial = {i: remaining * weights[i] / wsum for i in free}
        over = [i for i in free if trial[i] > hi[i] + _EPS]
        under = [i for i in free if trial[i] < lo[i] - _EPS]
        excess = sum(trial[i] - hi[i] for i in over)
        deficit = sum(lo[i] - trial[i] for i in under)
        if not over and not under:
            for i in free:
                shares[i] = trial[i]
            break
        # Fix the side that violates more; the other side may resolve once it is redistributed.
        for i in over if excess >= deficit else under:
            shares[i] = float(hi[i] if excess >= deficit else lo[i])
    return [float(s) for s in shares]  # type: ignore[arg-type]
