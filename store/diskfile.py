"""On-disk object format: the files of one object's hash dir (paths come from ``store.layout``).

Files of a hash dir (``objects/<partition>/<suffix>/<hash>/`` under a device)::

    <timestamp>.data   object body + metadata trailer
    <timestamp>.meta   metadata update (POST), trailer only
    <timestamp>.ts     tombstone (DELETE), trailer only

They are written under ``tmp/`` and renamed into place; a hash dir that fails verification is moved
to ``quarantined/objects/<hash>[-n]``. ``<hash>`` is ``hash_path(...).hex()`` and ``<suffix>`` its last three
hex digits. Every file is ``body || meta_json || trailer`` where the 24-byte trailer is ``<u64 len(meta_json)><u64
xxh3_64(meta_json)><magic>``, so a PUT writes everything in one streaming pass. The metadata holds
the object's name, timestamp, size, md5 ETag, headers, and an xxh3_64 checksum per
``block_size`` block of the body; reads verify every block they send.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import functools
import hashlib
import json
import os
import struct
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import xxhash

from ring.hashing import partition_of
from stackstore.timestamp import Timestamp
from store import inline_objects, layout
from store.file_access import BLOCKING, CACHE_ONLY, FileAccess, WouldBlock
from store.fsutil import ensure_dir, fsync_paths, make_dir_once, start_writeback
from store.group_commit import NOTHING_TO_PUBLISH, GroupCommit
from store.inline_objects import InlineObjects
from store.io_threads import run_blocking

T = TypeVar("T")

MAGIC = b"SSTRv01\n"
TRAILER = struct.Struct("<QQ8s")
SMALL_FILE = 256 * 1024  # files up to this size are read with one pread
WRITE_BATCH = 1024 * 1024  # body bytes buffered before a (threaded) write
OWN_FSYNC = 1024 * 1024  # bodies at least this big fdatasync themselves before joining a round
SMALL_BODY = 64 * 1024  # bodies up to this size are written by the device's committing thread
IOV_MAX = 1024
_scratch = bytearray()  # blocks verified on the event loop are read into this (ObjectReader._verify_cached_block)


class DiskFileError(Exception):
    """Base class of diskfile errors."""


class DiskFileDigestMismatch(DiskFileError):
    """The received body's digest differs from the one its sender computed (nothing is stored)."""


class DiskFileNotFound(DiskFileError):
    """No live object. ``timestamp`` is the tombstone's (or the expired object's), if any."""

    def __init__(self, timestamp: Timestamp | None = None, expired: bool = False, delete_at: str | None = None):
        super().__init__("not found")
        self.timestamp = timestamp
        self.expired = expired
        self.delete_at = delete_at


class DiskFileQuarantined(DiskFileError):
    """The object failed verification and its hash dir was moved to quarantine."""


class DiskFileNoSpace(DiskFileError):
    """The device is full or not writable."""


class DiskFileConflict(DiskFileError):
    """A write lost to the .data or .ts already there (``timestamp``), which is as new or newer."""

    def __init__(self, timestamp: Timestamp):
        super().__init__("newer object exists")
        self.timestamp = timestamp


def _block_hex(digests: list[int]) -> str:
    return "".join(format(d, "016x") for d in digests)


