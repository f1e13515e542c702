"""Per-device delete-at index: which objects on a device carry ``X-Delete-At``, ordered by that time.

One LMDB environment per device, ``<device>/expiring.lmdb``, one key per indexed object version:
``<delete_at: u64 BE><hash: 16 bytes>`` -> JSON ``{"name", "part", "ts"}`` (the object's name, its
partition on this device and the X-Timestamp of the version that set the X-Delete-At). Sorted keys
make "everything due by now" a range scan, so the expirer never walks objects without X-Delete-At.

Entries are written once the object version is durable (object PUT/POST, replication receipt) and
repaired by the auditor, which re-adds any missing entry. The index is a hint, never the truth: the
expirer opens the object before acting and drops entries that no longer match it (overwritten,
deleted, X-Delete-At changed, partition moved away). So the environment is opened with
``sync=False`` and flushed with the listings (``Node.sync_listings``); a crash loses at most the
last second of entries, which the next auditor pass restores.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from store import layout
from store.diskfile import DiskFileError, ObjectReader
from store.lmdb_env import LmdbEnv

if TYPE_CHECKING:
    from store.node import Node

log = logging.getLogger("store.expiring")
MAP_SIZE = 1 << 34  # address space; the file grows as needed
KEY = struct.Struct(">Q16s")


@dataclass(frozen=True)
class Entry:
    """One indexed object version."""

    delete_at: int
    hash_hex: str
    name: str
    partition: int
    timestamp: str

    @property
    def key(self) -> bytes:
        return entry_key(self.delete_at, self.hash_hex)

    def value(self) -> bytes:
        return json.dumps({"name": self.name, "part": self.partition, "ts": self.timestamp},
                          separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    @classmethod
    def decode(cls, key: bytes, value: bytes) -> Entry:
        delete_at, digest = KEY.unpack(key)
        doc = json.loads(value)
        return cls(delete_at, digest.hex(), doc["name"], int(doc["part"]), doc["ts"])


def entry_key(delete_at: int, hash_hex: str) -> bytes:
    return KEY.pack(delete_at, bytes.fromhex(hash_hex))


def parse_delete_at(value: Any) -> int | None:
    """An X-Delete-At header value as an int; None when absent or malformed."""
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def entry_for(reader: ObjectReader, hash_hex: str, partition: int) -> Entry | None:
    """The index entry of an open object (``ObjectReader``); None when it has no valid X-Delete-At."""
    delete_at = parse_delete_at(reader.headers.get("X-Delete-At"))
    name = reader.meta.get("name")
    if delete_at is None or delete_at < 0 or not isinstance(name, str):
        return None
    return Entry(delete_at, hash_hex, name, partition, reader.newest_timestamp.normal)


class ExpiringIndex(LmdbEnv):
    """The delete-at index of one device (its main database). Thread-safe; call from I/O threads (LMDB
    writes lock)."""

    def __init__(self, device_path: str):
        super().__init__(layout.expiring_index_path(device_path), map_size=MAP_SIZE)

    def add(self, entries: Iterable[Entry]) -> None:
        """Index (or refresh) entries."""
        with self.env.begin(write=True) as txn:
            for entry in entries:
                txn.put(entry.key, entry.value())
                self.dirty = True

    def add_missing(self, entries: list[Entry]) -> int:
        """Index the entries not indexed yet (a read first, a write only if some are missing)."""
        with self.env.begin() as txn:
            missing = [e for e in entries if txn.get(e.key) is None]
        if missing:
            self.add(missing)
        return len(missing)

    def remove(self, keys: Iterable[bytes]) -> None:
        with self.env.begin(write=True) as txn:
            for key in keys:
                if txn.delete(key):
                    self.dirty = True

    def due(self, now: float, after: bytes | None = None, limit: int = 256) -> list[Entry]:
        """Up to ``limit`` entries with ``delete_at <= now``, in key order, starting after ``after``."""
        end = struct.pack(">Q", max(int(now), 0))
        out: list[Entry] = []
        bad: list[bytes] = []
        with self.env.begin() as txn:
            cur = txn.cursor()
            ok = cur.set_range(after or b"")
            if ok and after is not None and cur.key() == after:
                ok = cur.next()
            while ok and len(out) < limit and cur.key()[:8] <= end:
                try:
                    out.append(Entry.decode(cur.key(), cur.value()))
                except (ValueError, KeyError, TypeError, struct.error):
                    bad.append(cur.key())
                ok = cur.next()
        if bad:
            log.warning("dropping %d undecodable expiring entries", len(bad))
            self.remove(bad)
        return out

    def count(self) -> int:
        return int(self.env.stat()["entries"])



def _update(node: Node, device: str, add: list[Entry], remove: list[bytes]) -> None:
    index = node.expiring(device)
    assert index is not None
    if remove:
        index.remove(remove)
    if add:
        index.add(add)


async def record(node: Node, device: str, add: list[Entry], remove: list[bytes] | None = None) -> None:
    """Update a device's index in an I/O thread after a durable write. A failure is logged, not
    raised: the write itself succeeded, and the auditor re-adds a missing entry."""
    try:
        await asyncio.get_running_loop().run_in_executor(
            node.executor, functools.partial(_update, node, device, add, remove or []))
    except Exception:  # see above
        log.warning("could not update the delete-at index of %s", device, exc_info=True)


def _stored_entries(node: Node, device: str, partition: int, hashes: Iterable[str]) -> list[Entry]:
    out = []
    for hash_hex in hashes:
        try:
            reader = node.diskfiles.get(device, partition, hash_hex, "").open(now=0.0)
        except DiskFileError:
            continue
        reader.close()
        if (entry := entry_for(reader, hash_hex, partition)) is not None:
            out.append(entry)
    return out


async def record_stored(node: Node, device: str, partition: int, hashes: Iterable[str]) -> None:
    """Index the objects of ``hashes`` as they are stored now (after replication wrote them)."""
    try:
        entries = await asyncio.get_running_loop().run_in_executor(
            node.executor, _stored_entries, node, device, partition, list(hashes))
    except Exception:  # the auditor re-adds what is missed here
        log.warning("could not read replicated objects of %s/%d for the delete-at index", device, partition,
                    exc_info=True)
        return
    if entries:
        await record(node, device, entries)
