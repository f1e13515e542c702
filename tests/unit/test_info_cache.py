"""proxy/infocache.py: one read per container at a time, every read asking for the newest copy, and a local
write's invalidation never overwritten by a read that started before it."""

from __future__ import annotations

import asyncio
from typing import Any

from objclient.client import BackendResponse
from proxy.infocache import InfoCache
from stackstore import wire


class SlowContainers:
    """A storage client whose container HEADs take a moment and answer the current read ACL."""

    def __init__(self) -> None:
        self.heads: list[dict[str, str]] = []
        self.read_acl = ".r:*"
        self.gate = asyncio.Event()  # opens every read
        self.gates: list[asyncio.Event] = []  # or one read's own

    async def head_container(self, account: str, container: str, headers: Any = None) -> BackendResponse:
        self.heads.append(dict(headers or {}))
        seen = self.read_acl  # what the replicas hold when the read starts
        own = asyncio.Event()
        self.gates.append(own)
        await asyncio.wait([asyncio.ensure_future(self.gate.wait()), asyncio.ensure_future(own.wait())],
                           return_when=asyncio.FIRST_COMPLETED)
        return BackendResponse.simple(204, {"X-Container-Read": seen})

    async def head_account(self, account: str, headers: Any = None) -> BackendResponse:
        self.heads.append(dict(headers or {}))
        return BackendResponse.simple(204, {"X-Account-Meta-Color": "blue"})


def test_concurrent_misses_share_one_read_of_the_newest_copy():
    async def run() -> None:
        client = SlowContainers()
        cache = InfoCache(client)  # type: ignore[arg-type]
        waiters = [asyncio.ensure_future(cache.container_info("AUTH_a", "c")) for _ in range(20)]
        await asyncio.sleep(0)
        client.gate.set()
        infos = await asyncio.gather(*waiters)
        assert {info["read_acl"] for info in infos} == {".r:*"}
        assert client.heads == [dict(wire.READ_NEWEST)]  # one read, of every primary
        await cache.container_info("AUTH_a", "c")
        assert len(client.heads) == 1  # cached
        assert (await cache.account_info("AUTH_a"))["meta"] == {"color": "blue"}
        assert client.heads[-1] == dict(wire.READ_NEWEST)

    asyncio.run(run())


def test_a_read_that_started_before_an_invalidation_is_not_cached():
    async def run() -> None:
        client = SlowContainers()
        cache = InfoCache(client)  # type: ignore[arg-type]
        before = asyncio.ensure_future(cache.container_info("AUTH_a", "c"))
        while not client.heads:  # its read has started
            await asyncio.sleep(0)
        client.read_acl = ""  # a local write revokes the ACL...
        cache.invalidate("AUTH_a", "c")  # ...and invalidates
        after = asyncio.ensure_future(cache.container_info("AUTH_a", "c"))
        while len(client.heads) < 2:
            await asyncio.sleep(0)
        client.gates[1].set()  # the read after the write answers first, the one before it last
        assert (await after)["read_acl"] == ""
        client.gates[0].set()
        assert (await before)["read_acl"] == ".r:*"  # read before the write: its caller sees the old ACL
        assert (await cache.container_info("AUTH_a", "c"))["read_acl"] == ""  # and only the new one is cached
        assert len(client.heads) == 2

    asyncio.run(run())


def test_a_cancelled_caller_leaves_the_read_to_the_others():
    async def run() -> None:
        client = SlowContainers()
        cache = InfoCache(client)  # type: ignore[arg-type]
        first = asyncio.ensure_future(cache.container_info("AUTH_a", "c"))
        second = asyncio.ensure_future(cache.container_info("AUTH_a", "c"))
        await asyncio.sleep(0)
        first.cancel()
        client.gate.set()
        assert (await second)["read_acl"] == ".r:*"
        assert len(client.heads) == 1

    asyncio.run(run())
