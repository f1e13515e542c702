"""Small objects' files kept as rows of one LMDB environment per device (``<device>/objects.lmdb``) instead of
files in hash dirs: no inode, temp file, rename or ``syncfs`` per write (docs/benchmarks.md, sessions 13 and 21).

A row is one hash-dir file under its own name: the key is ``<policy>/<partition:010d>/<suffix>/<hash>/<name>``
(``<name>`` is ``<timestamp>.data|.meta|.ts``) and the value the file's exact bytes (body, metadata and trailer,
``store.diskfile``), so everything that reads a hash dir sees the union of its files and its rows
(``DiskFile.state``, ``store.layout``'s enumerations, suffix hashes, replication) and the same checks verify
both. Rows are written by the device's committing thread in one synced write transaction per group-commit round
(``stage`` then ``commit_staged``, ``store.group_commit``): a write is acknowledged once its transaction is on
disk, and a new version replaces the rows it supersedes in that same transaction. The same transaction marks the
row's suffix changed for replication (a key ``<policy>/<partition:010d>/<suffix>`` of the ``invalid`` database:
what a file write appends to the partition's ``hashes.invalid``), so a replicator that takes the marks
(``take_marks``) sees the row it names; a row write needs no partition directory and no file of its own.

Which files become rows is the writers' choice (``[store] inline_max_size``: whole files up to that many bytes,
0 = none); reading does not depend on it: an environment that exists is always read (``existing``), so files
and rows written under any setting stay visible.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import lmdb

from store import layout

# the most a device's rows may take: address space only (a sparse file), reserved per open environment (512 GiB:
# a node with 90 devices reserves 45 TiB of the 128 TiB a process has)
MAP_SIZE = 1 << 39
FILES_DB = b"files"
MARKS_DB = b"invalid"  # suffixes changed since the replicator last hashed them
_SUFFIX_END = b"0"  # sorts right after "/": the first key past every key of a partition or suffix prefix


class InlineStoreError(OSError):
    """The device's row store refused a write (full, or its disk is gone): a failed device write, as a file's
    ENOSPC or a vanished device directory would be."""


def hash_prefix(policy: int, partition: int, hash_hex: str) -> bytes:
    """The key prefix of every row of one object's hash dir."""
    return f"{policy}/{partition:010d}/{hash_hex[-3:]}/{hash_hex}/".encode()


def row_key(policy: int, partition: int, hash_hex: str, name: str) -> bytes:
    """The key of the row holding the hash-dir file ``name``."""
    return hash_prefix(policy, partition, hash_hex) + name.encode()


def mark_key(policy: int, partition: int, hash_hex: str) -> bytes:
    """The key marking the suffix of the hash dir ``hash_hex`` changed."""
    return f"{policy}/{partition:010d}/{hash_hex[-3:]}".encode()


@dataclass
class _Staged:
    """Writes queued by the committing thread for this round's transaction, in order (None: delete)."""

    ops: list[tuple[bytes, bytes | None]] = field(default_factory=list)
    marks: set[bytes] = field(default_factory=set)
    unmarks: list[tuple[bytes, bytes]] = field(default_factory=list)  # (mark, value taken): deleted if unchanged


