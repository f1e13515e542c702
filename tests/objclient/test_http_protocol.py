"""The node connection's own asyncio Protocol over real loopback sockets, on asyncio's and uvloop's loops:
body boundaries on keep-alive connections, chunked bodies, stalls, resets, and flow control both ways."""

from __future__ import annotations

import asyncio
import hashlib
import socket
import struct
import time

import pytest

from objclient.http import (
    READ_HIGH_WATER,
    WRITE_HIGH_WATER,
    BrokenResponse,
    NodeTimeout,
    Pool,
    Upload,
)
from tests.objclient.fakenode import FakeNode, Request

HOST = "127.0.0.1"


def _loop_factories():
    factories = [pytest.param(asyncio.new_event_loop, id="asyncio")]
    try:
        import uvloop
    except ImportError:
        return factories
    return [*factories, pytest.param(uvloop.new_event_loop, id="uvloop")]


@pytest.fixture(params=_loop_factories())
def run(request):
    def run_on_loop(coro):
        with asyncio.Runner(loop_factory=request.param) as runner:
            return runner.run(coro)

    return run_on_loop


async def read_all(resp) -> bytes:
    parts = []
    while chunk := await resp.read_chunk():
        assert type(chunk) is bytes
        parts.append(chunk)
    return b"".join(parts)


def test_next_response_bytes_after_a_body_stay_for_the_next_response(run):
    """The node's second response arrives in the same segment as the end of the first body."""

    async def handler(req: Request):
        if req.path == "/first":
            req.writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789"
                b"HTTP/1.1 201 Created\r\nContent-Length: 3\r\nX-Second: yes\r\n\r\nabc"
            )
        # "/second": already answered

    async def main():
        async with FakeNode(handler) as node:
            pool = Pool()
            r = await pool.request(HOST, node.port, "GET", "/first", {})
            assert await r.read_chunk(4) == b"0123"  # split inside the body, too
            assert await read_all(r) == b"456789"
            r = await pool.request(HOST, node.port, "GET", "/second", {})
            assert r.status == 201 and r.headers["x-second"] == "yes"
            assert await read_all(r) == b"abc"
            assert node.connections == 1
            await pool.close()

    run(main())


def test_head_split_across_segments_and_chunked_body_in_pieces(run):
    async def handler(req: Request):
        for part in (
            b"HTTP/1.1 200 OK\r\nTransfer-",
            b"Encoding: chunked\r\n\r",
            b"\n5\r\nhel",
            b"lo\r\n6\r\n world\r\n",
            b"0\r\n\r\n",
        ):
            req.writer.write(part)
            await req.writer.drain()
            await asyncio.sleep(0.02)

    async def main():
        async with FakeNode(handler) as node:
            pool = Pool()
            for _ in range(2):
                r = await pool.request(HOST, node.port, "GET", "/c", {})
                assert r.status == 200
                assert await read_all(r) == b"hello world"
            assert node.connections == 1
            await pool.close()

    run(main())


def test_node_that_stops_mid_body_times_out_and_is_not_reused(run):
    async def handler(req: Request):
        req.writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 300000\r\n\r\n" + b"x" * 100_000)
        await req.writer.drain()
        await asyncio.sleep(2)
        return False

    async def main():
        async with FakeNode(handler) as node:
            pool = Pool(node_timeout=0.3)
            r = await pool.request(HOST, node.port, "GET", "/stall", {})
            got = 0
            with pytest.raises(NodeTimeout):
                while True:
                    got += len(await r.read_chunk())
            assert got == 100_000 and r._conn.closed
            await pool.close()

    run(main())


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST instead of FIN."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@pytest.mark.parametrize("how", ["fin", "rst"])
def test_node_that_closes_mid_body_is_a_broken_response(run, how):
    async def handler(req: Request):
        req.writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 300000\r\n\r\n" + b"x" * 1000)
        await req.writer.drain()
        await asyncio.sleep(0.05)
        if how == "rst":
            _reset(req.writer)
        return False

    async def main():
        async with FakeNode(handler) as node:
            pool = Pool(node_timeout=2)
            r = await pool.request(HOST, node.port, "GET", "/drop", {})
            with pytest.raises(BrokenResponse):
                await read_all(r)
            await pool.close()

    run(main())


