"""Failed-login throttling for ``POST /v3/auth/tokens``: per (user reference, client address).

After ``max_failures`` failures within ``window`` seconds the pair is refused (429 with Retry-After) until
its oldest counted failure ages out, even with the right password; a success clears the pair. Memory is
bounded: at most ``max_entries`` pairs are tracked, the least recently failed is forgotten first.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque


class LoginThrottle:
    def __init__(self, max_failures: int, window: float, max_entries: int = 10000):
        self.max_failures = max_failures
        self.window = window
        self.max_entries = max_entries
        self._failures: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def retry_after(self, user: str, address: str, now: float | None = None) -> int:
        """Seconds until ``user`` may try again from ``address`` (0: now)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            times = self._recent((user, address), now)
            if times is None or len(times) < self.max_failures:
                return 0
            return max(1, int(times[0] + self.window - now + 0.999))

    def failed(self, user: str, address: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        key = (user, address)
        with self._lock:
            times = self._recent(key, now) or deque(maxlen=self.max_failures)
            times.append(now)
            self._failures[key] = times
            self._failures.move_to_end(key)
            while len(self._failures) > self.max_entries:
                self._failures.popitem(last=False)

    def succeeded(self, user: str, address: str) -> None:
        with self._lock:
            self._failures.pop((user, address), None)
