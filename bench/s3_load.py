"""Load generator for any S3 endpoint: PUT, GET, DELETE N objects of size S at concurrency C (SigV4).

Requests are signed with botocore's SigV4 signer (``UNSIGNED-PAYLOAD``, as rclone sends) and sent with
aiohttp so the client is not the bottleneck. Every GET body is verified (MD5).

    python -m bench.s3_load --endpoint http://127.0.0.1:8080 --access-key test:tester --secret testing \
        --count 2000 --size 4K --concurrency 32
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sys
from urllib.parse import quote

import aiohttp
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from bench.common import add_workload_args, install_uvloop, parse_size, run_workload


class _UnsignedPayloadAuth(S3SigV4Auth):
    def _should_sha256_sign_payload(self, request) -> bool:  # botocore signs the body over plain HTTP
        return False


class Signer:
    """Adds SigV4 headers to a request (path-style, unsigned payload)."""

    def __init__(self, access_key: str, secret: str, region: str):
        self.auth = _UnsignedPayloadAuth(Credentials(access_key, secret), "s3", region)

    def headers(self, method: str, url: str) -> dict[str, str]:
        req = AWSRequest(method=method, url=url)
        self.auth.add_auth(req)
        return dict(req.headers.items())


async def main_async(args) -> int:
    size = parse_size(args.size)
    signer = Signer(args.access_key, args.secret, args.region)
    connector = aiohttp.TCPConnector(limit=args.concurrency * 2)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=120)
    base = f"{args.endpoint.rstrip('/')}/{quote(args.bucket)}"
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=False) as session:
        async with session.put(base, headers=signer.headers("PUT", base)) as resp:
            if resp.status not in (200, 409):
                raise SystemExit(f"CreateBucket: {resp.status} {await resp.text()}")

        def url(i: int) -> str:
            return f"{base}/obj-{i:08d}"

        async def put(i: int, body: bytes) -> str:
            async with session.put(url(i), data=body, headers=signer.headers("PUT", url(i))) as resp:
                if resp.status != 200:
                    raise RuntimeError(f"PUT {resp.status}")
                return resp.headers.get("ETag", "")

        async def get(i: int) -> str:
            md5 = hashlib.md5()
            async with session.get(url(i), headers=signer.headers("GET", url(i))) as resp:
                if resp.status != 200:
                    raise RuntimeError(f"GET {resp.status}")
                async for chunk in resp.content.iter_chunked(1 << 20):
                    md5.update(chunk)
            return md5.hexdigest()

        async def delete(i: int) -> None:
            async with session.delete(url(i), headers=signer.headers("DELETE", url(i))) as resp:
                if resp.status != 204:
                    raise RuntimeError(f"DELETE {resp.status}")

        print(f"# S3: {args.count} x {args.size} objects, concurrency {args.concurrency}, {base}")
        return await run_workload(args, size, put, get, delete)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", default="http://127.0.0.1:8080")
    parser.add_argument("--access-key", default="test:tester")
    parser.add_argument("--secret", default="testing")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--bucket", default="bench-s3")
    add_workload_args(parser)
    args = parser.parse_args(argv)
    install_uvloop()
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