class InlineObjects:
    """The rows of one device."""

    def __init__(self, device_path: str):
        self.device_path = device_path
        self.path = layout.inline_objects_path(device_path)
        try:
            os.mkdir(self.path)  # not makedirs: a device that is gone must not come back as an empty dir
        except FileExistsError:
            pass
        self.env = lmdb.open(self.path, map_size=MAP_SIZE, max_dbs=3, readahead=False, max_readers=256)
        self.db = self.env.open_db(FILES_DB)
        self.marks_db = self.env.open_db(MARKS_DB)
        self.inode = os.stat(os.path.join(self.path, "data.mdb")).st_ino
        self._lock = threading.Lock()
        self._staged = _Staged()
        # a mark's value says which commit set it, so a mark set again after it was taken is not deleted with the
        # old one: nanoseconds at open, then one more per commit (unique across restarts of the process)
        self._mark_value = time.time_ns()
        self._taken: dict[bytes, bytes] = {}  # marks handed to ``take_marks`` callers, not yet deleted

    # -- identity --------------------------------------------------------------------------------
    def is_current(self) -> bool:
        """Whether the environment's file is still the one at its path (False when the device was removed or
        replaced: its rows are gone with it, and nothing may be written into the unlinked file)."""
        try:
            return os.stat(os.path.join(self.path, "data.mdb")).st_ino == self.inode
        except OSError:
            return False

    def close(self) -> None:
        self.env.close()

    # -- reads -----------------------------------------------------------------------------------
    def _keys_under(self, prefix: bytes) -> list[str]:
        """What follows ``prefix`` in every key that starts with it, in key order."""
        out: list[str] = []
        with self.env.begin(db=self.db) as txn:
            cursor = txn.cursor()
            if cursor.set_range(prefix):
                for key in cursor.iternext(keys=True, values=False):
                    if not key.startswith(prefix):
                        break
                    out.append(key[len(prefix):].decode())
        return out

    def names(self, policy: int, partition: int, hash_hex: str) -> list[str]:
        """The file names one object's rows hold."""
        return self._keys_under(hash_prefix(policy, partition, hash_hex))

    def read(self, policy: int, partition: int, hash_hex: str, name: str) -> bytes | None:
        """The bytes of the row ``name`` (None when it is gone)."""
        with self.env.begin(db=self.db) as txn:
            return txn.get(row_key(policy, partition, hash_hex, name))

    def _distinct(self, prefix: bytes, width: int) -> list[str]:
        """The distinct ``width``-character components right after ``prefix`` (each followed by ``/``), in order:
        one cursor jump per component."""
        out: list[str] = []
        with self.env.begin(db=self.db) as txn:
            cursor = txn.cursor()
            found = cursor.set_range(prefix)
            while found:
                key = cursor.key()
                if not key.startswith(prefix):
                    break
                part = key[len(prefix):len(prefix) + width]
                out.append(part.decode())
                found = cursor.set_range(prefix + part + _SUFFIX_END)
        return out

    def policies(self) -> list[int]:
        """The storage policies that hold rows."""
        out: list[int] = []
        with self.env.begin(db=self.db) as txn:
            cursor = txn.cursor()
            found = cursor.set_range(b"")
            while found:
                policy = cursor.key().partition(b"/")[0]
                out.append(int(policy))
                found = cursor.set_range(policy + _SUFFIX_END)  # past "<policy>/...", to "<policy>0" and on
        return out

    def partitions(self, policy: int) -> list[int]:
        """The partitions of ``policy`` that hold rows, sorted."""
        return [int(p) for p in self._distinct(f"{policy}/".encode(), 10)]

    def suffixes(self, policy: int, partition: int) -> list[str]:
        """The suffixes of a partition that hold rows, sorted."""
        return self._distinct(f"{policy}/{partition:010d}/".encode(), 3)

    def suffix_files(self, policy: int, partition: int, suffix: str) -> dict[str, list[str]]:
        """``hash -> row names`` of one suffix."""
        return self.suffixes_files(policy, partition, [suffix]).get(suffix, {})

    def suffixes_files(self, policy: int, partition: int, suffixes: Iterable[str]) -> dict[str, dict[str, list[str]]]:
        """``suffix -> hash -> row names`` of several suffixes of one partition, read in one transaction (suffixes
        without rows are left out)."""
        out: dict[str, dict[str, list[str]]] = {}
        with self.env.begin(db=self.db) as txn:
            cursor = txn.cursor()
            for suffix in sorted(suffixes):
                prefix = f"{policy}/{partition:010d}/{suffix}/".encode()
                if not cursor.set_range(prefix):
                    break  # nothing at or after this suffix: nor after the later ones
                files: dict[str, list[str]] = {}
                for key in cursor.iternext(keys=True, values=False):
                    if not key.startswith(prefix):
                        break
                    hash_hex, _, name = key[len(prefix):].decode().partition("/")
                    files.setdefault(hash_hex, []).append(name)
                if files:
                    out[suffix] = files
        return out

    def hashes(self, policy: int, partition: int) -> Iterator[str]:
        """Every object hash of a partition that has rows."""
        for suffix in self.suffixes(policy, partition):
            yield from self.suffix_files(policy, partition, suffix)

    # -- writes ----------------------------------------------------------------------------------
    def stage(self, puts: Iterable[tuple[bytes, bytes]], deletes: Iterable[bytes], marks: Iterable[bytes] = ()) -> None:
        """Queue rows to write and to delete, and suffixes to mark changed (``mark_key``), in the next
        ``commit_staged`` (the device's committing thread)."""
        with self._lock:
            self._staged.ops.extend(puts)
            self._staged.ops.extend((key, None) for key in deletes)
            self._staged.marks.update(marks)

    def commit_staged(self) -> None:
        """Write every staged row in one transaction, durable on return (the environment syncs its commits);
        InlineStoreError when the device is gone or full (nothing of it is written)."""
        with self._lock:
            staged, self._staged = self._staged, _Staged()
        if staged.ops or staged.marks or staged.unmarks:
            self.write(staged.ops, staged.marks, staged.unmarks)

    def write(self, ops: Iterable[tuple[bytes, bytes | None]], marks: Iterable[bytes] = (),
              unmarks: list[tuple[bytes, bytes]] | None = None) -> None:
        """Apply ``(key, value)`` puts and ``(key, None)`` deletes, mark suffixes changed and delete the taken
        marks that were not set again (``unmarks``), in one durable transaction (blocking)."""
        try:
            if not self.is_current():
                raise InlineStoreError(f"{self.device_path}: the device's row store is gone")
            try:
                with self.env.begin(db=self.db, write=True) as txn:
                    for key, value in ops:
                        if value is None:
                            txn.delete(key)
                        else:
                            txn.put(key, value)
                    if marks:
                        self._mark_value += 1
                        mark_value = self._mark_value.to_bytes(8, "big")
                        for key in marks:
                            txn.put(key, mark_value, db=self.marks_db)
                    for key, taken in unmarks or ():
                        if txn.get(key, db=self.marks_db) == taken:
                            txn.delete(key, db=self.marks_db)
            except lmdb.Error as exc:  # full map or disk (ENOSPC), I/O error: the write failed, nothing of it is there
                raise InlineStoreError(f"{self.device_path}: {exc}") from exc
        finally:
            if unmarks:  # deleted, set again, or (a failed write) to be reported again: no longer held back
                with self._lock:
                    for key, taken in unmarks:
                        if self._taken.get(key) == taken:
                            del self._taken[key]

    def take_marks(self, policy: int, partition: int) -> set[str]:
        """The suffixes of a partition marked changed since the last call. The marks are deleted with the next
        commit (``commit_staged``) unless set again meanwhile, and not reported again until then: taking them
        costs no write transaction of its own (a synced commit holding the device's writer lock)."""
        prefix = f"{policy}/{partition:010d}/".encode()
        found: list[tuple[bytes, bytes]] = []
        with self.env.begin(db=self.marks_db) as txn:
            cursor = txn.cursor()
            if cursor.set_range(prefix):
                for key, value in cursor:
                    if not key.startswith(prefix):
                        break
                    found.append((key, value))
        if not found:
            return set()
        out: set[str] = set()
        with self._lock:
            for key, value in found:
                if self._taken.get(key) == value:
                    continue  # taken already, not set again since
                self._taken[key] = value
                self._staged.unmarks.append((key, value))
                out.add(key[len(prefix):].decode())
        return out

    def delete_object(self, policy: int, partition: int, hash_hex: str, names: Iterable[str]) -> None:
        """Delete some rows of one object (blocking, durable)."""
        self.write((row_key(policy, partition, hash_hex, n), None) for n in names)


