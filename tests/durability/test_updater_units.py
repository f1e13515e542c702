"""Updater pass in-process: per-container order, a failing container waits, counters for recon."""

from __future__ import annotations

import asyncio
import json
import socket

from store.recon import read_stats
from store.updater import run_updater_pass


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _record(dev, name: str, port: int, container: str, obj: str, ts: str) -> None:
    sdir = dev / "async_pending" / name[-3:]
    sdir.mkdir(parents=True, exist_ok=True)
    (sdir / name).write_text(json.dumps({
        "method": "PUT", "host": f"127.0.0.1:{port}", "path": f"/cont/d1/3/AUTH_a/{container}/{obj}",
        "headers": {"X-Timestamp": ts, "X-Size": "1", "X-Etag": "e", "X-Content-Type": "t"}}))


def test_pass_orders_per_container_and_records_stats(tmp_path):
    dev = tmp_path / "d1"
    dev.mkdir()
    seen: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            if line.startswith(b"PUT "):
                seen.append(line.split()[1].decode())
            if line == b"\r\n":
                writer.write(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        writer.close()

    async def go() -> dict[str, int]:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        # file names sort opposite to the timestamps: the pass must still send oldest first
        for i, ts in enumerate(["0000000003.00000", "0000000002.00000", "0000000001.00000"]):
            _record(dev, f"{i:032x}-{ts}-aaa", port, "c1", f"o{ts[9]}", ts)
        dead = _dead_port()
        for i in range(3):
            _record(dev, f"{i + 10:032x}-000000000{i}.00000-bbb", dead, "c2", f"x{i}", f"000000000{i}.00000")
        async with server:
            return await run_updater_pass(tmp_path, timeout=1.0, concurrency=2, record=True)

    stats = asyncio.run(go())
    assert stats == {"success": 3, "failure": 3, "bad": 0}
    assert seen == ["/cont/d1/3/AUTH_a/c1/o1", "/cont/d1/3/AUTH_a/c1/o2", "/cont/d1/3/AUTH_a/c1/o3"]
    recon = read_stats(str(dev), "updater")
    assert recon is not None
    assert (recon["successes"], recon["failures"], recon["async_pending"]) == (3, 3, 3)


def test_record_aimed_at_the_current_partition():
    from store.updater import Pending, current_targets

    def rec(account: str | None = "AUTH_a") -> Pending:
        return Pending("p", "PUT", "127.0.0.1", 1, "/cont/d%201/3/AUTH_a/c%20x/o/p", {}, account, "c x")

    def locate(account: str, container: str):
        assert (account, container) == ("AUTH_a", "c x")
        return 7, [("127.0.0.2", 2, "d2"), ("127.0.0.1", 1, "d 1")]

    (moved,) = current_targets(rec(), locate)
    assert moved.req_path == "/cont/d%201/7/AUTH_a/c%20x/o/p" and moved.outstanding is None
    assert moved.group == ("127.0.0.1", 1, "/cont/d%201/7/AUTH_a/c%20x")
    unchanged = "/cont/d%201/3/AUTH_a/c%20x/o/p"
    assert [r.req_path for r in current_targets(rec(), None)] == [unchanged]  # no ring: as queued
    assert [r.req_path for r in current_targets(rec(), lambda a, c: None)] == [unchanged]
    assert [r.req_path for r in current_targets(rec(account=None), locate)] == [unchanged]  # an older record


def test_record_whose_device_left_the_container_goes_to_every_current_primary(tmp_path):
    """The container moved off the record's device: both current primaries get the update, the record stays
    until both took it (one was down the first time)."""
    dev = tmp_path / "d1"
    dev.mkdir()
    seen: dict[int, list[str]] = {}

    async def serve(port_box: list[int], answer: bytes):
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while line := await reader.readline():
                if line.startswith(b"PUT "):
                    seen.setdefault(port_box[0], []).append(line.split()[1].decode())
                if line == b"\r\n":
                    writer.write(answer)
                    await writer.drain()
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port_box.append(server.sockets[0].getsockname()[1])
        port_box.pop(0)
        return server

    ok = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
    down = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"

    async def one_pass(second_answer: bytes) -> tuple[dict[str, int], list[int]]:
        a, b = [0], [0]
        server_a, server_b = await serve(a, ok), await serve(b, second_answer)
        gone = _dead_port()  # the record's own node: no longer a primary, never asked

        def locate(account: str, container: str):
            return 9, [("127.0.0.1", a[0], "d2"), ("127.0.0.1", b[0], "d3")]

        sdir = dev / "async_pending" / "abc"
        if not sdir.exists():
            sdir.mkdir(parents=True)
            (sdir / f"{0:029x}abc-0000000001.00000-aaa").write_text(json.dumps({
                "method": "PUT", "host": f"127.0.0.1:{gone}", "path": "/cont/d1/3/AUTH_a/c/o",
                "headers": {"X-Timestamp": "0000000001.00000"}, "account": "AUTH_a", "container": "c", "obj": "o"}))
        async with server_a, server_b:
            stats = await run_updater_pass(tmp_path, timeout=1.0, locate=locate)
        return stats, [a[0], b[0]]

    stats, ports = asyncio.run(one_pass(down))
    assert stats == {"success": 1, "failure": 1, "bad": 0}
    assert [seen[p] for p in ports] == [["/cont/d2/9/AUTH_a/c/o"], ["/cont/d3/9/AUTH_a/c/o"]]
    assert len(list((dev / "async_pending").rglob("*-aaa"))) == 1  # not every primary has it yet
    seen.clear()
    stats, ports = asyncio.run(one_pass(ok))
    assert stats == {"success": 2, "failure": 0, "bad": 0}
    assert [seen[p] for p in ports] == [["/cont/d2/9/AUTH_a/c/o"], ["/cont/d3/9/AUTH_a/c/o"]]
    assert not list((dev / "async_pending").rglob("*-aaa"))  # delivered to every current primary
