"""Replica targets per device: weight-proportional, bounded by what dispersion allows.

Placement spreads every partition's replicas as widely as possible across regions, then zones, then
hosts, then devices. That caps what a failure domain can hold: with three zones and three replicas each
zone holds exactly one replica of every partition whatever its weight. The targets computed here are the
weight-proportional shares clamped, tier by tier, to those limits, so the builder never tries to move
partitions that dispersion would put straight back.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from ring.device import Device

# Failure-domain levels, outermost first; the last level is the device itself.
LEVELS: tuple[Callable[[Device], Any], ...] = (
    lambda d: d.region,
    lambda d: (d.region, d.zone),
    lambda d: (d.region, d.zone, d.ip),
    lambda d: d.id,
)

_EPS = 1e-9


def replica_targets(devices: Sequence[Device], replicas: float) -> dict[int, float]:
    """Replicas per partition each device should hold (sums to ``replicas``; each device at most 1)."""
    active = [d for d in devices if d.weight > 0]
    if not active:
        return {}
    replicas = min(float(replicas), float(len(active)))
    out: dict[int, float] = {}
    _allocate(active, replicas, 0, out)
    return out


def _allocate(devs: list[Device], n: float, level: int, out: dict[int, float]) -> None:
    if level == len(LEVELS) - 1:
        for d in devs:  # one device per group at the last level
            out[d.id] = n
        return
    groups: dict[Any, list[Device]] = {}
    for d in devs:
        groups.setdefault(LEVELS[level](d), []).append(d)
    children = list(groups.values())
    caps = [len(c) for c in children]
    weights = [sum(d.weight for d in c) for c in children]
    lo = _min_shares(caps, math.floor(n + _EPS))
    hi = _max_shares(caps, math.ceil(n - _EPS))
    for child, share in zip(children, _bounded_split(n, weights, lo, hi), strict=True):
        _allocate(child, share, level + 1, out)


def _water_level(caps: list[int], m: int) -> int:
    level = 0
    while sum(min(c, level) for c in caps) < m:
        level += 1
    return level


def _max_shares(caps: list[int], m: int) -> list[int]:
    """Most replicas each child holds when ``m`` replicas are spread as evenly as capacity allows."""
    level = _water_level(caps, m)
    return [min(c, level) for c in caps]


def _min_shares(caps: list[int], m: int) -> list[int]:
    """Fewest replicas each child holds when ``m`` replicas are spread as evenly as capacity allows."""
    if m <= 0:
        return [0] * len(caps)
    level = _water_level(caps, m)
    base = [min(c, level - 1) for c in caps]
    eligible = sum(1 for c in caps if c >= level)
    if m - sum(base) == eligible:  # every child that can reach the level does
        return [min(c, level) for c in caps]
    return base


def _bounded_split(n: float, weights: list[float], lo: list[int], hi: list[int]) -> list[float]:
    """Split ``n`` in proportion to ``weights`` with each share clamped to ``[lo[i], hi[i]]``."""
    shares: list[float | None] = [None] * len(weights)
    while True:
        free = [i for i, s in enumerate(shares) if s is None]
        if not free:
            break
        remaining = n - sum(s for s in shares if s is not None)
        wsum = sum(weights[i] for i in free)
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
