"""The MD5 and xxh3-64 of a streamed PUT body, computed in a hashing thread while the body is sent.

Hashing costs about 1.2 ms of CPU per MiB (MD5); on the event loop it stalls every other request of the
process for that long and caps one proxy process at roughly 600-800 MB/s of PUTs. ``hashlib`` and
``xxhash`` release the GIL for large buffers, so the hashing runs in parallel with the loop, which only
moves bytes. Chunks are handed over in batches of at least ``HAND_OVER_MIN`` bytes: at most one batch per
body is being hashed, and whatever arrives meanwhile forms the next batch, so a fast sender costs one
thread hop per batch, not per chunk.
The loop never waits for the thread unless the backlog passes ``BACKLOG_MAX`` (bounded memory) or the body
has ended (the footer needs the digests).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor

import xxhash

from stackstore import wire

Footer = Callable[[], Mapping[str, str]]  # sysmeta known once the body was read

HAND_OVER_MIN = 512 << 10  # smallest batch handed to the thread while the body flows (fewer thread hops)
BACKLOG_MAX = 4 << 20  # received bytes not yet hashed before the sender waits for the hashing thread
INLINE_MAX = 64 << 10  # a last batch this small is hashed on the loop: cheaper than a thread hop
HASHING_THREADS = max(2, min(4, os.cpu_count() or 2))

_pool: ThreadPoolExecutor | None = None
_pool_pid = 0
_pool_lock = threading.Lock()


def hashing_pool() -> ThreadPoolExecutor:
    """The process's hashing threads (created on first use, again in a forked child)."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = ThreadPoolExecutor(HASHING_THREADS, thread_name_prefix="body-digests")
            _pool_pid = os.getpid()
        return _pool


class BodyDigests:
    """The MD5 (the ETag) and xxh3-64 of a streamed body, computed as it is sent and carried in its
    footer (``wire.BODY_DIGESTS``): each replica then checks the body with xxh3 instead of hashing it with
    MD5 itself. The hashing runs in ``hashing_pool`` threads, one batch at a time per body (in order)."""

    def __init__(self, pool: ThreadPoolExecutor | None = None) -> None:
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.xxh3 = xxhash.xxh3_64()
        self._pool = pool
        self._batch: list[bytes] = []
        self._batch_len = 0
        self._job: Future[None] | None = None

    def _hash(self, chunks: list[bytes]) -> None:
        # one buffer per batch: each update releases and retakes the GIL, and retaking it from a busy
        # event loop is what costs (a join of 1 MiB or more copies without holding the GIL)
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self.md5.update(data)
        self.xxh3.update(data)

    def _hand_over(self) -> None:
        """Start hashing the current batch in a thread (the previous job is done)."""
        if self._job is not None:
            self._job.result()  # a hashing error surfaces here (it cannot happen with bytes)
        batch, self._batch, self._batch_len = self._batch, [], 0
        if self._pool is None:
            self._pool = hashing_pool()
        self._job = self._pool.submit(self._hash, batch)

    async def _wait_job(self) -> None:
        if self._job is not None and not self._job.done():
            await asyncio.wrap_future(self._job)

    async def wrap(self, body: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
        """``body``, hashed as it passes; when it ends, both digests are complete."""
        async for chunk in body:
            if not isinstance(chunk, bytes):  # a reused buffer could change under the hashing thread
                chunk = bytes(chunk)
            self._batch.append(chunk)
            self._batch_len += len(chunk)
            if self._batch_len < HAND_OVER_MIN:
                pass
            elif self._job is None or self._job.done():
                self._hand_over()
            elif self._batch_len >= BACKLOG_MAX:
                await self._wait_job()
                self._hand_over()
            yield chunk
        await self._wait_job()
        if self._job is not None:
            self._job.result()
        if self._batch_len > INLINE_MAX:
            self._hand_over()
            await self._wait_job()
            self._job.result()  # type: ignore[union-attr]  # set by _hand_over
        else:
            self._hash(self._batch)
        self._batch, self._batch_len = [], 0

    def footer(self, footer: Footer | None) -> Footer:
        """``footer`` plus the digests of the body (called once the whole body went through ``wrap``)."""
        def with_digests() -> Mapping[str, str]:
            out = dict(footer()) if footer is not None else {}
            out[wire.BODY_MD5] = self.md5.hexdigest()
            out[wire.BODY_XXH3] = self.xxh3.hexdigest()
            return out
        return with_digests
