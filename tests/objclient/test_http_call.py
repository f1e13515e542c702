"""``Pool.call`` (small node-to-node requests) and ``loop_pool`` over real loopback sockets."""

from __future__ import annotations

import asyncio
import threading

import pytest

from objclient.http import BodyTooLarge, HttpError, NodeTimeout, Pool
from objclient.loop_pool import loop_pool
from tests.objclient.fakenode import FakeNode, Request

HOST = "127.0.0.1"


def run(coro):
    return asyncio.run(coro)


def test_chunked_answers_are_decoded_and_the_connection_is_reused():
    async def handler(req: Request):
        body = await req.read_body()
        if req.path == "/chunked":
            req.respond(200, b'{"answer": "' + b"c" * 50 + b'"}', chunked=True)
        else:
            req.respond(201, body.upper(), headers={"X-Echo": req.headers.get("x-a", "")})

    async def main():
        async with FakeNode(handler) as node:
            pool = Pool()
            for _ in range(3):
                reply = await pool.call(HOST, node.port, "GET", "/chunked", timeout=2)
                assert reply.status == 200 and reply.body == b'{"answer": "' + b"c" * 50 + b'"}'
                reply = await pool.call(HOST, node.port, "PUT", "/x", {"X-A": 7}, b"hello", timeout=2)
                assert reply.status == 201 and reply.body == b"HELLO" and reply.headers["x-echo"] == "7"
            assert node.connections == 1  # six requests, one keep-alive connection
            await pool.close()

    run(main())


def test_body_without_content_length_is_read_to_eof_but_bounded():
    async def handler(req: Request):
        size = int(req.path.strip("/"))
        req.writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
        for _ in range(size // 65536):
            req.writer.write(b"z" * 65536)
            await req.writer.drain()
        return False

    async def main():
        async with FakeNode(handler) as node:
            pool = Pool()
            reply = await pool.call(HOST, node.port, "GET", f"/{3 * 65536}", timeout=5)
            assert reply.body == b"z" * 3 * 65536  # more than one read's worth, up to EOF
            with pytest.raises(BodyTooLarge):
                await pool.call(HOST, node.port, "GET", f"/{64 * 65536}", timeout=5, max_body=4 * 65536)
            reply = await pool.call(HOST, node.port, "GET", "/65536", timeout=5)
            assert reply.body == b"z" * 65536
            assert node.connections == 3  # a body ended by EOF never leaves a connection to reuse
            await pool.close()

    run(main())


def test_declared_length_over_the_bound_is_refused_before_reading():
    async def handler(req: Request):
        req.writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n" + b"x" * 1000)
        await asyncio.sleep(5)  # would stall a reader that waited for the declared body
        return False

    async def main():
        async with FakeNode(handler) as node:
            with pytest.raises(BodyTooLarge):  # not NodeTimeout: refused before waiting for the body
                await Pool().call(HOST, node.port, "GET", "/", timeout=3, max_body=1 << 20)

    run(main())


def test_the_timeout_bounds_the_whole_exchange():
    async def handler(req: Request):
        req.writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\nab")
        for _ in range(20):  # a trickle: every read gets bytes in time, the whole answer not in time
            await asyncio.sleep(0.1)
            req.writer.write(b"c")
        return False

    async def main():
        async with FakeNode(handler) as node:
            pool = Pool(node_timeout=0.3)  # longer than each gap, shorter than the whole
            with pytest.raises(NodeTimeout):  # each gap is in time; the whole answer (2 s) is not
                await pool.call(HOST, node.port, "GET", "/", timeout=0.5)

    run(main())


def test_unsendable_headers_are_an_http_error():
    async def main():
        with pytest.raises(HttpError):
            await Pool().call(HOST, 1, "PUT", "/", {"X-A": "b\r\nX-B: c"}, timeout=1)

    run(main())


def test_loop_pool_is_one_pool_per_event_loop():
    async def pools() -> tuple[Pool, Pool]:
        return loop_pool(), loop_pool()

    first, again = run(pools())
    assert first is again
    other: list[Pool] = []
    thread = threading.Thread(target=lambda: other.extend(run(pools())))
    thread.start()
    thread.join()
    assert other[0] is other[1] and other[0] is not first