def _encode_meta(meta: dict[str, Any]) -> bytes:
    blob = json.dumps(meta, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return blob + TRAILER.pack(len(blob), xxhash.xxh3_64_intdigest(blob), MAGIC)


def _parse_trailer(tail: bytes) -> int:
    """Length of the metadata blob ending at the trailer ``tail`` (24 bytes); ValueError if bad."""
    meta_len, _, magic = TRAILER.unpack(tail)
    if magic != MAGIC:
        raise ValueError("bad magic")
    return int(meta_len)


def _parse_meta(blob: bytes | bytearray, checksum: int) -> dict[str, Any]:
    if xxhash.xxh3_64_intdigest(blob) != checksum:
        raise ValueError("metadata checksum mismatch")
    meta = json.loads(blob)
    if not isinstance(meta, dict):
        raise ValueError("metadata is not an object")
    return meta


def read_small_file_meta(path: str, files: FileAccess = BLOCKING) -> dict[str, Any]:
    """Metadata of a trailer-only file (.meta/.ts); ValueError/OSError when unreadable (WouldBlock from
    ``CACHE_ONLY`` where the kernel would have to read the disk)."""
    fd = files.open(path)
    try:
        buf = files.pread(fd, os.fstat(fd).st_size, 0)
    finally:
        os.close(fd)
    return parse_marker(buf)


def parse_marker(buf: bytes | bytearray) -> dict[str, Any]:
    """Metadata of a trailer-only file's bytes (.meta/.ts, a file or a row); ValueError when damaged."""
    if len(buf) < TRAILER.size:
        raise ValueError("short file")
    meta_len, checksum, magic = TRAILER.unpack(buf[-TRAILER.size:])
    if magic != MAGIC or meta_len != len(buf) - TRAILER.size:
        raise ValueError("bad trailer")
    return _parse_meta(buf[:meta_len], checksum)


@dataclass
class HashDirState:
    """The files of one hash dir that matter: newest .data or .ts, and a newer .meta."""

    data: str | None = None  # file name
    tombstone: str | None = None
    meta: str | None = None
    obsolete: list[str] = field(default_factory=list)

    @property
    def newest(self) -> Timestamp | None:
        """Timestamp of the newest .data/.ts (what a PUT/DELETE must beat)."""
        name = self.data or self.tombstone
        return Timestamp(name.rsplit(".", 1)[0]) if name else None

    @property
    def meta_timestamp(self) -> Timestamp | None:
        return Timestamp(self.meta.rsplit(".", 1)[0]) if self.meta else None


@dataclass
class StoredVersion:
    """What a DELETE must know of the stored object: the timestamp of its newest .data/.ts (None when
    the hash dir was quarantined), whether it is live, and its X-Delete-At (also when it has just
    expired)."""

    newest: Timestamp | None
    live: bool
    delete_at: str | None


def scan_hash_dir(files: list[str]) -> HashDirState:
    """Classify a hash dir listing: the winner (newest .data/.ts), a newer .meta, obsolete files."""
    best: tuple[str, str] | None = None  # (timestamp, name)
    metas: list[tuple[str, str]] = []
    others: list[tuple[str, str]] = []
    for name in files:
        ts, _, ext = name.rpartition(".")
        if ext == "meta":
            metas.append((ts, name))
        elif ext in ("data", "ts"):
            if best is None or (ts, ext) > (best[0], best[1].rpartition(".")[2]):
                if best is not None:
                    others.append(best)
                best = (ts, name)
            else:
                others.append((ts, name))
    state = HashDirState(obsolete=[n for _, n in others])
    if best is not None:
        if best[1].endswith(".data"):
            state.data = best[1]
        else:
            state.tombstone = best[1]
    metas.sort(reverse=True)
    for i, (ts, name) in enumerate(metas):
        if best is not None and state.data is not None and i == 0 and ts > best[0]:
            state.meta = name  # the newest .meta, newer than the data, applies
        elif best is not None and (ts <= best[0] or state.data is not None):
            state.obsolete.append(name)  # superseded by newer data/tombstone or by a newer .meta
    return state


class DiskFileManager:
    """Entry point: finds objects on devices and owns the shared I/O machinery."""

    def __init__(self, devices_root: str, executor: Executor, group: GroupCommit, block_size: int = 1 << 20,
                 next_part_power: Callable[[int], int | None] | None = None, inline_max_size: int = 0):
        self.devices_root = str(devices_root)
        self.executor = executor
        self.group = group
        self.block_size = block_size
        # policy -> the part power being moved to (a partition power increase in progress), else None
        self.next_part_power = next_part_power
        # whole files (body, metadata, trailer) up to this size are written as rows (store.inline_objects)
        self.inline_max_size = inline_max_size

    async def row_store(self, device_path: str, size: int) -> InlineObjects | None:
        """Where a file of ``size`` bytes is written as a row: the device's row store (opened in an I/O thread
        the first time), else None (a file)."""
        if size > self.inline_max_size:
            return None
        store = inline_objects.opened(device_path)
        if store is None:
            store = await run_blocking(self.executor, inline_objects.for_writes, device_path)
        return store

    def device_path(self, device: str) -> str:
        """The directory of ``device``."""
        return layout.device_path(self.devices_root, device)

    def get(self, device: str, partition: int, hash_hex: str, name: str, policy: int = 0) -> DiskFile:
        """The object ``hash_hex`` (named ``name``, for its metadata) in a partition of a device, stored
        under storage policy ``policy``."""
        return DiskFile(self, device, partition, hash_hex, name, policy)


class DiskFile:
    """One object (by hash) on one device partition."""

    def __init__(self, mgr: DiskFileManager, device: str, partition: int, hash_hex: str, name: str,
                 policy: int = 0):
        self.mgr = mgr
        self.device_path = mgr.device_path(device)
        self.hash_hex = hash_hex
        self.name = name
        self.policy = policy
        self.partition = partition
        self.dir = layout.hash_dir_path(self.device_path, partition, hash_hex, policy)
        self.seen_files = True  # False once state() found the hash dir empty: nothing to clean up
        self.row_only: frozenset[str] = frozenset()  # names state() found as rows only (store.inline_objects)
        self.listed: tuple[list[str], list[str]] | None = None  # what the last state() listed (files, rows)

    def rows(self) -> InlineObjects | None:
        """The device's row store, if it has one."""
        return inline_objects.existing(self.device_path)

    def row_key(self, name: str, partition: int | None = None) -> bytes:
        """The key of this object's row ``name`` (in ``partition``, default its own)."""
        return inline_objects.row_key(self.policy, self.partition if partition is None else partition,
                                      self.hash_hex, name)

    def listing(self, files: FileAccess = BLOCKING) -> tuple[list[str], list[str]]:
        """(file names, row names) of the hash dir (a listdir and a row lookup: blocking, or ``files=CACHE_ONLY``
        for the listdir on the event loop; the rows are read from LMDB's map either way)."""
        try:
            names = files.listdir(self.dir)
        except FileNotFoundError:
            names = []
        rows = self.rows()
        return names, (rows.names(self.policy, self.partition, self.hash_hex) if rows is not None else [])

    def next_dir(self) -> str | None:
        """Where this object also lives while a partition power increase is in progress: every file
        written here is hard-linked into its location under the next power as well (store/relinker.py
        relinks the rest), else None.

        Asked after a file is renamed into place, never earlier: a write that started before this node
        reloaded a prepared ring may commit after the relinker scanned its partition; its own check,
        made after its rename, then sees the new ring (both share it) and links the file itself."""
        next_part = self.next_partition()
        return None if next_part is None else layout.hash_dir_path(self.device_path, next_part, self.hash_hex,
                                                                   self.policy)

    def next_partition(self) -> int | None:
        """The partition of ``next_dir`` (a partition power increase in progress), else None."""
        mgr = self.mgr
        next_power = mgr.next_part_power(self.policy) if mgr.next_part_power is not None else None
        if next_power is None:
            return None
        next_part = partition_of(bytes.fromhex(self.hash_hex), next_power)
        return None if next_part == self.partition else next_part

    # -- state ---------------------------------------------------------------------------------
    def state(self, files: FileAccess = BLOCKING) -> HashDirState:
        """What the hash dir holds now, files and rows (a listdir: blocking, or ``files=CACHE_ONLY`` on the
        event loop)."""
        names, row_names = self.listed = self.listing(files)
        if row_names:
            self.row_only = frozenset(row_names).difference(names)
            names = names + sorted(self.row_only)
        else:
            self.row_only = frozenset()
        self.seen_files = bool(names)
        return scan_hash_dir(names)

    def _row_bytes(self, name: str) -> bytes:
        """The bytes of this object's row ``name``; FileNotFoundError when it is gone."""
        rows = self.rows()
        blob = rows.read(self.policy, self.partition, self.hash_hex, name) if rows is not None else None
        if blob is None:
            raise FileNotFoundError(name)
        return blob

    def read_marker(self, name: str, files: FileAccess = BLOCKING) -> dict[str, Any]:
        """The metadata of the .meta/.ts ``name`` (a row when ``state`` found it as one); FileNotFoundError
        when it is gone, ValueError/OSError when damaged."""
        if name in self.row_only:
            return parse_marker(self._row_bytes(name))
        return read_small_file_meta(os.path.join(self.dir, name), files)

    def open_data(self, name: str, meta_update: dict[str, Any] | None,
                  files: FileAccess = BLOCKING) -> ObjectReader:
        """The object in the .data ``name`` (a row when ``state`` found it as one); FileNotFoundError when it
        is gone, OSError/ValueError/KeyError/TypeError when damaged."""
        if name in self.row_only:
            return ObjectReader.from_bytes(self, self._row_bytes(name), meta_update)
        return ObjectReader.open(self, os.path.join(self.dir, name), meta_update, files)

    def read_file_bytes(self, name: str) -> bytes:
        """A trailer-only file's bytes (file or row) after checking them (blocking; replication sends them)."""
        if name in self.row_only:
            blob = self._row_bytes(name)
        else:
            with open(os.path.join(self.dir, name), "rb") as fh:
                blob = fh.read()
        parse_marker(blob)
        return blob

    def open(self, state: HashDirState | None = None, now: float | None = None,
             files: FileAccess = BLOCKING) -> ObjectReader:
        """Open the live object for reading; DiskFileNotFound / DiskFileQuarantined otherwise.

        With ``files=CACHE_ONLY`` (on the event loop) every step is answered from the kernel's caches or
        raises WouldBlock, and a file that fails its checks raises WouldBlock too: the blocking open in an
        I/O thread then finds it again and quarantines it."""
        state = state or self.state(files)
        if state.data is None:
            raise DiskFileNotFound(state.newest)
        meta_update = None
        if state.meta is not None:
            try:
                meta_update = self.read_marker(state.meta, files)
            except FileNotFoundError:
                return self.open(None, now, files)
            except (OSError, ValueError, KeyError, TypeError):
                self._quarantine_unless_cache_only(files)
                raise DiskFileQuarantined("bad .meta file") from None
        try:
            reader = self.open_data(state.data, meta_update, files)
        except FileNotFoundError:  # a concurrent writer cleaned it up: look again
            return self.open(None, now, files)
        except (OSError, ValueError, KeyError, TypeError):
            self._quarantine_unless_cache_only(files)
            raise DiskFileQuarantined("bad .data file") from None
        delete_at = reader.headers.get("X-Delete-At")
        if delete_at is not None:
            try:
                expired = int(delete_at) <= (time.time() if now is None else now)
            except ValueError:
                expired = False
            if expired:
                reader.close()
                raise DiskFileNotFound(reader.timestamp, expired=True, delete_at=delete_at)
        return reader

    def _quarantine_unless_cache_only(self, files: FileAccess) -> None:
        if files.cache_only:  # quarantining moves files (blocking): the I/O thread's open will do it
            raise WouldBlock(self.dir)
        self.quarantine()

    async def open_on_loop(self, now: float | None = None) -> ObjectReader:
        """``open`` from the event loop: answered from the kernel's caches on the loop itself, else (a cache
        miss, or a file to quarantine) in an I/O thread."""
        try:
            return self.open(None, now, CACHE_ONLY)
        except WouldBlock:
            return await run_blocking(self.mgr.executor, self.open, None, now)

    def check_newer(self, timestamp: Timestamp, files: FileAccess = BLOCKING) -> bool:
        """True, or DiskFileConflict when the hash dir's .data/.ts is as new as ``timestamp`` (a listdir:
        blocking, or ``files=CACHE_ONLY`` on the event loop); a write of ``timestamp`` would lose."""
        newest = self.state(files).newest
        if newest is not None and newest >= timestamp:
            raise DiskFileConflict(newest)
        return True

    async def check_newer_on_loop(self, timestamp: Timestamp) -> bool:
        """``check_newer`` from the event loop: from the kernel's caches there, else in an I/O thread."""
        try:
            return self.check_newer(timestamp, CACHE_ONLY)
        except WouldBlock:
            return await run_blocking(self.mgr.executor, self.check_newer, timestamp)

    def stored_version(self) -> StoredVersion:
        """The stored object's version as a DELETE sees it (blocking: listdir, open, read)."""
        state = self.state()
        try:
            reader = self.open(state)
        except DiskFileNotFound as exc:
            return StoredVersion(state.newest, False, exc.delete_at if exc.expired else None)
        except DiskFileQuarantined:
            return StoredVersion(None, False, None)
        reader.close()
        return StoredVersion(state.newest, True, reader.headers.get("X-Delete-At"))

    def quarantine(self) -> str | None:
        """Move the whole hash dir to ``<device>/quarantined/objects[-N]/``, its rows written out there as files
        and deleted; return its new path (blocking)."""
        qdir = layout.quarantined_objects_path(self.device_path, self.policy)
        ensure_dir(qdir, self.device_path)
        dest = os.path.join(qdir, self.hash_hex)
        target: str | None = None
        for attempt in range(100):
            candidate = dest if attempt == 0 else f"{dest}-{uuid.uuid4().hex[:8]}"
            try:
                os.rename(self.dir, candidate)
                target = candidate
                break
            except FileNotFoundError:
                break
            except OSError as exc:
                if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    raise
        rows = self.rows()
        names = rows.names(self.policy, self.partition, self.hash_hex) if rows is not None else []
        if names and rows is not None:
            if target is None:
                target = _new_dir(dest)
            for name in names:
                blob = rows.read(self.policy, self.partition, self.hash_hex, name)
                if blob is not None:
                    with open(os.path.join(target, name), "wb") as fh:
                        fh.write(blob)
            rows.delete_object(self.policy, self.partition, self.hash_hex, names)
        if target is not None:
            invalidate_suffix(self.dir)
        return target

    # -- writes --------------------------------------------------------------------------------
    def writer(self) -> DiskFileWriter:
        return DiskFileWriter(self)

    async def put_tombstone(self, timestamp: Timestamp,
                            write_if: Callable[[StoredVersion], bool] | None = None) -> StoredVersion | None:
        """Durably write ``<timestamp>.ts`` and clean up what it supersedes.

        With ``write_if``, the stored version is read first by the thread that commits and passed to it
        there (it may raise, which this raises): the tombstone is written only if it answers True. One
        hand-off to the I/O threads for the read and the write; returns the version read (else None)."""
        seen: list[StoredVersion] = []
        precheck: Callable[[], bool] | None = None
        if write_if is not None:
            decide = write_if

            def precheck() -> bool:
                seen.append(self.stored_version())
                return decide(seen[0])

        w = DiskFileWriter(self)
        try:
            await w.commit_marker(timestamp, ".ts", {"name": self.name, "ts": timestamp.normal}, precheck)
        finally:
            await w.aclose()
        return seen[0] if seen else None

    async def put_metadata(self, timestamp: Timestamp, headers: dict[str, str]) -> None:
        """Durably write ``<timestamp>.meta`` holding ``headers``: it replaces the object's user and
        transient-sysmeta metadata, X-Delete-At and X-Object-Manifest (a POST sets, changes or removes a
        DLO's manifest, as Swift's), and its X-Object-Sysmeta-* set replaces the object's (callers pass
        the complete merged set); Content-Type if present."""
        w = DiskFileWriter(self)
        try:
            meta = {"name": self.name, "ts": timestamp.normal, "headers": headers, "sysmeta_set": True,
                    "manifest_set": True}
            await w.commit_marker(timestamp, ".meta", meta)
        finally:
            await w.aclose()

    def cleanup(self) -> None:
        """Remove files superseded by newer ones (older .data/.ts, stale .meta), here and in the
        next-power location."""
        remove_obsolete(self.dir)
        next_dir = self.next_dir()
        if next_dir is not None:
            remove_obsolete(next_dir)


def _new_dir(dest: str) -> str:
    """Create ``dest`` or, when taken, ``dest-<random>``; the one created."""
    for attempt in range(100):
        candidate = dest if attempt == 0 else f"{dest}-{uuid.uuid4().hex[:8]}"
        try:
            os.mkdir(candidate)
            return candidate
        except FileExistsError:
            continue
    raise FileExistsError(dest)


def row_location(hash_dir: str) -> tuple[InlineObjects, int, int, str] | None:
    """(row store, policy, partition, hash) of a hash dir path whose device has rows (blocking)."""
    found = inline_objects.existing_for_partition(os.path.dirname(os.path.dirname(hash_dir)))
    if found is None:
        return None
    store, policy, partition = found
    return store, policy, partition, os.path.basename(hash_dir)


def hash_dir_names(hash_dir: str) -> list[str]:
    """The file names a hash dir holds, as files or as rows (blocking; operators' tools and tests look at
    replicas with it)."""
    try:
        names = os.listdir(hash_dir)
    except (FileNotFoundError, NotADirectoryError):
        names = []
    where = row_location(hash_dir)
    if where is not None:
        names = list(dict.fromkeys(names + where[0].names(where[1], where[2], where[3])))
    return names


def hash_dir_file_bytes(hash_dir: str, name: str) -> bytes:
    """The bytes of the file ``name`` of a hash dir, a file or a row (blocking); FileNotFoundError when it is
    not there."""
    path = os.path.join(hash_dir, name)
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        pass
    where = row_location(hash_dir)
    blob = where[0].read(where[1], where[2], where[3], name) if where is not None else None
    if blob is None:
        raise FileNotFoundError(path)
    return blob


def open_hash_dir_file(hash_dir: str, name: str) -> ObjectReader:
    """The object in the .data ``name`` of a hash dir, a file or a row (blocking; no DiskFile: its reads are not
    quarantined, operators' tools and tests look at replicas with it); FileNotFoundError when it is not there.
    A file is opened, not read whole."""
    path = os.path.join(hash_dir, name)
    if os.path.exists(path):
        return ObjectReader.open(None, path, None)  # type: ignore[arg-type]
    return ObjectReader.from_bytes(None, hash_dir_file_bytes(hash_dir, name), None)  # type: ignore[arg-type]


def relink_rows(src: str, dst: str) -> int:
    """Copy the rows of hash dir ``src`` that nothing there supersedes to hash dir ``dst`` of the same device
    (a partition power increase, ``store.relinker``); how many were new there (blocking, durable)."""
    where = row_location(src)
    parsed = layout.split_partition_path(os.path.dirname(os.path.dirname(dst)))
    if where is None or parsed is None:
        return 0
    store, policy, part, hash_hex = where
    names = store.names(policy, part, hash_hex)
    obsolete = set(scan_hash_dir(names).obsolete)
    present = set(store.names(policy, parsed[2], hash_hex))
    ops: list[tuple[bytes, bytes | None]] = []
    for name in names:
        if name not in obsolete and name not in present:
            blob = store.read(policy, part, hash_hex, name)
            if blob is not None:  # (removed by a newer write meanwhile)
                ops.append((inline_objects.row_key(policy, parsed[2], hash_hex, name), blob))
    if ops:
        store.write(ops)
    return len(ops)


def remove_rows(hash_dir: str) -> None:
    """Delete every row of a hash dir (blocking, durable)."""
    where = row_location(hash_dir)
    if where is not None:
        store, policy, part, hash_hex = where
        names = store.names(policy, part, hash_hex)
        if names:
            store.delete_object(policy, part, hash_hex, names)


def remove_obsolete(hash_dir: str) -> None:
    """Remove the files and rows of a hash dir superseded by newer ones (blocking)."""
    try:
        names = os.listdir(hash_dir)
    except FileNotFoundError:
        names = []
    where = row_location(hash_dir)
    row_names = where[0].names(where[1], where[2], where[3]) if where is not None else []
    if not names and not row_names:
        return
    state = scan_hash_dir(list(dict.fromkeys(names + row_names)))
    for name in state.obsolete:
        if name in names:
            try:
                os.unlink(os.path.join(hash_dir, name))
            except FileNotFoundError:
                pass
    stale_rows = [name for name in state.obsolete if name in row_names]
    if stale_rows and where is not None:
        where[0].delete_object(where[1], where[2], where[3], stale_rows)


def link_as(path: str, target: str, device_path: str) -> bool:
    """Hard-link the file ``path`` as ``target`` (same filesystem; blocking); True when a link was made. A link
    of the same file already there is kept (False); a different file of that name (the name written again, as a
    replicated copy renamed over a relinked one) is replaced, through the device's tmp dir, so both names stay
    one file. FileNotFoundError when ``path`` or ``target``'s directory is gone."""
    try:
        os.link(path, target)
        return True
    except FileExistsError:
        try:
            if os.path.samefile(path, target):
                return False
        except FileNotFoundError:  # removed meanwhile by a newer write's cleanup
            return False
    make_dir_once(layout.tmp_path(device_path))
    spare = layout.new_tmp_file(device_path)
    os.link(path, spare)
    os.rename(spare, target)
    return True


def link_file(path: str, hash_dir: str, device_path: str) -> list[str]:
    """Hard-link ``path`` into ``hash_dir`` (created as needed) under the same name (``link_as``) and mark its
    suffix changed; the directories created (blocking)."""
    changed = ensure_dir(hash_dir, device_path)
    link_as(path, os.path.join(hash_dir, os.path.basename(path)), device_path)
    invalidate_suffix(hash_dir)
    return changed


class DiskFileWriter:
    """Streams a body into a temp file, then commits it durably under the hash dir.

    Small bodies stay in memory until ``commit``, which hands every filesystem step (listdir for
    the timestamp check, create, write, rename, cleanup) to the device's committing I/O thread
    between its syncfs rounds (``GroupCommit.submit``), or in fsync mode to one I/O thread hop:
    metadata operations can block for milliseconds on a busy journal and must not stall the loop.
    Large bodies are hashed and written in ``WRITE_BATCH`` batches in the I/O threads, one batch
    in flight while the next one is received.
    """

    def __init__(self, df: DiskFile):
        self.df = df
        self.mgr = df.mgr
        self.block_size = df.mgr.block_size
        self.tmp_path: str | None = None
        self.fd = -1
        self.size = 0
        self._md5: Any = hashlib.md5(usedforsecurity=False)
        self._whole: Any = None  # the body's xxh3-64 when its sender supplies the MD5 (check_sender_md5)
        self._block = xxhash.xxh3_64()
        self._block_fill = 0
        self._digests: list[int] = []
        self._buf: list[bytes] = []  # received, not yet hashed
        self._buf_len = 0
        self._unwritten: list[bytes] = []  # hashed, not yet written (small bodies)
        self._job: asyncio.Future | None = None
        self._written = 0
        self._cleanup_after = False  # a row write superseded files (removed after its round)
        self._row_linked = False  # a row was staged under the next partition power too
        self.etag: str | None = None

    def check_sender_md5(self) -> None:
        """Before the body: its MD5 (the ETag) will come from the sender with its xxh3-64, which is all
        this writer computes of the whole body (``finish(sender_digests=...)`` compares them)."""
        self._md5 = None
        self._whole = xxhash.xxh3_64()

    def _open(self) -> None:
        self.tmp_path = layout.new_tmp_file(self.df.device_path)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        try:
            self.fd = os.open(self.tmp_path, flags, 0o644)
        except FileNotFoundError:
            make_dir_once(layout.tmp_path(self.df.device_path))
            self.fd = os.open(self.tmp_path, flags, 0o644)

    async def write(self, chunk: bytes) -> None:
        """Add body bytes; buffered, then hashed and written in large batches off the loop."""
        if not chunk:
            return
        self._buf.append(chunk)
        self._buf_len += len(chunk)
        self.size += len(chunk)
        if self._buf_len >= WRITE_BATCH:
            await self._flush_threaded()

    async def _flush_threaded(self) -> None:
        chunks, self._buf, self._buf_len = self._buf, [], 0
        if self._job is not None:
            await self._job  # one batch in flight: hash+write N while receiving N+1
        self._job = run_blocking(self.mgr.executor, self._hash_and_write, chunks)

    def _hash(self, chunks: list[bytes]) -> None:
        bs = self.block_size
        whole = self._md5 if self._md5 is not None else self._whole
        for chunk in chunks:
            whole.update(chunk)
            mv = memoryview(chunk)
            while mv:
                take = min(len(mv), bs - self._block_fill)
                self._block.update(mv[:take])
                self._block_fill += take
                mv = mv[take:]
                if self._block_fill == bs:
                    self._digests.append(self._block.intdigest())
                    self._block.reset()
                    self._block_fill = 0

    def _hash_and_write(self, chunks: list[bytes]) -> None:
        self._hash(chunks)
        if self.fd < 0:
            self._open()
        offset = self._written
        _write_all(self.fd, chunks)
        self._written += sum(len(c) for c in chunks)
        start_writeback(self.fd, offset, self._written - offset)

    async def finish(self, sender_digests: tuple[str, str] | None = None) -> str:
        """Hash what is buffered (writing it if the body is large); return the md5 hex ETag.

        After ``check_sender_md5``, ``sender_digests`` is the sender's (MD5 hex, xxh3-64 hex) of the body:
        DiskFileDigestMismatch unless the xxh3 matches what arrived; the MD5 is then the ETag."""
        if self._job is not None:
            await self._flush_threaded()
            await self._job
        else:
            chunks, self._buf, self._buf_len = self._buf, [], 0
            self._hash(chunks)
            self._unwritten = chunks
        if self._block_fill:
            self._digests.append(self._block.intdigest())
            self._block_fill = 0
        if self._md5 is not None:
            self.etag = self._md5.hexdigest()
            return self.etag
        if sender_digests is None or sender_digests[1] != self._whole.hexdigest():
            raise DiskFileDigestMismatch("the body differs from what its sender hashed")
        self.etag = sender_digests[0]
        return self.etag

    async def commit(self, timestamp: Timestamp, headers: dict[str, str], newer_only: bool = False) -> None:
        """Append the metadata trailer and make ``<timestamp>.data`` durable (after finish()).

        With ``newer_only``, first raise DiskFileConflict if the hash dir holds a .data/.ts as new
        as ``timestamp`` (checked in the I/O thread that commits: no listdir on the event loop).
        """
        assert self.etag is not None, "finish() first"
        meta = {
            "name": self.df.name,
            "ts": timestamp.normal,
            "size": self.size,
            "etag": self.etag,
            "headers": headers,
            "bs": self.block_size,
            "blocks": _block_hex(self._digests),
        }
        await self._commit(timestamp, ".data", _encode_meta(meta),
                           functools.partial(self.df.check_newer, timestamp) if newer_only else None)

    async def commit_marker(self, timestamp: Timestamp, ext: str, meta: dict[str, Any],
                            precheck: Callable[[], bool] | None = None) -> None:
        """Durably write a trailer-only file (``.ts`` or ``.meta``); ``precheck`` as ``_commit``'s."""
        await self._commit(timestamp, ext, _encode_meta(meta), precheck)

    async def _commit(self, timestamp: Timestamp, ext: str, trailer: bytes,
                      precheck: Callable[[], bool] | None = None) -> None:
        """Write the rest and install ``<timestamp><ext>`` durably. ``precheck`` (blocking) runs first in
        the committing thread: False writes nothing, an exception is raised here."""
        target = os.path.join(self.df.dir, timestamp.normal + ext)
        group = self.mgr.group
        run = functools.partial(run_blocking, self.mgr.executor)
        if not (group.enabled and group.batched(self.df.device_path)):
            await run(self._commit_fsync, target, trailer, precheck, group.enabled)
            return
        if self.fd < 0 and self.size <= SMALL_BODY:
            rows = await self.mgr.row_store(self.df.device_path, self.size + len(trailer))
            if rows is not None:  # a row: durable with the round's transaction, no file, rename or syncfs
                self._job = group.submit(self.df.device_path,
                                         functools.partial(self._stage_row, rows, timestamp.normal + ext, trailer,
                                                           precheck),
                                         None, self._after_row, rows=rows)
                await self._job
                return
        rest: bytes | None = trailer  # what the committing thread still writes
        if self.fd >= 0 or self.size > SMALL_BODY:  # big writes stay out of the committing thread
            await run(self._write_rest, trailer, self.size >= OWN_FSYNC)
            rest = None
        self._job = group.submit(self.df.device_path, functools.partial(self._prepare, rest, precheck),
                                 functools.partial(self._rename, target), self._cleanup)
        await self._job

    def _prepare(self, trailer: bytes | None, precheck: Callable[[], bool] | None) -> object:
        if precheck is not None and not precheck():
            return NOTHING_TO_PUBLISH
        if trailer is not None:
            self._write_rest(trailer)
        return None

    def _cleanup(self) -> None:
        if self.df.seen_files:
            self.df.cleanup()

    def _stage_row(self, rows: InlineObjects, name: str, trailer: bytes,
                   precheck: Callable[[], bool] | None) -> object:
        """In the committing thread: queue the file ``name`` as a row for this round's transaction, with the
        deletion of the rows it supersedes (files it supersedes are removed once it is durable: ``_after_row``)."""
        df = self.df
        df.listed = None
        if precheck is not None and not precheck():
            return NOTHING_TO_PUBLISH
        # what the precheck (a timestamp check, a DELETE's look at the stored version) just listed, else a look
        files, row_names = df.listed if df.listed is not None else df.listing()
        obsolete = scan_hash_dir(list(dict.fromkeys([*files, *row_names, name]))).obsolete
        if name in obsolete:  # superseded already (a replicated older version): nothing to keep
            return NOTHING_TO_PUBLISH
        self._unwritten.append(trailer)
        value = b"".join(self._unwritten)
        self._unwritten = []
        in_rows = set(row_names)
        puts = [(df.row_key(name), value)]
        deletes = [df.row_key(n) for n in obsolete if n in in_rows]
        self._cleanup_after = any(n in files for n in obsolete)
        # the suffix is marked changed in the row's own transaction: a replicator that takes the mark sees the row
        marks = [inline_objects.mark_key(df.policy, df.partition, df.hash_hex)]
        next_part = df.next_partition()  # a partition power increase: the row is written under the next power too
        if next_part is not None:
            next_rows = rows.names(df.policy, next_part, df.hash_hex)
            puts.append((df.row_key(name, next_part), value))
            deletes += [df.row_key(n, next_part) for n in scan_hash_dir(
                list(dict.fromkeys([*next_rows, name]))).obsolete if n in next_rows]
            marks.append(inline_objects.mark_key(df.policy, next_part, df.hash_hex))
            self._cleanup_after = True  # the next location's files are cleaned up too
        self._row_linked = next_part is not None
        rows.stage(puts, deletes, marks)
        return None

    def _after_row(self) -> None:
        """After a row's round (it is committed): remove the files it superseded (kept until it was durable);
        copy the row to its next-power location if a partition power increase was prepared meanwhile."""
        if not self._row_linked:
            # As a file's writer asks after its rename (DiskFile.next_dir), a row's writer asks again once the
            # row is committed: a ring prepared after the staging looked may have had the relinker read this
            # partition's rows before the row was there; its copy is made here then.
            next_dir = self.df.next_dir()
            if next_dir is not None and relink_rows(self.df.dir, next_dir):
                remove_obsolete(next_dir)
                invalidate_suffix(next_dir)
        if self._cleanup_after:
            self.df.cleanup()

    def _write_rest(self, trailer: bytes, own_sync: bool = False) -> None:
        if self.fd < 0:
            self._open()
        self._unwritten.append(trailer)
        chunks, self._unwritten = self._unwritten, []
        _write_all(self.fd, chunks)
        if own_sync:  # flush a big body alone instead of making everyone's syncfs round wait for it
            os.fdatasync(self.fd)

    def _rename(self, target: str) -> list[str]:
        os.close(self.fd)
        self.fd = -1
        changed = ensure_dir(self.df.dir, self.df.device_path)
        assert self.tmp_path is not None, "_prepare or _write_rest opened the temp file"
        os.rename(self.tmp_path, target)
        self.tmp_path = None
        invalidate_suffix(self.df.dir)
        next_dir = self.df.next_dir()  # after the rename (see DiskFile.next_dir)
        if next_dir is not None:
            changed = [*changed, *link_file(target, next_dir, self.df.device_path), next_dir]
        return changed

    def _commit_fsync(self, target: str, trailer: bytes, precheck: Callable[[], bool] | None,
                      durable: bool) -> None:
        if precheck is not None and not precheck():
            return
        self._write_rest(trailer)
        if durable:
            os.fdatasync(self.fd)
        changed = self._rename(target)
        if durable:
            fsync_paths([self.df.dir, *changed])
        self._cleanup()

    async def write_raw(self, chunk: bytes) -> None:
        """Add bytes of a replicated file, verbatim (already verified by the sender); then commit_raw()."""
        self._unwritten.append(chunk)
        self.size += len(chunk)
        if self.size - self._written >= WRITE_BATCH:
            chunks, self._unwritten = self._unwritten, []
            self._written += sum(len(c) for c in chunks)
            await run_blocking(self.mgr.executor, self._write_raw, chunks)

    def _write_raw(self, chunks: list[bytes]) -> None:
        if self.fd < 0:
            self._open()
        _write_all(self.fd, chunks)

    async def commit_raw(self, filename: str) -> None:
        """Durably install the replicated file as ``<hash dir>/<filename>`` (same path as PUT)."""
        ts, _, ext = filename.rpartition(".")
        if ext not in ("data", "meta", "ts"):
            raise ValueError(f"bad file name {filename!r}")
        await self._commit(Timestamp(ts), "." + ext, b"")

    async def aclose(self) -> None:
        """``close`` from the event loop: an uncommitted temp file is closed and unlinked in an I/O
        thread (a committed or in-memory write has nothing left to release)."""
        if (self._job is not None and not self._job.done()) or (self.fd < 0 and self.tmp_path is None):
            self.close()
            return
        # shielded: a cancelled waiter must not cancel the queued close (the fd and file would leak)
        await asyncio.shield(run_blocking(self.mgr.executor, self.close))

    def close(self) -> None:
        """Release the temp file (blocking); an uncommitted write leaves nothing behind."""
        if self._job is not None and not self._job.done():
            self._job.add_done_callback(lambda _: self.close())  # the I/O thread still holds the fd
            return
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if self.tmp_path is not None:
            try:
                os.unlink(self.tmp_path)
            except FileNotFoundError:
                pass
            self.tmp_path = None


def _write_all(fd: int, chunks: list[bytes]) -> None:
    """writev every chunk, coping with short writes; ENOSPC/EDQUOT become DiskFileNoSpace."""
    try:
        for i in range(0, len(chunks), IOV_MAX):
            group = chunks[i:i + IOV_MAX]
            total = sum(len(c) for c in group)
            written = os.writev(fd, group)
            if written < total:  # rare: finish the remainder chunk by chunk
                view = memoryview(b"".join(group))[written:]
                while view:
                    view = view[os.write(fd, view):]
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO):
            raise DiskFileNoSpace(str(exc)) from exc
        raise


