"""Replication's peer calls (``store.replication.transport``) against a scriptable server on real sockets:
chunked streams, refusals before the body, per-step timeouts."""

from __future__ import annotations

import asyncio
import json

import pytest

from store.replication.transport import PeerError, call_json, stream_upload
from tests.objclient.fakenode import FakeNode, Request
from tests.store.conftest import free_port

HOST = "127.0.0.1"


def run(coro):
    return asyncio.run(coro)


async def pieces(*chunks: bytes):
    for chunk in chunks:
        yield chunk


def test_stream_upload_sends_chunks_and_reads_a_chunked_json_answer():
    got: list[bytes] = []

    async def handler(req: Request):
        assert req.headers["transfer-encoding"] == "chunked"
        got.append(await req.read_body())
        req.respond(200, json.dumps({"written": len(got[-1])}).encode(), chunked=True)

    async def main():
        async with FakeNode(handler) as node:
            big = b"f" * (3 << 20)  # more than the write high-water mark: drains on the way
            for _ in range(2):
                answer = await stream_upload(HOST, node.port, "/replicate/obj/d1/5/sync",
                                             pieces(b"abc", b"", big), timeout=5)
                assert answer == {"written": 3 + len(big)}
            assert got == [b"abc" + big] * 2 and node.connections == 1

    run(main())


def test_stream_upload_refused_before_the_body_is_an_unmounted_peer():
    read = []

    async def body():
        read.append(True)
        yield b"never needed"

    async def handler(req: Request):
        req.respond(507, b"device unmounted")
        return False

    async def main():
        async with FakeNode(handler) as node:
            with pytest.raises(PeerError) as err:
                await stream_upload(HOST, node.port, "/replicate/obj/d1/5/sync", body(), timeout=5)
            assert err.value.unmounted and not read

    run(main())


def test_stream_upload_times_out_per_step():
    async def handler(req: Request):
        await asyncio.sleep(3)  # never says 100 Continue
        return False

    async def main():
        async with FakeNode(handler) as node:
            with pytest.raises(PeerError):
                await asyncio.wait_for(
                    stream_upload(HOST, node.port, "/replicate/obj/d1/5/sync", pieces(b"x"), timeout=0.3), 2)

    run(main())


def test_call_json_answers_statuses_and_unreachable_peers():
    async def handler(req: Request):
        payload = json.loads(await req.read_body())
        if req.path.endswith("full"):
            req.respond(507)
        elif req.path.endswith("garbage"):
            req.respond(200, b"not json")
        else:
            req.respond(200, json.dumps({"echo": payload}).encode())

    async def main():
        async with FakeNode(handler) as node:
            assert await call_json(HOST, node.port, "POST", "/replicate/obj/d1", {"a": [1]}, 2) == {
                "echo": {"a": [1]}}
            with pytest.raises(PeerError) as err:
                await call_json(HOST, node.port, "POST", "/replicate/obj/full", {}, 2)
            assert err.value.unmounted
            with pytest.raises(PeerError):
                await call_json(HOST, node.port, "POST", "/replicate/obj/garbage", {}, 2)
        with pytest.raises(PeerError) as err:
            await call_json(HOST, free_port(), "POST", "/replicate/obj/d1", {}, 2)
        assert err.value.status is None

    run(main())
