"""Token buckets for background work (bytes or items per second): on the event loop (``RateLimiter``)
and in worker threads (``BlockingRateLimiter``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class RateLimiter:
    """``await consume(n)`` sleeps as needed to keep the long-run rate at ``rate`` units/s.

    A burst of up to one second's worth is allowed; ``rate <= 0`` means unlimited.
    """

    def __init__(self, rate: float):
        self.rate = float(rate)
        self._allowance = self.rate
        self._last = time.monotonic()

    async def consume(self, amount: float = 1.0) -> None:
        if self.rate <= 0:
            return
        now = time.monotonic()
        self._allowance = min(self.rate, self._allowance + (now - self._last) * self.rate)
        self._last = now
        self._allowance -= amount
        if self._allowance < 0:
            await asyncio.sleep(-self._allowance / self.rate)


class BlockingRateLimiter:
    """The same token bucket for work done in a worker thread: ``consume(n)`` sleeps the calling thread.

    Never use it on an event loop. ``rate <= 0`` means unlimited."""

    def __init__(self, rate: float, sleep: Callable[[float], None] = time.sleep):
        self.rate = float(rate)
        self._sleep = sleep
        self._allowance = self.rate
        self._last = time.monotonic()

    def consume(self, amount: float = 1.0) -> None:
        if self.rate <= 0:
            return
        now = time.monotonic()
        self._allowance = min(self.rate, self._allowance + (now - self._last) * self.rate)
        self._last = now
        self._allowance -= amount
        if self._allowance < 0:
            self._sleep(-self._allowance / self.rate)