def _checked_data_meta(blob: bytes | bytearray, checksum: int, body_size: int) -> dict[str, Any]:
    """A .data file's metadata, checked against its body's size and block count (ValueError when damaged)."""
    meta = _parse_meta(blob, checksum)
    if meta.get("size") != body_size or not isinstance(meta.get("etag"), str):
        raise ValueError("size mismatch")
    nblocks = -(-body_size // meta["bs"]) if body_size else 0
    if len(meta.get("blocks", "")) != 16 * nblocks:
        raise ValueError("block checksum count mismatch")
    return meta


class ObjectReader:
    """An open object: merged metadata and verified, block-wise body reads (from a file, or from a row's bytes:
    ``fd`` -1)."""

    def __init__(self, df: DiskFile, fd: int, meta: dict[str, Any], meta_update: dict[str, Any] | None,
                 head: bytes | bytearray | None, file_size: int):
        self.df = df
        self.fd = fd
        self.meta = meta
        self.size: int = meta["size"]
        self.etag: str = meta["etag"]
        self.timestamp = Timestamp(meta["ts"])
        self.block_size: int = meta["bs"]
        self._blocks: str = meta["blocks"]
        self._head = head  # the whole file when small
        self.file_size = file_size  # body, metadata and trailer
        headers: dict[str, str] = dict(meta.get("headers") or {})
        self.meta_timestamp: Timestamp | None = None
        if meta_update is not None:
            self.meta_timestamp = Timestamp(meta_update["ts"])
            update = meta_update.get("headers") or {}
            replaced: tuple[str, ...] = ("x-object-meta-", "x-object-transient-sysmeta-")
            if meta_update.get("sysmeta_set"):
                replaced += ("x-object-sysmeta-",)  # the .meta carries the whole merged sysmeta set
            dropped = ("x-delete-at", "x-object-manifest") if meta_update.get("manifest_set") else ("x-delete-at",)
            for key in list(headers):
                lk = key.lower()
                if lk.startswith(replaced) or lk in dropped:
                    del headers[key]
            for key, value in update.items():
                if key.lower() == "content-type":
                    headers.pop("Content-Type", None)
                headers[key] = value
        self.headers = headers

    @classmethod
    def open(cls, df: DiskFile, path: str, meta_update: dict[str, Any] | None,
             files: FileAccess = BLOCKING) -> ObjectReader:
        """The object in the .data file ``path``, its trailer and metadata checked (the whole file read
        when it is small); OSError/ValueError/KeyError/TypeError when it is unreadable or damaged."""
        fd = files.open(path)
        try:
            file_size = os.fstat(fd).st_size
            if file_size < TRAILER.size:
                raise ValueError("short file")
            head = None
            if file_size <= SMALL_FILE:
                head = files.pread(fd, file_size, 0)
                tail = head[-TRAILER.size:]
            else:
                tail = files.pread(fd, TRAILER.size, file_size - TRAILER.size)
            meta_len, checksum, magic = TRAILER.unpack(tail)
            if magic != MAGIC or meta_len > file_size - TRAILER.size:
                raise ValueError("bad trailer")
            meta_start = file_size - TRAILER.size - meta_len
            if head is not None:
                blob = head[meta_start:meta_start + meta_len]
            else:
                blob = files.pread(fd, meta_len, meta_start)
            return cls(df, fd, _checked_data_meta(blob, checksum, meta_start), meta_update, head, file_size)
        except BaseException:
            os.close(fd)
            raise

    @classmethod
    def from_bytes(cls, df: DiskFile, buf: bytes, meta_update: dict[str, Any] | None) -> ObjectReader:
        """The object in a .data file's bytes (a row of ``store.inline_objects``), checked as ``open`` checks a
        file; ValueError/KeyError/TypeError when damaged."""
        file_size = len(buf)
        if file_size < TRAILER.size:
            raise ValueError("short file")
        meta_len, checksum, magic = TRAILER.unpack(buf[-TRAILER.size:])
        if magic != MAGIC or meta_len > file_size - TRAILER.size:
            raise ValueError("bad trailer")
        meta_start = file_size - TRAILER.size - meta_len
        meta = _checked_data_meta(buf[meta_start:meta_start + meta_len], checksum, meta_start)
        return cls(df, -1, meta, meta_update, buf, file_size)

    def trailer_bytes(self) -> bytes | bytearray:
        """The file's metadata and trailer, as stored (blocking when the file was not read whole)."""
        if self._head is not None:
            return self._head[self.size:]
        return os.pread(self.fd, self.file_size - self.size, self.size)

    @property
    def in_memory(self) -> bool:
        """Whether the whole file was read when it was opened (a small object)."""
        return self._head is not None

    @property
    def newest_timestamp(self) -> Timestamp:
        """Newest of the data and metadata timestamps."""
        if self.meta_timestamp is not None and self.meta_timestamp > self.timestamp:
            return self.meta_timestamp
        return self.timestamp

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "application/octet-stream")

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def _read_block(self, index: int, files: FileAccess = BLOCKING) -> bytes | bytearray:
        bs = self.block_size
        start = index * bs
        length = min(bs, self.size - start)
        data: bytes | bytearray
        if self._head is not None:
            data = self._head[start:start + length]
        else:
            data = files.pread(self.fd, length, start)
        self._check(index, data, length)
        return data

    def _check(self, index: int, data: bytes | bytearray | memoryview, length: int) -> None:
        """DiskFileQuarantined unless ``data`` is block ``index`` as written (its length and xxh3)."""
        if len(data) != length or format(xxhash.xxh3_64_intdigest(data), "016x") != self._blocks[
                16 * index:16 * index + 16]:
            raise DiskFileQuarantined(f"block {index} failed verification")

    def verify_block(self, index: int) -> int:
        """Read and check block ``index`` (blocking); its length, DiskFileQuarantined if corrupt."""
        return len(self._read_block(index))

    def _verify_cached_block(self, index: int) -> int:
        """``verify_block`` from the page cache into the process's scratch buffer (on the event loop, which
        runs one at a time); WouldBlock when the block is not all cached."""
        global _scratch
        start = index * self.block_size
        length = min(self.block_size, self.size - start)
        if len(_scratch) < length:
            _scratch = bytearray(length)
        view = memoryview(_scratch)[:length]
        CACHE_ONLY.pread_into(self.fd, view, start)
        self._check(index, view, length)
        return length

    async def check_block(self, index: int) -> int:
        """Verify block ``index`` without keeping it (the caller sends it from the file:
        ``store.file_response.FileRangeResponse``); its length. From the page cache on the event loop, else in
        an I/O thread; quarantines and raises as ``read_block``."""
        if self._head is not None:
            return len(await self.read_block(index))
        return await self._guarded(self._check_block_on_loop(index))

    async def _check_block_on_loop(self, index: int) -> int:
        try:
            return self._verify_cached_block(index)
        except WouldBlock:
            return await run_blocking(self.df.mgr.executor, self.verify_block, index)

    async def _guarded(self, step: Awaitable[T]) -> T:
        """``step``'s result; a corrupt or unreadable block closes the reader and quarantines the object (in
        an I/O thread): DiskFileQuarantined, or DiskFileError for other read errors."""
        try:
            return await step
        except DiskFileQuarantined:
            self.close()
            await run_blocking(self.df.mgr.executor, self.df.quarantine)
            raise
        except OSError as exc:
            self.close()
            if exc.errno == errno.EIO:  # unreadable media: let replication restore a good copy
                await run_blocking(self.df.mgr.executor, self.df.quarantine)
                raise DiskFileQuarantined(str(exc)) from exc
            raise DiskFileError(str(exc)) from exc

    @property
    def block_count(self) -> int:
        return -(-self.size // self.block_size) if self.size else 0

    async def read_block(self, index: int) -> bytes | bytearray:
        """Block ``index``, verified; quarantines the object and raises if it is corrupt. Read on the event
        loop when the page cache holds it (``CACHE_ONLY``), else in an I/O thread."""
        return await self._guarded(self._read_block_on_loop(index))

    async def _read_block_on_loop(self, index: int) -> bytes | bytearray:
        if self._head is None:
            try:
                return self._read_block(index, CACHE_ONLY)
            except WouldBlock:
                return await run_blocking(self.df.mgr.executor, self._read_block, index)
        return self._read_block(index)

    async def iter_range(self, start: int, end: int,
                         first: bytes | bytearray | None = None) -> AsyncIterator[memoryview]:
        """Yield body bytes ``start..end`` (inclusive), verifying each block before sending it.

        ``first`` is block ``start // block_size`` when the caller already read it (to find
        corruption before the response headers go out). The next block is read (and verified)
        while the current one is being sent.
        """
        bs = self.block_size
        last = end // bs
        index = start // bs
        ahead: asyncio.Task | None = None
        try:
            while index <= last:
                if first is not None:
                    block, first = first, None
                elif ahead is not None:
                    block, ahead = await ahead, None
                else:
                    block = await self.read_block(index)
                if index < last:
                    ahead = asyncio.ensure_future(self.read_block(index + 1))
                lo = max(start - index * bs, 0)
                hi = min(end - index * bs + 1, len(block))
                yield memoryview(block)[lo:hi]  # (a view: no copy of the block)
                index += 1
        finally:
            if ahead is not None:
                ahead.cancel()
                try:
                    await ahead
                except BaseException:  # the reader is being abandoned anyway
                    pass
            self.close()


# -- replication helpers: invalidated suffix hashes, suffix states -------------------------------------


def invalidate_suffix(hash_dir: str) -> None:
    """Record that the suffix holding ``hash_dir`` changed (its cached replication hash is stale)."""
    suffix_dir = os.path.dirname(hash_dir)
    part_path = os.path.dirname(suffix_dir)
    path = layout.hashes_invalid_path(part_path)
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o644)
    except FileNotFoundError:  # a row's partition may have no directory yet (never the device: ensure_dir's root)
        ensure_dir(part_path, os.path.dirname(os.path.dirname(part_path)))
        fd = os.open(path, flags, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)  # the consumer reads and truncates under LOCK_EX
        os.write(fd, os.path.basename(suffix_dir).encode() + b"\n")
    finally:
        os.close(fd)