# -- the process's environments, by device ----------------------------------------------------------
_lock = threading.Lock()
_stores: dict[str, InlineObjects] = {}
_checked: dict[str, float] = {}  # device path -> when ``existing`` last looked at its files (monotonic)
CHECK_SECONDS = 1.0  # how long a device's answer is reused (a stat less per request; writes check every time)


def existing(device_path: str) -> InlineObjects | None:
    """The device's row store when it has one (opened once per process: LMDB allows one environment per file
    and process), else None. A store whose device was removed or replaced is dropped (and reopened when the
    device has a new one); the answer is looked at again at most every ``CHECK_SECONDS``."""
    now = time.monotonic()
    if now - _checked.get(device_path, -CHECK_SECONDS) < CHECK_SECONDS:
        return _stores.get(device_path)
    with _lock:
        _checked[device_path] = now
        store = _stores.get(device_path)
        if store is not None:
            if store.is_current():
                return store
            del _stores[device_path]  # (not closed: a reader may still use it; the last reference closes it)
        if not os.path.exists(os.path.join(layout.inline_objects_path(device_path), "data.mdb")):
            return None
        store = _stores[device_path] = InlineObjects(device_path)
        return store


def look_again() -> None:
    """Forget when devices were last looked at: the next ``existing`` of each checks its files (a tool or test
    that has just replaced a device)."""
    _checked.clear()


def opened(device_path: str) -> InlineObjects | None:
    """The device's row store if this process has it open already (no file access: for the event loop)."""
    return _stores.get(device_path)


def for_writes(device_path: str) -> InlineObjects:
    """The device's row store, created when missing (FileNotFoundError when the device itself is gone)."""
    store = existing(device_path)
    if store is None:
        with _lock:
            store = _stores.get(device_path)
            if store is None or not store.is_current():
                store = _stores[device_path] = InlineObjects(device_path)
                _checked[device_path] = time.monotonic()
    return store


def existing_for_partition(part_path: str) -> tuple[InlineObjects, int, int] | None:
    """``(store, policy, partition)`` for a partition directory path (``<device>/objects[-N]/<partition>``) when
    its device has a row store."""
    parsed = layout.split_partition_path(part_path)
    if parsed is None:
        return None
    device_path, policy, partition = parsed
    store = existing(device_path)
    return None if store is None else (store, policy, partition)


def open_devices() -> set[str]:
    """The devices whose environments this process has open."""
    return set(_stores)


def close(device_path: str) -> None:
    """Close one device's environment (a tool done with it; never while it is in use)."""
    with _lock:
        store = _stores.pop(device_path, None)
        _checked.pop(device_path, None)
    if store is not None:
        store.close()


def close_all() -> None:
    """Close every environment of this process (tests, shutdown)."""
    with _lock:
        for store in _stores.values():
            store.close()
        _stores.clear()
        _checked.clear()
