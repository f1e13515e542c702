"""Filesystem helpers: syncfs / sync_file_range bindings, fsync helpers, durable directory creation,
free space. The group-commit scheduler built on them is ``store.group_commit``."""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
from collections.abc import Sequence

from stackstore.durable_files import fsync_dir as fsync_dir  # re-exported: the nodes import it from here

# ctypes._NamedFuncPointer: typeshed's type of a CDLL function (the annotations are never evaluated)
_libc: ctypes.CDLL | None = None
_syncfs: ctypes._NamedFuncPointer | None = None
_sync_file_range: ctypes._NamedFuncPointer | None = None
try:
    _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    _syncfs = _libc.syncfs
    _syncfs.argtypes = [ctypes.c_int]
    _syncfs.restype = ctypes.c_int
except (OSError, AttributeError):  # pragma: no cover - non-Linux
    _syncfs = None
try:
    if _libc is not None:
        _sync_file_range = _libc.sync_file_range
        _sync_file_range.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
        _sync_file_range.restype = ctypes.c_int
except AttributeError:  # pragma: no cover - non-Linux
    _sync_file_range = None
SYNC_FILE_RANGE_WRITE = 2
HAVE_SYNCFS = _syncfs is not None


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


def fsync_all(fds: Sequence[int], data_only: bool = False) -> None:
    """fsync (or fdatasync) every descriptor; directories that refuse fsync (EINVAL) are skipped."""
    for fd in fds:
        try:
            os.fdatasync(fd) if data_only else os.fsync(fd)
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise


def fsync_paths(paths: Sequence[str]) -> None:
    """fsync files or directories by path (their entries and contents become durable)."""
    fds = [os.open(p, os.O_RDONLY) for p in paths]
    try:
        fsync_all(fds)
    finally:
        for fd in fds:
            os.close(fd)


def free_bytes(path: str) -> int:
    """Bytes available to unprivileged writers on the filesystem holding ``path``."""
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def ensure_dir(path: str, root: str | None = None) -> list[str]:
    """Create ``path`` and missing parents; return the parents whose entries changed (to fsync).

    ``root`` (a device directory) is never created: when it is gone (an unmounted disk), the
    FileNotFoundError propagates instead of writing onto the filesystem underneath.
    """
    try:
        os.mkdir(path)
    except FileExistsError:
        return []
    except FileNotFoundError:
        parent = os.path.dirname(path)
        if root is not None and os.path.normpath(parent) == os.path.normpath(root):
            raise
        changed = ensure_dir(parent, root)
        try:
            os.mkdir(path)
        except FileExistsError:
            return changed
        return changed + [os.path.dirname(path)]
    return [os.path.dirname(path)]


def remove_file(path: str) -> bool:
    """Unlink ``path``; False when it was already gone."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True


def make_dir_once(path: str) -> str:
    """Create the directory ``path`` if missing (its parent must exist: FileNotFoundError when a
    device directory is gone, instead of creating it on the filesystem underneath); return it."""
    try:
        os.mkdir(path)
    except FileExistsError:
        pass
    return path