def consume_invalid_suffixes(part_path: str) -> set[str]:
    """Suffixes invalidated since the last call (read and cleared atomically w.r.t. writers): those of the
    partition's ``hashes.invalid`` (file writes) and its rows' marks (``InlineObjects.take_marks``)."""
    found = inline_objects.existing_for_partition(part_path)
    marked = found[0].take_marks(found[1], found[2]) if found is not None else set()
    return marked | _consume_invalid_file(part_path)


def _consume_invalid_file(part_path: str) -> set[str]:
    path = layout.hashes_invalid_path(part_path)
    try:
        if os.stat(path).st_size == 0:  # the usual case between writes: no lock, no truncate (an inode update)
            return set()
        fd = os.open(path, os.O_RDWR | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return set()
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        data = b""
        while chunk := os.read(fd, 65536):
            data += chunk
        os.ftruncate(fd, 0)
    finally:
        os.close(fd)
    return {s for s in data.decode("ascii", "replace").split() if len(s) == 3}


def suffix_states(part_path: str, suffix: str) -> dict[str, HashDirState]:
    """``hash -> HashDirState`` of every object in a suffix dir (empty dirs are skipped; blocking)."""
    return suffixes_states(part_path, [suffix])[suffix]


def suffixes_states(part_path: str, suffixes: Iterable[str]) -> dict[str, dict[str, HashDirState]]:
    """``suffix -> hash -> HashDirState`` of every object in the given suffixes of a partition (blocking).

    The partition's row store is looked up once and its rows read in one transaction, not per suffix; a suffix
    holding rows is listed only when its directory exists (``os.access``: a suffix of inline rows only has none,
    and a failed ``listdir`` raises, whose message is a ``strerror`` lookup in the locale catalogues;
    docs/benchmarks.md session 27: the replicator hashes every suffix a write changed).
    """
    wanted = list(suffixes)
    found = inline_objects.existing_for_partition(part_path)
    rows = found[0].suffixes_files(found[1], found[2], wanted) if found is not None else {}
    out: dict[str, dict[str, HashDirState]] = {}
    for suffix in wanted:
        sdir = os.path.join(part_path, suffix)
        suffix_rows = rows.get(suffix, {})
        out[suffix] = _suffix_states(None if suffix_rows and not os.access(sdir, os.F_OK) else sdir, suffix_rows)
    return out


def _suffix_states(sdir: str | None, rows: dict[str, list[str]]) -> dict[str, HashDirState]:
    """The states of one suffix from its directory (None: it has none) and its rows (``hash -> names``)."""
    out: dict[str, HashDirState] = {}
    rows = dict(rows)
    if sdir is not None:
        try:
            hashes = os.listdir(sdir)
        except (FileNotFoundError, NotADirectoryError):
            hashes = []
        for h in hashes:
            try:
                files = os.listdir(os.path.join(sdir, h))
            except (FileNotFoundError, NotADirectoryError):
                continue
            row_names = rows.pop(h, None)
            if row_names:
                files = list(dict.fromkeys(files + row_names))
            if files:
                out[h] = scan_hash_dir(files)
    for h, row_names in rows.items():
        out[h] = scan_hash_dir(row_names)
    return out
