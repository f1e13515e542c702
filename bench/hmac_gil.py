"""Wall time per node-signature HMAC with threads running Python beside it: ``python -m bench.hmac_gil``.

``hmac.digest()`` releases the GIL for any message; taking it back waits for a busy thread (a storage
node's I/O threads), which stalls the event loop. A copy of a pre-keyed HMAC (stackstore/node_signing.py)
keeps the GIL for short messages. docs/benchmarks.md, session 10.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable

KEY = b"k" * 32
MESSAGE = b"x" * 700  # about a signed node request's method, target, time and headers
CALLS = 2000


def _busy(stop: threading.Event) -> None:
    while not stop.is_set():
        sum(range(200))  # Python code: holds the GIL between switch intervals


def _keyed_copy(keyed: hmac.HMAC) -> Callable[[], bytes]:
    def mac() -> bytes:
        one = keyed.copy()
        one.update(MESSAGE)
        return one.digest()
    return mac


def main() -> None:
    """Print µs of wall time per call for each way, with ``busy`` threads 0 and 2."""
    ways: dict[str, Callable[[], bytes]] = {
        "hmac.digest": lambda: hmac.digest(KEY, MESSAGE, "sha256"),
        "keyed copy": _keyed_copy(hmac.new(KEY, digestmod=hashlib.sha256)),
    }
    for busy in (0, 2):
        stop = threading.Event()
        threads = [threading.Thread(target=_busy, args=(stop,)) for _ in range(busy)]
        for t in threads:
            t.start()
        for name, way in ways.items():
            start = time.perf_counter()
            for _ in range(CALLS):
                way()
            print(f"{busy} busy threads  {name:12s} {(time.perf_counter() - start) / CALLS * 1e6:8.1f} µs/call")
        stop.set()
        for t in threads:
            t.join()


if __name__ == "__main__":
    main()
