"""The pooled HTTP/1.1 client against a scriptable stand-in server."""

from __future__ import annotations

import asyncio

import pytest

from objclient.http import BrokenResponse, ConnectFailed, NodeTimeout, Pool, Response, Upload
from tests.objclient.fakenode import FakeNode, Request


def run(coro):
    return asyncio.run(coro)


def test_keepalive_reuse_and_bodies():
    async def handler(req: Request):
        if req.path == "/chunked":
            req.respond(200, b"hello chunked world" * 3, chunked=True)
        elif req.method == "HEAD":
            req.respond(200, headers={"Content-Length": "12345", "X-Thing": "a"})
        elif req.path == "/empty":
            req.respond(204)
        else:
            req.respond(200, b"x" * 100_000, headers={"X-Multi": "1"})

    async def main():
        async with FakeNode(handler) as node:
            pool = Pool()
            for _ in range(3):
                r = await pool.request("127.0.0.1", node.port, "GET", "/a", {})
                assert r.status == 200 and r.headers["x-multi"] == "1"
                assert await r.read() == b"x" * 100_000
            r = await pool.request("127.0.0.1", node.port, "GET", "/chunked", {})
            assert await r.read() == b"hello chunked world" * 3
            r = await pool.request("127.0.0.1", node.port, "HEAD", "/h", {})
            assert r.done and r.headers["Content-Length"] == "12345" and await r.read() == b""
            for _ in range(2):
                r = await pool.request("127.0.0.1", node.port, "DELETE", "/empty", {})
                assert r.status == 204 and r.done
            assert node.connections == 1  # everything went over one keep-alive connection
            await pool.close()

    run(main())


def test_unfinished_body_is_not_reused():
    async def handler(req: Request):
        req.respond(200, b"y" * 1_000_000)

    async def main():
        async with FakeNode(handler) as node:
            pool = Pool()
            r = await pool.request("127.0.0.1", node.port, "GET", "/a", {})
            assert len(await r.read_chunk(1000)) <= 1000
            r.close()
            r = await pool.request("127.0.0.1", node.port, "GET", "/a", {})
            assert len(await r.read()) == 1_000_000
            assert node.connections == 2
            await pool.close()

    run(main())


def test_stale_connection_is_retried():
    async def handler(req: Request):
        req.respond(200, b"ok")
        return False  # server closes after every response, without saying so

    async def main():
        async with FakeNode(handler) as node:
            pool = Pool()
            for _ in range(3):
                r = await pool.request("127.0.0.1", node.port, "GET", "/a", {})
                assert await r.read() == b"ok"
            await pool.close()

    run(main())


def test_short_body_and_timeouts():
    async def handler(req: Request):
        if req.path == "/short":
            req.writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc")
            await req.writer.drain()
            return False
        if req.path == "/slowbody":
            req.writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc")
            await asyncio.sleep(1)
            return False
        await asyncio.sleep(1)

    async def main():
        async with FakeNode(handler) as node:
            pool = Pool(node_timeout=0.2)
            r = await pool.request("127.0.0.1", node.port, "GET", "/short", {})
            with pytest.raises(BrokenResponse):
                await r.read()
            r = await pool.request("127.0.0.1", node.port, "GET", "/slowbody", {})
            assert await r.read_chunk() == b"abc"
            with pytest.raises(NodeTimeout):
                await r.read_chunk()
            with pytest.raises(NodeTimeout):
                await pool.request("127.0.0.1", node.port, "GET", "/hang", {})
            await pool.close()
        with pytest.raises(ConnectFailed):
            await Pool().request("127.0.0.1", node.port, "GET", "/", {})

    run(main())


def test_expect_100_continue_and_early_final_status():
    got = {}

    async def handler(req: Request):
        if req.path == "/close":
            req.respond(200, b"bye", {"Connection": "close"})
            return False
        if req.path.startswith("/full"):
            req.respond(507, b"no space")
            return False
        got[req.path] = await req.read_body()
        req.respond(201, headers={"ETag": "abc"})

    async def main():
        async with FakeNode(handler) as node:
            pool = Pool()
            early = await pool.begin_upload("127.0.0.1", node.port, "PUT", "/full", {}, 10)
            assert isinstance(early, Response) and early.status == 507
            early.close()
            for path, length in (("/cl", 11), ("/chunked", None)):
                up = await pool.begin_upload("127.0.0.1", node.port, "PUT", path, {"X-A": "b"}, length)
                assert isinstance(up, Upload)
                up.write(b"hello ")
                up.write(b"world")
                r = await up.finish()
                assert r.status == 201 and r.headers["etag"] == "abc"
                assert got[path] == b"hello world"
            assert node.connections == 2  # the early 507 connection is not reused, the others are
            r = await pool.request("127.0.0.1", node.port, "GET", "/close", {})
            assert await r.read() == b"bye"
            r = await pool.request("127.0.0.1", node.port, "GET", "/close", {})
            assert await r.read() == b"bye" and node.connections == 3
            await pool.close()

    run(main())


def test_header_injection_rejected():
    async def main():
        with pytest.raises(ValueError):
            await Pool().request("127.0.0.1", 1, "GET", "/", {"X-A": "b\r\nX-B: c"})

    run(main())
