"""Load generator for any Swift endpoint (TempAuth): PUT, GET, DELETE N objects of size S at concurrency C.

Prints ops/s, MB/s, p50/p99 latency per phase and verifies every body it reads back (MD5).

    python -m bench.swift_load --url http://127.0.0.1:8080/auth/v1.0 -U test:tester -K testing \
        --count 2000 --size 4K --concurrency 32
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import statistics
import sys
import time

import aiohttp

SUFFIXES = {"k": 1024, "m": 1024**2, "g": 1024**3}


def parse_size(text: str) -> int:
    text = text.strip().lower().removesuffix("b").removesuffix("i")
    if text and text[-1] in SUFFIXES:
        return int(float(text[:-1]) * SUFFIXES[text[-1]])
    return int(text)


class Payloads:
    """Distinct bodies of one size without holding N of them: object i = 8-byte index + shared random tail."""

    def __init__(self, size: int):
        self.size = size
        self.tail = os.urandom(max(0, size - 8))

    def body(self, i: int) -> bytes:
        return (i.to_bytes(8, "big") + self.tail)[: self.size]


async def auth(session: aiohttp.ClientSession, url: str, user: str, key: str) -> tuple[str, str]:
    async with session.get(url, headers={"X-Auth-User": user, "X-Auth-Key": key}) as resp:
        resp.raise_for_status()
        return resp.headers["X-Storage-Url"], resp.headers["X-Auth-Token"]


def report(phase: str, latencies: list[float], elapsed: float, size: int, errors: int) -> dict:
    n = len(latencies)
    lat = sorted(latencies)
    p50 = statistics.median(lat) * 1000 if lat else 0.0
    p99 = lat[min(n - 1, int(n * 0.99))] * 1000 if lat else 0.0
    ops = n / elapsed if elapsed else 0.0
    row = {"phase": phase, "ops": ops, "mbps": ops * size / 1e6, "p50_ms": p50, "p99_ms": p99, "errors": errors}
    print(f"{phase:6s} {n:6d} ok {errors:4d} err  {ops:9.1f} ops/s  {row['mbps']:8.1f} MB/s  "
          f"p50 {p50:8.1f} ms  p99 {p99:8.1f} ms", flush=True)
    return row


async def run_phase(name, count, concurrency, op) -> tuple[list[float], float, int]:
    latencies: list[float] = []
    errors = 0
    queue = iter(range(count))

    async def worker():
        nonlocal errors
        for i in queue:
            t0 = time.perf_counter()
            try:
                await op(i)
                latencies.append(time.perf_counter() - t0)
            except Exception as exc:  # counted and shown once; a benchmark must not stop at one failure
                errors += 1
                if errors <= 3:
                    print(f"{name} {i}: {exc!r}", file=sys.stderr)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - start, errors


async def main_async(args) -> int:
    size = parse_size(args.size)
    payloads = Payloads(size)
    connector = aiohttp.TCPConnector(limit=args.concurrency * 2)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        storage_url, token = await auth(session, args.url, args.user, args.key)
        hdrs = {"X-Auth-Token": token}
        container = f"{storage_url}/{args.container}"
        async with session.put(container, headers=hdrs) as resp:
            assert resp.status in (201, 202), resp.status
        etags: dict[int, str] = {}

        async def put(i):
            body = payloads.body(i)
            md5 = hashlib.md5(body).hexdigest()
            async with session.put(f"{container}/obj-{i:08d}", data=body, headers=hdrs) as resp:
                if resp.status != 201:
                    raise RuntimeError(f"PUT {resp.status}")
                if resp.headers.get("Etag", "").strip('"') != md5:
                    raise RuntimeError("PUT etag mismatch")
            etags[i] = md5

        async def get(i):
            md5 = hashlib.md5()
            async with session.get(f"{container}/obj-{i:08d}", headers=hdrs) as resp:
                if resp.status != 200:
                    raise RuntimeError(f"GET {resp.status}")
                async for chunk in resp.content.iter_chunked(1 << 20):
                    md5.update(chunk)
            if md5.hexdigest() != etags.get(i):
                raise RuntimeError("GET body differs from what was PUT")

        async def delete(i):
            async with session.delete(f"{container}/obj-{i:08d}", headers=hdrs) as resp:
                if resp.status != 204:
                    raise RuntimeError(f"DELETE {resp.status}")

        print(f"# {args.count} x {args.size} objects, concurrency {args.concurrency}, {storage_url}")
        failures = 0
        for name, op in (("PUT", put), ("GET", get), ("DELETE", delete)):
            if name == "DELETE" and args.keep:
                continue
            lat, elapsed, errors = await run_phase(name, args.count, args.concurrency, op)
            report(name, lat, elapsed, size, errors)
            failures += errors
        return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8080/auth/v1.0", help="TempAuth v1.0 URL")
    parser.add_argument("-U", "--user", default="test:tester")
    parser.add_argument("-K", "--key", default="testing")
    parser.add_argument("--container", default="bench")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--size", default="4K", help="object size: 4K, 1M, 64M, ...")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--keep", action="store_true", help="skip the DELETE phase")
    args = parser.parse_args(argv)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
