"""Filesystem helpers: group-committed fsync, durable directory creation, free space.

Group commit: on Linux every writer waiting for durability on one device joins a *round*; a round
is a single ``syncfs(2)`` of the device's filesystem, run in a thread, that serves every writer
queued before it started. With many concurrent small writes this turns thousands of
``fdatasync`` + directory ``fsync`` calls per second into a few dozen ``syncfs`` calls. Where
``syncfs`` is unavailable each round fsyncs the file descriptors its writers handed in.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import errno
import os
from collections.abc import Sequence
from concurrent.futures import Executor

_libc = None
try:
    _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    _syncfs = _libc.syncfs
    _syncfs.argtypes = [ctypes.c_int]
    _syncfs.restype = ctypes.c_int
except (OSError, AttributeError):  # pragma: no cover - non-Linux
    _syncfs = None


def syncfs(fd: int) -> None:
    """Flush the whole filesystem holding ``fd`` (data, inodes and directory entries)."""
    if _syncfs is None:  # pragma: no cover
        os.sync()
        return
    if _syncfs(fd) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def fsync_dir(path: str) -> None:
    """fsync a directory so entries created or renamed in it are durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def free_bytes(path: str) -> int:
    """Bytes available to unprivileged writers on the filesystem holding ``path``."""
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def ensure_dir(path: str) -> list[str]:
    """Create ``path`` and missing parents; return the parents whose entries changed (to fsync)."""
    try:
        os.mkdir(path)
    except FileExistsError:
        return []
    except FileNotFoundError:
        changed = ensure_dir(os.path.dirname(path))
        try:
            os.mkdir(path)
        except FileExistsError:
            return changed
        return changed + [os.path.dirname(path)]
    return [os.path.dirname(path)]


class _Lane:
    __slots__ = ("root_fd", "pending", "running")

    def __init__(self, root_fd: int):
        self.root_fd = root_fd
        self.pending: list[tuple[Sequence[int], asyncio.Future]] = []
        self.running = False


class GroupCommit:
    """Coalesce concurrent durability requests per device into shared sync rounds."""

    def __init__(self, executor: Executor, enabled: bool = True, use_syncfs: bool | None = None):
        self.executor = executor
        self.enabled = enabled
        self.use_syncfs = (_syncfs is not None) if use_syncfs is None else use_syncfs
        self._lanes: dict[str, _Lane] = {}
        self._tasks: set[asyncio.Task] = set()
        self.rounds = 0
        self.requests = 0

    def _lane(self, device_path: str) -> _Lane:
        lane = self._lanes.get(device_path)
        if lane is None:
            lane = self._lanes[device_path] = _Lane(os.open(device_path, os.O_RDONLY | os.O_DIRECTORY))
        return lane

    async def sync(self, device_path: str, fds: Sequence[int]) -> None:
        """Return once everything written through ``fds`` (files or directories) is durable."""
        if not self.enabled:
            return
        loop = asyncio.get_running_loop()
        lane = self._lane(device_path)
        fut = loop.create_future()
        lane.pending.append((fds, fut))
        self.requests += 1
        if not lane.running:
            lane.running = True
            task = loop.create_task(self._drain(lane))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        await fut

    async def _drain(self, lane: _Lane) -> None:
        loop = asyncio.get_running_loop()
        try:
            while lane.pending:
                batch, lane.pending = lane.pending, []
                self.rounds += 1
                try:
                    await loop.run_in_executor(self.executor, self._flush, lane.root_fd, batch)
                except Exception as exc:  # noqa: BLE001 - handed to every waiter
                    for _, fut in batch:
                        if not fut.done():
                            fut.set_exception(exc)
                else:
                    for _, fut in batch:
                        if not fut.done():
                            fut.set_result(None)
        finally:
            lane.running = False

    def _flush(self, root_fd: int, batch: list[tuple[Sequence[int], asyncio.Future]]) -> None:
        if self.use_syncfs:
            syncfs(root_fd)
            return
        for fds, _ in batch:
            for fd in fds:
                try:
                    os.fsync(fd)
                except OSError as exc:
                    if exc.errno != errno.EINVAL:  # some filesystems refuse directory fsync
                        raise

    def close(self) -> None:
        for lane in self._lanes.values():
            os.close(lane.root_fd)
        self._lanes.clear()


async def write_durable(group: GroupCommit, device_path: str, target: str, data: bytes) -> None:
    """Atomically and durably create ``target`` (under ``device_path``) holding ``data``."""
    tmpdir = os.path.join(device_path, "tmp")
    os.makedirs(tmpdir, exist_ok=True)
    tmp = os.path.join(tmpdir, os.urandom(16).hex())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, data)
        await group.sync(device_path, [fd])
    finally:
        os.close(fd)
    try:
        parent = os.path.dirname(target)
        changed = ensure_dir(parent)
        os.rename(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise
    if group.enabled:
        fds = [] if group.use_syncfs else [os.open(d, os.O_RDONLY) for d in [parent, *changed]]
        try:
            await group.sync(device_path, fds)
        finally:
            for d in fds:
                os.close(d)
