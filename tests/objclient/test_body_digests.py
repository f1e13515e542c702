"""objclient.body_digests: a streamed body's MD5 and xxh3-64, hashed in a thread while it passes."""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from collections.abc import AsyncIterator

import pytest
import xxhash

from objclient import body_digests
from objclient.body_digests import BodyDigests
from stackstore import wire


async def _chunks(parts: list[bytes], pause_every: int = 0) -> AsyncIterator[bytes]:
    for i, part in enumerate(parts):
        if pause_every and i % pause_every == 0:
            await asyncio.sleep(0)
        yield part


def _expected(parts: list[bytes]) -> dict[str, str]:
    whole = b"".join(parts)
    return {wire.BODY_MD5: hashlib.md5(whole).hexdigest(), wire.BODY_XXH3: xxhash.xxh3_64(whole).hexdigest()}


async def _run(parts: list[bytes], digests: BodyDigests) -> list[bytes]:
    return [chunk async for chunk in digests.wrap(_chunks(parts, pause_every=3))]


@pytest.mark.parametrize("sizes", [
    [],                                  # an empty body
    [10],                                # one small chunk: hashed inline at the end
    [65536] * 40,                        # many chunks, batched into the thread
    [1 << 20] * 20,                      # past BACKLOG_MAX: the sender waits for the thread
    [1, 70000, 3, 1 << 20, 5, 200000],   # uneven
])
def test_digests_match_the_whole_body(sizes: list[int]) -> None:
    parts = [os.urandom(n) for n in sizes]
    digests = BodyDigests()
    passed = asyncio.run(_run(parts, digests))
    assert passed == parts  # the body passes unchanged, in order
    footer = digests.footer(lambda: {"X-Object-Sysmeta-Other": "kept"})()
    assert footer == {"X-Object-Sysmeta-Other": "kept", **_expected(parts)}


def test_mutable_chunks_are_hashed_as_they_were_sent() -> None:
    """A reused buffer changed after it passed must not change the digest (the thread hashes later)."""
    buf = bytearray(os.urandom(200000))
    sent: list[bytes] = []

    async def reused() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield buf  # type: ignore[misc]  # a bytearray, as a careless producer might send
            sent.append(bytes(buf))
            buf[:] = os.urandom(len(buf))

    async def run() -> BodyDigests:
        digests = BodyDigests()
        async for _ in digests.wrap(reused()):
            pass
        return digests

    digests = asyncio.run(run())
    assert digests.footer(None)() == _expected(sent)


def test_large_bodies_are_hashed_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: set[str] = set()
    plain_hash = BodyDigests._hash

    def recording(self: BodyDigests, chunks: list[bytes]) -> None:
        if chunks:
            threads.add(threading.current_thread().name)
        plain_hash(self, chunks)

    monkeypatch.setattr(BodyDigests, "_hash", recording)
    parts = [os.urandom(1 << 20) for _ in range(8)]
    digests = BodyDigests()
    asyncio.run(_run(parts, digests))
    assert digests.footer(None)() == _expected(parts)
    assert threads and all(name.startswith("body-digests") for name in threads)


def test_a_forked_child_gets_its_own_hashing_threads() -> None:
    pool = body_digests.hashing_pool()
    assert body_digests.hashing_pool() is pool
    pid = os.fork()
    if pid == 0:  # the child: the parent's threads do not exist here
        os._exit(0 if body_digests.hashing_pool() is not pool else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
