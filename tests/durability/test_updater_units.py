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
    from store.updater import Pending, with_partition

    def rec(account: str | None = "AUTH_a") -> Pending:
        return Pending("p", "PUT", "127.0.0.1", 1, "/cont/d1/3/AUTH_a/c%20x/o/p", {}, account, "c x")

    moved = with_partition(rec(), lambda account, container: 7 if (account, container) == ("AUTH_a", "c x") else 0)
    assert moved.req_path == "/cont/d1/7/AUTH_a/c%20x/o/p"
    assert moved.group == ("127.0.0.1", 1, "/cont/d1/7/AUTH_a/c%20x")
    assert with_partition(rec(), None).req_path == "/cont/d1/3/AUTH_a/c%20x/o/p"  # no ring: as queued
    assert with_partition(rec(), lambda a, c: None).req_path == "/cont/d1/3/AUTH_a/c%20x/o/p"
    assert with_partition(rec(account=None), lambda a, c: 7).req_path == "/cont/d1/3/AUTH_a/c%20x/o/p"  # old record
