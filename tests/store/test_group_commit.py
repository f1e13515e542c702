"""The one-hop commit in syncfs mode, in-process: what is on disk at each group-commit round, when
the write returns, and the timestamp check done in the committing thread."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from stackstore.timestamp import Timestamp
from store import fsutil
from store.diskfile import DiskFileConflict, DiskFileManager
from store.group_commit import GroupCommit

HASH = "0123456789abcdef0123456789abcabc"


@pytest.fixture
def mgr(tmp_path, executor):
    (tmp_path / "d1").mkdir()
    group = GroupCommit(executor, mode="syncfs")
    yield DiskFileManager(str(tmp_path), executor, group, block_size=4096)
    group.close()


def _listing(path: str) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except FileNotFoundError:
        return []


async def _put(mgr: DiskFileManager, ts: Timestamp, body: bytes, newer_only: bool = True) -> None:
    df = mgr.get("d1", 7, HASH, "/a/c/o")
    w = df.writer()
    try:
        await w.write(body)
        await w.finish()
        await w.commit(ts, {"Content-Type": "text/plain"}, newer_only=newer_only)
    finally:
        w.close()


def test_body_durable_before_rename_and_rename_durable_before_return(mgr, monkeypatch):
    """Round 1 sees the whole body in tmp/ and no .data yet; round 2 sees the .data; the commit
    returns only after round 2."""
    seen: list[tuple[list[str], list[bytes]]] = []
    tmpdir = os.path.join(mgr.devices_root, "d1", "tmp")
    hash_dir = mgr.get("d1", 7, HASH, "/a/c/o").dir

    def recording_syncfs(fd: int) -> None:
        bodies = [open(os.path.join(tmpdir, n), "rb").read() for n in _listing(tmpdir)]
        seen.append((_listing(hash_dir), bodies))

    monkeypatch.setattr(fsutil, "syncfs", recording_syncfs)
    ts = Timestamp(time.time())
    body = b"x" * 10_000
    asyncio.run(_put(mgr, ts, body))
    assert len(seen) == 2
    (names1, tmp1), (names2, tmp2) = seen
    assert names1 == [] and len(tmp1) == 1 and tmp1[0].startswith(body)
    assert names2 == [ts.normal + ".data"] and tmp2 == []
    assert mgr.group.rounds == 2


def test_failed_round_stops_the_commit_before_the_rename(mgr, monkeypatch):
    def failing_syncfs(fd: int) -> None:
        raise OSError(5, "I/O error")

    monkeypatch.setattr(fsutil, "syncfs", failing_syncfs)
    with pytest.raises(OSError):
        asyncio.run(_put(mgr, Timestamp(time.time()), b"body"))
    assert _listing(mgr.get("d1", 7, HASH, "/a/c/o").dir) == []
    assert _listing(os.path.join(mgr.devices_root, "d1", "tmp")) == []


def test_stale_put_conflicts_in_the_commit_hop(mgr):
    """Last write wins: an older or equal timestamp loses to the .data/.ts there, nothing is left
    behind, and the newest timestamp is reported."""
    t1, t2 = Timestamp(time.time()), Timestamp(time.time() + 1)
    asyncio.run(_put(mgr, t2, b"new"))
    for stale in (t1, t2):
        with pytest.raises(DiskFileConflict) as info:
            asyncio.run(_put(mgr, stale, b"old"))
        assert info.value.timestamp == t2
    df = mgr.get("d1", 7, HASH, "/a/c/o")
    assert _listing(df.dir) == [t2.normal + ".data"]
    assert _listing(os.path.join(mgr.devices_root, "d1", "tmp")) == []
    t3, t4 = Timestamp(time.time() + 2), Timestamp(time.time() + 3)
    asyncio.run(df.put_tombstone(t3))
    with pytest.raises(DiskFileConflict):
        asyncio.run(_put(mgr, t3, b"tie with the tombstone"))
    asyncio.run(_put(mgr, t4, b"newest"))
    assert _listing(df.dir) == [t4.normal + ".data"]  # the commit hop cleaned up what it superseded


@pytest.mark.parametrize("mode", ["syncfs", "fsync"])
def test_tombstone_reads_the_stored_version_in_the_committing_thread(tmp_path, executor, mode):
    """A DELETE's version read and its tombstone are one hand-off: ``write_if`` sees what is stored, in an
    I/O thread; answering False writes nothing and leaves nothing in tmp/; an exception reaches the caller."""
    (tmp_path / "d1").mkdir()
    group = GroupCommit(executor, mode=mode)
    mgr = DiskFileManager(str(tmp_path), executor, group, block_size=4096)
    df = mgr.get("d1", 7, HASH, "/a/c/o")
    t1, t2, t3 = (Timestamp(time.time() + i) for i in range(3))
    asyncio.run(_put(mgr, t2, b"live"))
    calls: list[tuple[object, bool]] = []

    def refuse(stored) -> bool:
        calls.append((stored, threading.current_thread() is threading.main_thread()))
        return False

    stored = asyncio.run(df.put_tombstone(t1, refuse))
    assert stored is not None and (stored.newest, stored.live, stored.delete_at) == (t2, True, None)
    assert calls == [(stored, False)]
    assert _listing(df.dir) == [t2.normal + ".data"]
    assert _listing(os.path.join(mgr.devices_root, "d1", "tmp")) == []

    def conflict(stored) -> bool:
        raise DiskFileConflict(stored.newest)

    with pytest.raises(DiskFileConflict):
        asyncio.run(df.put_tombstone(t1, conflict))
    stored = asyncio.run(df.put_tombstone(t3, lambda stored: stored.newest < t3))
    assert stored is not None and stored.live
    assert _listing(df.dir) == [t3.normal + ".ts"]
    stored = asyncio.run(df.put_tombstone(t1, lambda stored: True))
    assert stored is not None and (stored.newest, stored.live) == (t3, False)
    group.close()


def test_writes_arriving_mid_round_share_the_next_rounds(tmp_path, monkeypatch):
    """A round that began before a write was prepared cannot cover it; writes queued while a round
    runs are prepared together in the next tick, which also publishes the earlier write."""
    started, release = threading.Event(), threading.Event()
    events: list[str] = []

    def slow_syncfs(fd: int) -> None:
        events.append("syncfs")
        if events.count("syncfs") == 1:
            started.set()
            release.wait(5)

    monkeypatch.setattr(fsutil, "syncfs", slow_syncfs)

    async def scenario(group: GroupCommit) -> None:
        def job(name: str) -> asyncio.Future:
            return group.submit(str(tmp_path), lambda: events.append(f"write {name}"),
                                lambda: events.append(f"rename {name}"))

        first = job("a")
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 5)
        late = [job(n) for n in "bcd"]
        await asyncio.sleep(0.05)
        assert not first.done() and not any(f.done() for f in late)
        release.set()
        await asyncio.gather(first, *late)

    with ThreadPoolExecutor(2) as pool:
        group = GroupCommit(pool, mode="syncfs")
        try:
            asyncio.run(scenario(group))
        finally:
            group.close()
    assert events == ["write a", "syncfs", "write b", "write c", "write d", "rename a", "syncfs",
                      "rename b", "rename c", "rename d", "syncfs"]
    assert group.rounds == 3 and group.requests == 4
