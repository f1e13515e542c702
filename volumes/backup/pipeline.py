"""Run a function over a stream of items in a few threads, results in input order, bounded memory."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def ordered_map(fn: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[R]:
    """``map(fn, items)`` with up to ``workers`` calls at once and at most ``2 * workers`` items read
    ahead; an exception of any call is raised in order, and the calls not started are cancelled."""
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="volumes-backup") as pool:
        window: deque[Future[R]] = deque()
        try:
            for item in items:
                window.append(pool.submit(fn, item))
                if len(window) >= 2 * max(1, workers):
                    yield window.popleft().result()
            while window:
                yield window.popleft().result()
        finally:
            for future in window:
                future.cancel()
