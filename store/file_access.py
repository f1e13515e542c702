"""How the diskfile layer lists, opens and reads an object's files: blocking (``BLOCKING``, in an I/O thread) or
answered from the kernel's caches alone (``CACHE_ONLY``, on the event loop).

A storage node's event loop must never wait on a disk. Handing every small GET's listdir/open/read to an I/O
thread keeps it from waiting, but the hand-off is most of a cached GET's cost on the node: measured with
``perf stat`` over 2,000 4 KiB GETs at c=32 (docs/benchmarks.md, session 17), about 7 context switches and
~250 us of CPU per GET, against 0.7 switches when the same calls ran on the loop. Linux can say without
blocking whether it can answer a call from memory:

- ``openat2(..., RESOLVE_CACHED)`` (Linux 5.12) resolves a path from the dentry cache only and fails with
  ``EAGAIN`` where a lookup would have to read the disk;
- ``preadv2(..., RWF_NOWAIT)`` (Linux 4.14) reads from the page cache only and fails with ``EAGAIN`` (or returns
  short) where pages are missing.

``CACHE_ONLY`` makes every call of that kind and raises :class:`WouldBlock` where the kernel declines; the
caller then does the whole step again with ``BLOCKING`` in an I/O thread. Listing a directory opened this way
reads entries of an inode already in memory (an XFS hash dir of a few files keeps them inside the inode); a
filesystem without ``openat2`` (``ENOSYS``) turns ``CACHE_ONLY`` off for the process.
"""

from __future__ import annotations

import ctypes
import errno
import os
from typing import Protocol

RESOLVE_CACHED = 0x20  # linux/openat2.h
_SYS_OPENAT2 = 437  # the same number on every architecture (added after the syscall tables were unified)
_AT_FDCWD = -100


class WouldBlock(Exception):
    """The kernel could not answer from its caches: do the step with ``BLOCKING`` in an I/O thread."""


class FileAccess(Protocol):
    """The three file calls the diskfile layer reads objects with."""

    cache_only: bool

    def listdir(self, path: str) -> list[str]:
        """Names in directory ``path`` (FileNotFoundError when it does not exist)."""

    def open(self, path: str) -> int:
        """A read-only descriptor of the file ``path``."""

    def pread(self, fd: int, length: int, offset: int) -> bytes | bytearray:
        """``length`` bytes at ``offset`` (fewer only at the end of the file)."""


class _Blocking:
    cache_only = False

    def listdir(self, path: str) -> list[str]:
        return os.listdir(path)

    def open(self, path: str) -> int:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)

    def pread(self, fd: int, length: int, offset: int) -> bytes:
        return os.pread(fd, length, offset)


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


class _CacheOnly:
    cache_only = True

    def __init__(self) -> None:
        self.available = hasattr(os, "RWF_NOWAIT") and hasattr(os, "preadv")
        self._syscall = None
        if self.available:
            try:
                syscall = ctypes.CDLL(None, use_errno=True).syscall
            except (OSError, AttributeError):
                self.available = False
            else:
                syscall.restype = ctypes.c_long
                self._syscall = syscall

    def _open_cached(self, path: str, flags: int) -> int:
        if not self.available or self._syscall is None:
            raise WouldBlock(path)
        how = _OpenHow(flags | os.O_CLOEXEC, 0, RESOLVE_CACHED)
        fd = self._syscall(_SYS_OPENAT2, _AT_FDCWD, os.fsencode(path), ctypes.byref(how), ctypes.sizeof(how))
        if fd >= 0:
            return int(fd)
        err = ctypes.get_errno()
        if err in (errno.ENOSYS, errno.EPERM):  # no openat2 here (or a seccomp filter refusing it)
            self.available = False
        if err in (errno.EAGAIN, errno.ENOSYS, errno.EPERM):
            raise WouldBlock(path)
        raise OSError(err, os.strerror(err), path)

    def listdir(self, path: str) -> list[str]:
        fd = self._open_cached(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            return os.listdir(fd)
        finally:
            os.close(fd)

    def open(self, path: str) -> int:
        return self._open_cached(path, os.O_RDONLY)

    def pread(self, fd: int, length: int, offset: int) -> bytearray:
        buf = bytearray(max(length, 0))
        self.pread_into(fd, memoryview(buf), offset)
        return buf  # (not copied into a bytes: a block is up to a megabyte; callers take any bytes-like)

    def pread_into(self, fd: int, view: memoryview, offset: int) -> None:
        """Fill ``view`` with the file's bytes at ``offset`` from the page cache; WouldBlock where it cannot."""
        if not len(view):
            return
        try:
            got = os.preadv(fd, [view], offset, os.RWF_NOWAIT)
        except BlockingIOError:
            raise WouldBlock(f"fd {fd}") from None
        except OSError as exc:
            if exc.errno == errno.EOPNOTSUPP:  # a filesystem without RWF_NOWAIT
                raise WouldBlock(f"fd {fd}") from None
            raise
        if got < len(view):
            # part of the range is not in the page cache (or the file ends early: the blocking read tells)
            raise WouldBlock(f"fd {fd}")


BLOCKING: FileAccess = _Blocking()
CACHE_ONLY = _CacheOnly()
