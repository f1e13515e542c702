"""Filesystem helpers: group-committed durability, durable directory creation, free space.

Two durability strategies, chosen per device (``store.sync_mode``: ``auto`` | ``syncfs`` | ``fsync``):

* ``syncfs`` (group commit, the default on Linux): every writer waiting for durability on a
  device joins a *round*; a round is one ``syncfs(2)`` of the device's filesystem, run in a thread,
  serving every writer queued before it started, so many small writes share a few syncs. It also
  flushes unrelated dirty data on that filesystem, so big bodies flush themselves progressively
  (``start_writeback``) and ``fdatasync`` alone before joining a round.
* ``fsync``: each writer ``fdatasync``s its file and fsyncs the directories it changed in the I/O
  thread pool; concurrent fsyncs still share journal commits in the kernel (ext4/xfs).

Measured on the shared dev VM (ext4, 2 vCPUs, busy neighbours), 64 concurrent 4 KiB PUTs: syncfs
560-910/s, fsync 430-570/s, no fsync at all 580-950/s (the filesystem's metadata ops are the limit).
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
try:
    _sync_file_range = _libc.sync_file_range
    _sync_file_range.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    _sync_file_range.restype = ctypes.c_int
except AttributeError:  # pragma: no cover - non-Linux
    _sync_file_range = None
SYNC_FILE_RANGE_WRITE = 2


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Ask the kernel to start writing a range back now (no wait), so dirty data stays bounded and
    the final fdatasync/syncfs has little left to do. A no-op where unsupported."""
    if _sync_file_range is not None:
        _sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE)


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
        self.pending: list[asyncio.Future] = []
        self.running = False


def fsync_all(fds: Sequence[int], data_only: bool = False) -> None:
    """fsync (or fdatasync) every descriptor; directories that refuse fsync (EINVAL) are skipped."""
    for fd in fds:
        try:
            os.fdatasync(fd) if data_only else os.fsync(fd)
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise


class GroupCommit:
    """Durability for one node: batched ``syncfs`` rounds or per-file fsyncs in the I/O threads."""

    def __init__(self, executor: Executor, enabled: bool = True, mode: str = "auto"):
        if mode not in ("auto", "syncfs", "fsync"):
            raise ValueError(f"bad sync_mode {mode!r}")
        self.executor = executor
        self.enabled = enabled
        self.mode = mode if _syncfs is not None else "fsync"
        self._lanes: dict[str, _Lane | None] = {}
        self._tasks: set[asyncio.Task] = set()
        self.rounds = 0
        self.requests = 0

    def _lane(self, device_path: str) -> _Lane | None:
        try:
            return self._lanes[device_path]
        except KeyError:
            pass
        batched = self.mode in ("syncfs", "auto")
        lane = _Lane(os.open(device_path, os.O_RDONLY | os.O_DIRECTORY)) if batched else None
        self._lanes[device_path] = lane
        return lane

    def batched(self, device_path: str) -> bool:
        """True when the device uses syncfs rounds (then callers need not pass descriptors)."""
        return self._lane(device_path) is not None

    async def sync(self, device_path: str, fds: Sequence[int], data_only: bool = False) -> None:
        """Return once everything written through ``fds`` (files or directories) is durable.

        In syncfs mode ``fds`` is ignored: the round flushes the device's whole filesystem.
        """
        if not self.enabled:
            return
        loop = asyncio.get_running_loop()
        lane = self._lane(device_path)
        self.requests += 1
        if lane is None:
            if fds:
                await loop.run_in_executor(self.executor, fsync_all, fds, data_only)
            return
        fut = loop.create_future()
        lane.pending.append(fut)
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
                    await loop.run_in_executor(self.executor, syncfs, lane.root_fd)
                except Exception as exc:  # noqa: BLE001 - handed to every waiter
                    for fut in batch:
                        if not fut.done():
                            fut.set_exception(exc)
                else:
                    for fut in batch:
                        if not fut.done():
                            fut.set_result(None)
        finally:
            lane.running = False

    def close(self) -> None:
        for lane in self._lanes.values():
            if lane is not None:
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
        await group.sync(device_path, [fd], data_only=True)
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
        fds = [] if group.batched(device_path) else [os.open(d, os.O_RDONLY) for d in [parent, *changed]]
        try:
            await group.sync(device_path, fds)
        finally:
            for d in fds:
                os.close(d)
