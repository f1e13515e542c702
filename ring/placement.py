"""Choosing devices for replicas: most spread out first, then the device that still wants the most."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from ring.device import Device


class Placer:
    """Picks devices for partition replicas among ``candidates`` (devices that may receive data).

    ``tiers`` must cover every device that can hold a replica (candidates plus draining devices), so a
    replica still on a draining device counts when judging how spread out its partition is.
    ``wanted[id]`` is the number of partition-replicas a device still wants (target minus assigned).
    """

    def __init__(self, candidates: Sequence[Device], every_device: Iterable[Device], wanted: list[float]):
        self.candidates = [d.id for d in candidates]
        self.tiers = {d.id: (d.region, (d.region, d.zone), (d.region, d.zone, d.ip)) for d in every_device}
        self.wanted = wanted
        self._best: dict[tuple[int, ...], tuple[list[int], frozenset[int]]] = {}
        self._misplaced: dict[tuple[int, ...], int] = {}

    def best_devices(self, others: Iterable[int]) -> tuple[list[int], frozenset[int]]:
        """Candidates (not among ``others``) that keep the partition's replicas most spread out."""
        key = tuple(sorted(others))
        found = self._best.get(key)
        if found is None:
            found = self._compute_best(key)
            self._best[key] = found
        return found

    def _compute_best(self, others: tuple[int, ...]) -> tuple[list[int], frozenset[int]]:
        regions: Counter = Counter()
        zones: Counter = Counter()
        hosts: Counter = Counter()
        for o in others:
            r, z, h = self.tiers[o]
            regions[r] += 1
            zones[z] += 1
            hosts[h] += 1
        taken = set(others)
        best: list[int] = []
        best_key: tuple[int, int, int] | None = None
        for dev_id in self.candidates:
            if dev_id in taken:
                continue
            r, z, h = self.tiers[dev_id]
            k = (regions[r], zones[z], hosts[h])
            if best_key is None or k < best_key:
                best_key, best = k, [dev_id]
            elif k == best_key:
                best.append(dev_id)
        return best, frozenset(best)

    def choose(self, others: Iterable[int], exclude: int = -1) -> int:
        """The most wanting device among the best spread ones (-1 when there is none)."""
        best, _ = self.best_devices(others)
        wanted = self.wanted
        choice, most = -1, None
        for dev_id in best:
            if dev_id != exclude and (most is None or wanted[dev_id] > most):
                choice, most = dev_id, wanted[dev_id]
        return choice

    def misplaced_replica(self, part_devs: tuple[int, ...]) -> int:
        """Index of a replica that could sit somewhere more spread out, or -1 if all are well placed."""
        found = self._misplaced.get(part_devs)
        if found is None:
            found = -1
            for r, dev_id in enumerate(part_devs):
                others = part_devs[:r] + part_devs[r + 1:]
                if dev_id not in self.best_devices(others)[1]:
                    found = r
                    break
            self._misplaced[part_devs] = found
        return found
