"""store.io_threads.IOThreads: the node's blocking calls in threads, answered on the event loop."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from store.io_threads import IOThreads, run_blocking


def test_run_answers_results_and_errors_on_the_loop() -> None:
    pool = IOThreads(4, "t")

    async def main() -> None:
        loop_thread = threading.current_thread()
        seen: list[threading.Thread] = []

        def work(x: int) -> int:
            seen.append(threading.current_thread())
            return x * 2

        assert await asyncio.gather(*(pool.run(work, i) for i in range(100))) == [i * 2 for i in range(100)]
        assert loop_thread not in seen and all(t.name.startswith("t_") for t in seen)

        def fail() -> None:
            raise OSError(5, "EIO")

        with pytest.raises(OSError):
            await pool.run(fail)
        assert await run_blocking(pool, divmod, 7, 2) == (3, 1)
        assert await run_blocking(None, divmod, 7, 2) == (3, 1)  # any other executor: run_in_executor

    asyncio.run(main())
    pool.shutdown()


def test_threads_are_started_as_needed_up_to_the_maximum() -> None:
    pool = IOThreads(3, "t")
    gate = threading.Event()

    async def main() -> None:
        calls = [pool.run(gate.wait, 5) for _ in range(5)]  # all block: 3 threads, 2 calls queued
        await asyncio.sleep(0.1)
        assert len(pool._threads) == 3
        gate.set()
        assert await asyncio.gather(*calls) == [True] * 5

    asyncio.run(main())
    pool.shutdown()
    assert not any(t.is_alive() for t in pool._threads)


def test_a_call_cancelled_while_queued_does_not_run() -> None:
    pool = IOThreads(1, "t")
    gate = threading.Event()
    ran: list[int] = []

    async def main() -> None:
        busy = pool.run(gate.wait, 5)
        queued = pool.run(ran.append, 1)
        queued.cancel()
        gate.set()
        await busy
        assert await pool.run(ran.append, 2) is None

    asyncio.run(main())
    pool.shutdown()
    assert ran == [2]


def test_submit_is_a_concurrent_futures_executor() -> None:
    pool = IOThreads(2, "t")
    assert pool.submit(pow, 2, 10).result(timeout=5) == 1024
    assert pool.submit(sorted, [3, 1, 2], reverse=True).result(timeout=5) == [3, 2, 1]
    with pytest.raises(ZeroDivisionError):
        pool.submit(divmod, 1, 0).result(timeout=5)

    async def via_loop() -> float:
        return await asyncio.get_running_loop().run_in_executor(pool, time.monotonic)

    assert asyncio.run(via_loop()) > 0
    pool.shutdown(wait=True)
    with pytest.raises(RuntimeError):
        pool.submit(pow, 2, 2)
