"""Node selection for a (ring, partition) and error limiting of failing devices."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator

from objclient.rings import Device, Ring

__all__ = ["Device", "ErrorLimiter", "dev_key", "read_nodes", "write_handoffs"]

log = logging.getLogger("objclient.nodes")


def dev_key(dev: Device) -> tuple[str, int, str]:
    """The identity of a device for error limiting."""
    return (dev.ip, dev.port, dev.device)


class ErrorLimiter:
    """Skip a device that failed ``limit`` times within ``interval`` seconds (or said 507) for a while.

    Errors are counted per device; the count is forgotten once ``interval`` passes without an error.
    """

    def __init__(self, interval: float = 30.0, limit: int = 3, clock: Callable[[], float] = time.monotonic):
        self.interval = interval
        self.limit = limit
        self._clock = clock
        self._errors: dict[tuple[str, int, str], tuple[int, float]] = {}  # key -> (count, last error)

    def error(self, dev: Device) -> None:
        """Count one failure (connect error, timeout, 5xx)."""
        key = dev_key(dev)
        now = self._clock()
        count, last = self._errors.get(key, (0, 0.0))
        if now - last > self.interval:
            count = 0
        self._errors[key] = (count + 1, now)
        if count + 1 == self.limit:  # as Swift's proxy says it: the moment a device starts being skipped
            log.warning("device %s:%d/%s error limited for %.0fs after %d errors", *key, self.interval, self.limit)

    def limit_now(self, dev: Device) -> None:
        """Limit at once (507: the device is unmounted or full)."""
        key = dev_key(dev)
        if not self.is_limited(dev):
            log.warning("device %s:%d/%s error limited for %.0fs: unmounted or full (507)", *key, self.interval)
        self._errors[key] = (max(self.limit, 1), self._clock())

    def is_limited(self, dev: Device) -> bool:
        entry = self._errors.get(dev_key(dev))
        if entry is None:
            return False
        count, last = entry
        if self._clock() - last > self.interval:
            del self._errors[dev_key(dev)]
            return False
        return count >= self.limit


def write_handoffs(ring: Ring, part: int, limiter: ErrorLimiter, max_count: int) -> Iterator[Device]:
    """Up to ``max_count`` handoff devices that are not error-limited (shared by a PUT's slots)."""
    given = 0
    for dev in ring.handoffs(part):
        if given >= max_count:
            return
        if not limiter.is_limited(dev):
            given += 1
            yield dev


def read_nodes(
    ring: Ring, part: int, limiter: ErrorLimiter, handoff_count: int, shuffle: bool = True
) -> list[Device]:
    """Primaries (shuffled), then ``handoff_count`` handoffs; error-limited devices moved to the end."""
    primaries = list(ring.primaries(part))
    if shuffle:
        random.shuffle(primaries)
    nodes = primaries
    for i, dev in enumerate(ring.handoffs(part)):
        if i >= handoff_count:
            break
        nodes.append(dev)
    good = [d for d in nodes if not limiter.is_limited(d)]
    if len(good) == len(nodes):
        return nodes
    return good + [d for d in nodes if limiter.is_limited(d)]
