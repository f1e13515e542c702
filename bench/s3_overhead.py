"""What the S3 API costs the proxy over the Swift API, counted rather than timed: ``python -m bench.s3_overhead``.

The proxy app runs in this process against the storage nodes of a running cloud (``stackstore up``; pass its
``stackstore.effective.toml``) and answers the same 4 KiB GET (or PUT) over the Swift API and over S3, one
request at a time. While they run, every Python opcode executed and every C function called is counted
(``sys.settrace`` with ``f_trace_opcodes``, ``sys.setprofile``): the counts do not change with the machine's
load, which on a shared 2-core VM moves timings by ±30% between runs, so a change of a few microseconds is
visible. The info cache keeps its entries for the run: a refresh every 5 s is no per-request cost, but under
tracing it would land in each run a different number of times. The counts include the test client's own work
(httpx builds and parses more headers for S3: about 1,350 opcodes of a GET's difference). ``--by-file N``
shows the N files whose counts differ most, ``--lines SUFFIX`` the lines of files ending with SUFFIX
(``.py``: all), ``--callers NAME`` where functions of that name are called from. docs/benchmarks.md, session 13.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import linecache
import random
import sys
from collections.abc import Awaitable, Callable, Collection
from types import FrameType
from typing import Any

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from proxy.app import create_app
from stackstore.config import load_config

BODY = b"y" * 4096
BASE = "http://127.0.0.1:8080"


class Counter:
    """Opcodes and C calls while enabled, by file and by line (the lines of files ending with ``lines``)."""

    def __init__(self, lines: str | None, callers_of: str | None = None):
        self.lines = lines
        self.callers_of = callers_of
        self.callers: collections.Counter[tuple[str, str, int]] = collections.Counter()
        self.opcodes = 0
        self.c_calls = 0
        self.by_file: collections.Counter[str] = collections.Counter()
        self.by_line: collections.Counter[tuple[str, int]] = collections.Counter()
        self.by_function: collections.Counter[tuple[str, str]] = collections.Counter()

    def _local(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event == "opcode":
            self.opcodes += 1
            name = frame.f_code.co_filename
            self.by_file[name] += 1
            self.by_function[(name, frame.f_code.co_name)] += 1
            if self.lines and name.endswith(self.lines):
                self.by_line[(name, frame.f_lineno or 0)] += 1  # None inside some generated code
        return self._local

    def _trace(self, frame: FrameType, event: str, arg: Any) -> Any:
        frame.f_trace_opcodes = True
        if self.callers_of is not None and frame.f_code.co_name == self.callers_of and frame.f_back is not None:
            back = frame.f_back
            self.callers[(back.f_code.co_filename, back.f_code.co_name, back.f_lineno or 0)] += 1
        return self._local

    def _profile(self, frame: FrameType, event: str, arg: Any) -> None:
        if event == "c_call":
            self.c_calls += 1

    async def run(self, calls: Callable[[int], Awaitable[httpx.Response | int]], count: int,
                  expected: Collection[int] = (200, 201)) -> None:
        """Count while ``calls(i)`` runs for i < ``count``; each answers a response or its status (else exit)."""
        sys.settrace(self._trace)
        sys.setprofile(self._profile)
        try:
            for i in range(count):
                resp = await calls(i)
                status = resp if isinstance(resp, int) else resp.status_code
                if status not in expected:
                    raise SystemExit(f"request {i}: {status} {'' if isinstance(resp, int) else resp.text[:200]}")
        finally:
            sys.settrace(None)
            sys.setprofile(None)


def _s3_headers(creds: Credentials, method: str, path: str, **extra: str) -> dict[str, str]:
    req = AWSRequest(method=method, url=BASE + path, headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD", **extra})
    SigV4Auth(creds, "s3", "us-east-1").add_auth(req)
    return dict(req.headers.items())


async def measure(config: str, op: str, count: int, lines: str | None,
                  callers_of: str | None = None) -> dict[str, Counter]:
    app = create_app(load_config(config))
    await app.startup()
    assert app.state is not None
    # traced requests run ~20x slower: with the usual 5 s, the info cache would expire (and read every primary)
    # several times within a run, and how often would depend on the machine's speed, not on the code
    app.state.info_cache.ttl = 3600.0
    run = random.randrange(1 << 30)  # PUTs write new names on every run
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        auth = await client.get("/auth/v1.0", headers={"X-Auth-User": "test:tester", "X-Auth-Key": "testing"})
        token = {"X-Auth-Token": auth.headers["x-auth-token"]}
        account_path = "/" + auth.headers["x-storage-url"].split("/", 3)[3]
        creds = Credentials("test:tester", "testing")
        await client.put(f"{account_path}/overhead-swift", headers=token)
        await client.put(f"{account_path}/overhead-swift/o", headers=token, content=BODY)
        await client.put("/overhead-s3", headers=_s3_headers(creds, "PUT", "/overhead-s3"))
        await client.put("/overhead-s3/o", headers=_s3_headers(creds, "PUT", "/overhead-s3/o"), content=BODY)
        names = [f"p{run}-{i}" for i in range(count + 20)]
        if op == "put":
            signed = [_s3_headers(creds, "PUT", f"/overhead-s3/{n}", **{"Content-Length": "4096"}) for n in names]
        else:
            signed = [_s3_headers(creds, "GET", "/overhead-s3/o") for _ in names]

        def swift(i: int) -> Awaitable[httpx.Response]:
            if op == "put":
                return client.put(f"{account_path}/overhead-swift/{names[i]}", headers=token, content=BODY)
            return client.get(f"{account_path}/overhead-swift/o", headers=token)

        def s3(i: int) -> Awaitable[httpx.Response]:
            if op == "put":
                return client.put(f"/overhead-s3/{names[i]}", headers=signed[i], content=BODY)
            return client.get("/overhead-s3/o", headers=signed[i])

        counters = {}
        for api, calls in (("swift", swift), ("s3", s3)):
            for i in range(count, count + 20):  # warm: caches filled, imports done
                await calls(i)
            counters[api] = Counter(lines, callers_of)
            await counters[api].run(calls, count)
    return counters


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.s3_overhead", description=__doc__.splitlines()[0])
    parser.add_argument("config", help="the running cloud's stackstore.effective.toml")
    parser.add_argument("--op", choices=["get", "put"], default="get")
    parser.add_argument("--count", type=int, default=100, help="requests per API")
    parser.add_argument("--by-file", type=int, default=0, metavar="N")
    parser.add_argument("--lines", metavar="SUFFIX")
    parser.add_argument("--by-function", type=int, default=0, metavar="N",
                        help="the N functions whose own opcodes differ most")
    parser.add_argument("--callers", metavar="FUNCTION",
                        help="where the functions named FUNCTION are called from, and how often per request")
    args = parser.parse_args()
    counters = asyncio.run(measure(args.config, args.op, args.count, args.lines, args.callers))
    n = args.count
    swift, s3 = counters["swift"], counters["s3"]
    for api, c in counters.items():
        print(f"{api:5} {args.op.upper()}: {c.opcodes / n:8.0f} opcodes {c.c_calls / n:6.0f} C calls per request")
    extra_opcodes, extra_calls = (s3.opcodes - swift.opcodes) / n, (s3.c_calls - swift.c_calls) / n
    print(f"S3 - Swift: {extra_opcodes:8.0f} opcodes {extra_calls:6.0f} C calls")
    for name in sorted(set(swift.by_file) | set(s3.by_file),
                       key=lambda f: swift.by_file[f] - s3.by_file[f])[:args.by_file]:
        print(f"{(s3.by_file[name] - swift.by_file[name]) / n:8.0f}  {name}")
    for name, function in sorted(set(swift.by_function) | set(s3.by_function),
                                 key=lambda k: swift.by_function[k] - s3.by_function[k])[:args.by_function]:
        delta = (s3.by_function[(name, function)] - swift.by_function[(name, function)]) / n
        print(f"{delta:8.0f}  {'/'.join(name.rsplit('/', 2)[-2:])} {function}")
    if args.callers:
        for where in sorted(set(swift.callers) | set(s3.callers), key=lambda k: swift.callers[k] - s3.callers[k]):
            name, function, line = where
            print(f"{(s3.callers[where] - swift.callers[where]) / n:6.1f} calls  "
                  f"{'/'.join(name.rsplit('/', 2)[-2:])}:{line} {function}")
    if args.lines:
        for name, line in sorted(set(swift.by_line) | set(s3.by_line),
                                 key=lambda k: swift.by_line[k] - s3.by_line[k])[:60]:
            delta = (s3.by_line[(name, line)] - swift.by_line[(name, line)]) / n
            print(f"{delta:8.0f}  {name.rsplit('/', 2)[-2]}/{name.rsplit('/', 1)[-1]}:{line}  "
                  f"{linecache.getline(name, line).strip()[:90]}")


if __name__ == "__main__":
    main()