def test_slow_reader_pauses_the_socket_instead_of_buffering_the_body(run):
    size = 32 << 20
    block = b"z" * (1 << 20)

    async def handler(req: Request):
        req.writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
        for _ in range(size // len(block)):
            req.writer.write(block)
            await req.writer.drain()

    async def main():
        async with FakeNode(handler) as node:
            pool = Pool()
            r = await pool.request(HOST, node.port, "GET", "/big", {})
            proto = r._conn.protocol
            total = len(await r.read_chunk())
            while proto.held:  # a long GET body stays in the socket until read (or spliced): read on
                total += len(await r.read_chunk())
            await asyncio.sleep(0.3)  # the node keeps sending meanwhile
            assert not r._conn.transport.is_reading()
            peak = proto.buffered  # paused above the high-water mark, less the piece the last read may have taken
            assert READ_HIGH_WATER - (256 << 10) < peak < READ_HIGH_WATER + (1 << 20)
            while chunk := await r.read_chunk():
                total += len(chunk)
                peak = max(peak, proto.buffered)
            assert total == size and peak < READ_HIGH_WATER + (1 << 20)
            assert r.done and node.connections == 1
            await pool.close()

    run(main())


async def _upload(pool: Pool, port: int, size: int, piece: bytes) -> tuple[Upload, float]:
    """Write ``size`` bytes, draining as needed; returns the upload and the longest drain wait."""
    up = await pool.begin_upload(HOST, port, "PUT", "/up", {}, size)
    assert isinstance(up, Upload)
    longest = 0.0
    for _ in range(size // len(piece)):
        up.write(piece)
        assert up._conn.transport.get_write_buffer_size() <= WRITE_HIGH_WATER + len(piece)
        if up.needs_drain:
            start = time.monotonic()
            await up.drain()
            longest = max(longest, time.monotonic() - start)
    return up, longest


def test_upload_to_a_slow_node_waits_for_it(run):
    size = 64 << 20
    piece = b"u" * 65536

    async def handler(req: Request):
        req.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        await asyncio.sleep(0.5)  # not reading: the proxy's transport fills up
        digest = hashlib.md5()
        remaining = int(req.headers["content-length"])
        while remaining:
            data = await req.reader.read(min(remaining, 1 << 20))
            digest.update(data)
            remaining -= len(data)
        req.respond(201, headers={"ETag": digest.hexdigest()})

    async def main():
        async with FakeNode(handler) as node:
            pool = Pool(node_timeout=5)
            up, longest = await _upload(pool, node.port, size, piece)
            assert longest > 0.2
            r = await up.finish()
            assert r.status == 201
            assert r.headers["etag"] == hashlib.md5(piece * (size // len(piece))).hexdigest()
            await pool.close()

    run(main())


def test_upload_to_a_node_that_stops_reading_times_out(run):
    async def handler(req: Request):
        req.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        await asyncio.sleep(3)
        return False

    async def main():
        async with FakeNode(handler) as node:
            pool = Pool(node_timeout=0.3)
            with pytest.raises(NodeTimeout):
                await _upload(pool, node.port, 256 << 20, b"s" * (1 << 20))
            await pool.close()

    run(main())


def test_cancelled_request_aborts_its_connection(run):
    """A hedged read that lost: its task is cancelled while waiting for the head, or mid-body."""

    async def main():
        seen_closed: list[str] = []
        gone = asyncio.Event()

        async def handler(req: Request):
            if req.path == "/body":
                req.writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
                await req.writer.drain()
            try:
                await req.reader.read()  # returns (or raises) once the proxy dropped the connection
            except ConnectionError:
                pass
            seen_closed.append(req.path)
            if len(seen_closed) == 2:
                gone.set()
            return False

        async with FakeNode(handler) as node:
            pool = Pool(node_timeout=5)
            task = asyncio.create_task(pool.request(HOST, node.port, "GET", "/head", {}))
            await asyncio.sleep(0.1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            r = await pool.request(HOST, node.port, "GET", "/body", {})
            assert await r.read_chunk() == b"abc"
            task = asyncio.create_task(r.read_chunk())
            await asyncio.sleep(0.1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            r.close()
            await asyncio.wait_for(gone.wait(), 2)
            assert sorted(seen_closed) == ["/body", "/head"]
            await pool.close()

    run(main())


def test_a_long_get_body_stays_in_the_socket_until_read_a_short_one_does_not(run):
    """A GET answer announcing at least HOLD_BODY more bytes than came with its head is not read on by the
    event loop (a splice relay may take the socket over: Response.detach_body), and its first read took little
    more than the head although the node sent it all at once (HEAD_PIECE: a full-size read would have carried
    ~250 KB of the body through user space); reading it still works."""
    from objclient.http import HEAD_PIECE, HOLD_BODY

    async def handler(req: Request):
        size = int(req.path.rsplit("/", 1)[1])
        req.writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size + b"h" * size)
        await req.writer.drain()

    async def main():
        async with FakeNode(handler) as node:
            pool = Pool()
            for size, held in ((4096, False), (4 * HOLD_BODY, True)):
                r = await pool.request(HOST, node.port, "GET", f"/o/{size}", {})
                await asyncio.sleep(0.2)  # the node sent everything meanwhile
                proto = r._conn.protocol
                assert proto.held is held
                assert (proto.buffered < size) is held and r._conn.transport.is_reading() is not held
                if held:
                    assert proto.buffered <= HEAD_PIECE
                assert await r.read() == b"h" * size
                assert r.done and not proto.held
            assert node.connections == 1
            await pool.close()

    run(main())
