"""The proxy's own CPU per small Swift request, in process: ``python -m bench.proxy_cpu``.

The whole proxy ASGI app (router, feature pipeline, handlers; not the HTTP protocol, not the internal
client) answers 4 KiB PUT, GET and DELETE requests over a storage client that answers from memory, so
what is measured is the proxy's Python per request, free of sockets, storage nodes and most of the
machine's load: CPU time (``time.process_time``) per request, per phase. ``--profile FILE`` writes a
cProfile of the run instead (call counts per request locate the work). docs/benchmarks.md, session 7.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterable, Mapping, MutableMapping
from typing import Any

from objclient.response import BackendResponse
from proxy.app import ProxyApp, create_app
from proxy.context import ProxyState
from stackstore.config import load_config

BODY = os.urandom(4096)
ETAG = hashlib.md5(BODY).hexdigest()
STAMP = {"x-timestamp": "1700000000.00000", "last-modified": "Tue, 14 Nov 2023 22:13:20 GMT"}


class MemoryClient:
    """Enough of ``StorageClient`` for object PUT/GET/DELETE: every account and container exists."""

    policy_resolver = None

    async def head_account(self, account: str, headers: Mapping[str, str] | None = None) -> BackendResponse:
        return BackendResponse.simple(204, {"x-account-container-count": "1", "x-account-object-count": "0",
                                            "x-account-bytes-used": "0", **STAMP})

    async def head_container(self, account: str, container: str,
                             headers: Mapping[str, str] | None = None) -> BackendResponse:
        return BackendResponse.simple(204, {"x-container-object-count": "0", "x-container-bytes-used": "0",
                                            "x-backend-storage-policy-index": "0", **STAMP})

    async def put_object(self, account: str, container: str, obj: str, headers: Mapping[str, str],
                         body: AsyncIterable[bytes], **kwargs: Any) -> BackendResponse:
        async for _ in body:
            pass
        return BackendResponse.simple(201, {"etag": ETAG, **STAMP})

    async def get_object(self, account: str, container: str, obj: str, headers: Mapping[str, str] | None = None,
                         **kwargs: Any) -> BackendResponse:
        return BackendResponse.simple(200, {"content-length": str(len(BODY)), "etag": ETAG,
                                            "content-type": "application/octet-stream", **STAMP}, BODY)

    head_object = get_object

    async def delete_object(self, account: str, container: str, obj: str, headers: Mapping[str, str] | None = None,
                            **kwargs: Any) -> BackendResponse:
        return BackendResponse.simple(204, {})

    def opening_expired(self) -> MemoryClient:
        return self

    async def close(self) -> None:
        pass


async def call(app: ProxyApp, method: str, path: str, headers: Mapping[str, str],
               body: bytes = b"") -> tuple[int, dict[bytes, bytes]]:
    """One request through the app: (status, response headers)."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
             "server": ("127.0.0.1", 8080), "client": ("127.0.0.1", 5555), "state": {}}
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:  # the request is over: wait as a connection would
            await asyncio.Event().wait()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    answer: dict[str, Any] = {}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"], answer["headers"] = message["status"], dict(message.get("headers", []))

    await app(scope, receive, send)
    return answer["status"], answer["headers"]


async def run(count: int, phases: list[str]) -> dict[str, float]:
    """CPU µs per request of each phase (after 200 unmeasured requests of it)."""
    conf = load_config(environ={})
    conf["cluster"]["hash_path_suffix"] = "bench-suffix"
    app = create_app(conf, ProxyState(conf=conf, client=MemoryClient()))  # type: ignore[arg-type]
    login = {"host": "127.0.0.1:8080", "x-auth-user": "test:tester", "x-auth-key": "testing"}
    _, headers = await call(app, "GET", "/auth/v1.0", login)
    # what the anchor's objload (aiohttp) sends
    base = {"host": "127.0.0.1:8080", "user-agent": "objload", "accept": "*/*", "accept-encoding": "gzip, deflate",
            "x-auth-token": headers[b"x-auth-token"].decode()}
    put = {**base, "content-length": str(len(BODY)), "content-type": "application/octet-stream", "etag": ETAG}
    wanted = {"put": ("PUT", put, BODY, 201), "get": ("GET", base, b"", 200), "delete": ("DELETE", base, b"", 204)}
    results = {}
    for phase in phases:
        method, headers_sent, body, status = wanted[phase]
        for measured in (False, True):
            started = time.process_time()
            for i in range(count if measured else 200):
                got, _ = await call(app, method, f"/v1/AUTH_test/bench/obj{i}", headers_sent, body)
                if got != status:
                    raise SystemExit(f"{method} answered {got}, not {status}")
        results[phase] = (time.process_time() - started) / count * 1e6
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.proxy_cpu", description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000, help="requests per phase")
    parser.add_argument("--phases", nargs="+", default=["put", "get", "delete"], choices=["put", "get", "delete"])
    parser.add_argument("--profile", help="write a cProfile of the run to this file")
    args = parser.parse_args()
    if args.profile:
        import cProfile

        profile = cProfile.Profile()
        results = profile.runcall(asyncio.run, run(args.count, args.phases))
        profile.dump_stats(args.profile)
    else:
        import uvloop

        results = uvloop.run(run(args.count, args.phases))
    print("  ".join(f"{phase} {us:.1f} µs" for phase, us in results.items()), "(proxy CPU per request, in process)")


if __name__ == "__main__":
    main()
