"""Load generator for any Swift endpoint (TempAuth): PUT, GET, DELETE N objects of size S at concurrency C.

Prints ops/s, MB/s, p50/p99 latency per phase and verifies every body it reads back (MD5).

    python -m bench.swift_load --url http://127.0.0.1:8080/auth/v1.0 -U test:tester -K testing \
        --count 2000 --size 4K --concurrency 32
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sys

import aiohttp

from bench.common import add_workload_args, install_uvloop, parse_size, run_workload


async def auth(session: aiohttp.ClientSession, url: str, user: str, key: str) -> tuple[str, str]:
    async with session.get(url, headers={"X-Auth-User": user, "X-Auth-Key": key}) as resp:
        resp.raise_for_status()
        return resp.headers["X-Storage-Url"], resp.headers["X-Auth-Token"]


async def main_async(args) -> int:
    size = parse_size(args.size)
    connector = aiohttp.TCPConnector(limit=args.concurrency * 2)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        storage_url, token = await auth(session, args.url, args.user, args.key)
        hdrs = {"X-Auth-Token": token}
        container = f"{storage_url}/{args.container}"
        async with session.put(container, headers=hdrs) as resp:
            assert resp.status in (201, 202), resp.status

        async def put(i: int, body: bytes) -> str:
            async with session.put(f"{container}/obj-{i:08d}", data=body, headers=hdrs) as resp:
                if resp.status != 201:
                    raise RuntimeError(f"PUT {resp.status}")
                return resp.headers.get("Etag", "")

        async def get(i: int) -> str:
            md5 = hashlib.md5()
            async with session.get(f"{container}/obj-{i:08d}", headers=hdrs) as resp:
                if resp.status != 200:
                    raise RuntimeError(f"GET {resp.status}")
                async for chunk in resp.content.iter_chunked(1 << 20):
                    md5.update(chunk)
            return md5.hexdigest()

        async def delete(i: int) -> None:
            async with session.delete(f"{container}/obj-{i:08d}", headers=hdrs) as resp:
                if resp.status != 204:
                    raise RuntimeError(f"DELETE {resp.status}")

        print(f"# Swift: {args.count} x {args.size} objects, concurrency {args.concurrency}, {storage_url}")
        return await run_workload(args, size, put, get, delete)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8080/auth/v1.0", help="TempAuth v1.0 URL")
    parser.add_argument("-U", "--user", default="test:tester")
    parser.add_argument("-K", "--key", default="testing")
    parser.add_argument("--container", default="bench")
    add_workload_args(parser)
    args = parser.parse_args(argv)
    install_uvloop()
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
