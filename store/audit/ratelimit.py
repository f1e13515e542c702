"""Token buckets for background work (bytes or items per second): on the event loop (``RateLimiter``)
and in worker threads (``BlockingRateLimiter``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class _TokenBucket:
    """The arithmetic both limiters share: a burst of up to one second's worth, ``rate <= 0`` unlimited."""

    def __init__(self, rate: float):
        self.rate = float(rate)
        self._allowance = self.rate
        self._last = time.monotonic()

    def _take(self, amount: float) -> float:
        """Take ``amount`` units; the seconds to wait before the work may go on (0: none)."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        self._allowance = min(self.rate, self._allowance + (now - self._last) * self.rate)
        self._last = now
        self._allowance -= amount
        return -self._allowance / self.rate if self._allowance < 0 else 0.0


class RateLimiter(_TokenBucket):
    """``await consume(n)`` sleeps as needed to keep the long-run rate at ``rate`` units/s.

    A burst of up to one second's worth is allowed; ``rate <= 0`` means unlimited.
    """

    async def consume(self, amount: float = 1.0) -> None:
        """Wait (on the event loop) until ``amount`` more units keep the rate."""
        wait = self._take(amount)
        if wait:
            await asyncio.sleep(wait)


class BlockingRateLimiter(_TokenBucket):
    """The same token bucket for work done in a worker thread: ``consume(n)`` sleeps the calling thread.

    Never use it on an event loop. ``rate <= 0`` means unlimited."""

    def __init__(self, rate: float, sleep: Callable[[float], None] = time.sleep):
        super().__init__(rate)
        self._sleep = sleep

    def consume(self, amount: float = 1.0) -> None:
        """Sleep the calling thread until ``amount`` more units keep the rate."""
        wait = self._take(amount)
        if wait:
            self._sleep(wait)
