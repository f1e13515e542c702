"""Calling an ASGI app directly, and finding the reference cycles requests leave behind.

The proxy and the storage nodes run with a young generation of 20,000 objects (stackstore/collector.py)
because their requests free everything they allocate by reference counting: a cycle made on every request
would pile up between collections. The tests (tests/proxy and tests/store ``test_no_reference_cycles``) send
requests straight through ASGI (an HTTP client library would add cycles of its own) with the collector paused
and ``gc.DEBUG_SAVEALL`` set, then collect: whatever the collector finds was in a cycle.

They run on uvloop, the event loop the proxy and the nodes serve on: the standard library's selector transports
hold their own bound read method, so every connection closed under it (a pooled connection idle past its
timeout, which a slow machine reaches in the middle of the requests) would be a cycle that production never makes.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import gc
from collections.abc import Awaitable, Callable, Iterator
from typing import Any
from urllib.parse import unquote

import uvloop


async def asgi(app: Any, method: str, target: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, bytes]:
    """One request to an ASGI app, as uvicorn would hand it over: (status, body)."""
    path, _, query = target.partition("?")
    fields = {"host": "localhost", **{k.lower(): v for k, v in headers.items()}}
    if (body or method in ("PUT", "POST")) and "content-length" not in fields:
        fields["content-length"] = str(len(body))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": unquote(path), "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
             "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in fields.items()],
             "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8080), "state": {}}
    done = asyncio.Event()
    pending = [{"type": "http.request", "body": body, "more_body": False}]
    status, chunks = 0, []

    async def receive() -> dict[str, Any]:
        if pending:
            return pending.pop()
        await done.wait()  # the client stays until its answer is complete
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                done.set()

    await app(scope, receive, send)
    return status, b"".join(chunks)


@contextlib.contextmanager
def cycles_found() -> Iterator[collections.Counter[str]]:
    """Inside the block the collector is paused with ``gc.DEBUG_SAVEALL``; at its end, the types of the objects
    the block left in reference cycles fill the yielded counter (what was in cycles before is collected first)."""
    found: collections.Counter[str] = collections.Counter()
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield found
        gc.collect()
        found.update(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def cycles_made_by(run: Callable[[int], Awaitable[None]], around: Callable[[], Any] = contextlib.nullcontext,
                   count: int = 12) -> collections.Counter[str]:
    """The types of the objects in reference cycles that ``count`` calls of ``run`` left (after a first call
    that fills caches and opens connections), all inside the async context ``around()``."""
    async def main() -> collections.Counter[str]:
        async with around():
            await run(0)
            with cycles_found() as found:
                for i in range(1, count + 1):
                    await run(i)
            return found

    return uvloop.run(main())
