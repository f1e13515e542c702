"""Reclaiming listing tombstone rows (deleted objects in container records, deleted containers in
account records) once they are older than ``[store] reclaim_age`` and every primary has them.

How this interacts with the sync points (``store.listing_changes``): a row of our replica with change
sequence ``s`` is purged only when

* its delete timestamp is older than ``reclaim_age`` (Swift's rule, the same on every replica), and
* ``s`` is at or below the sync point every other primary holds for our replica of the record, as
  that primary itself answered in this replication pass (``safe_seq``: the minimum of those points,
  0 when any primary did not answer, so nothing is purged while one is down).

So no peer is still owed the row by us: a purged row is never needed by a later push (pushes send
rows changed after the peer's point, and that point is past the row). The record's sequence counter
never goes back and the running digest is updated with the row, so digests and points stay exact.
Until every replica has purged the row their digests differ; a replica that still holds the row may
push it back, and the merge then stores it again only when it changes something here: a tombstone
older than ``reclaim_age`` for a row we no longer hold is dropped by ``keep_incoming_row`` (as
Swift's reclaim does), so a purged row does not come back. The documented operator rule is
Swift's: a node down for longer than ``reclaim_age`` must be wiped before it rejoins, or the rows it
missed the deletes of could come back.
"""

from __future__ import annotations

import time

from store.listings import ACCT_ROW, F_DELETED, OBJ_ROW, AccountStore, ContainerStore

TICKS_PER_SECOND = 100000

Store = ContainerStore | AccountStore


def cutoff_ticks(reclaim_age: float, now: float | None = None) -> int:
    """Timestamps (in ticks) below this are older than ``reclaim_age``."""
    now = time.time() if now is None else now
    return int((now - reclaim_age) * TICKS_PER_SECOND)


def tombstone_ticks(store: Store, value: bytes) -> int | None:
    """The delete time (ticks) of a tombstone row, None for a live row."""
    if isinstance(store, ContainerStore):
        ticks, _size, flags = OBJ_ROW.unpack_from(value)[:3]
        return ticks if flags & F_DELETED else None
    put, delete, count = ACCT_ROW.unpack_from(value)[:3]
    return delete if delete > put and not count else None


def keep_incoming_row(store: Store, old: bytes | None, new: bytes, cutoff: int) -> bool:
    """False for a pushed tombstone older than the reclaim age that we do not hold (already purged
    here, or never seen): storing it would only bring back a reclaimed row."""
    if old is not None:
        return True
    ticks = tombstone_ticks(store, new)
    return ticks is None or ticks >= cutoff


def reclaim_record(store: Store, key: bytes, safe_seq: int, cutoff: int, limit: int = 10000) -> int:
    """Purge up to ``limit`` tombstone rows of a record older than ``cutoff`` ticks with a change
    sequence at or below ``safe_seq``; returns how many. Blocking: run it in an I/O thread."""
    if safe_seq <= 0:
        return 0
    removed = 0
    with store.env.begin(write=True) as txn:
        victims: list[tuple[bytes, bytes]] = []
        for seq, nkey in store.changes.changed_since(txn, key, 0):
            if seq > safe_seq or len(victims) >= limit:
                break
            value = txn.get(key + nkey, db=store.rows_db)
            if value is None:
                continue
            ticks = tombstone_ticks(store, value)
            if ticks is not None and ticks < cutoff:
                victims.append((nkey, value))
        for nkey, value in victims:
            store.changes.drop_row(txn, key, nkey, value)
            removed += 1
        if removed:
            store._env.dirty = True
    return removed


def tombstone_rows(store: Store, key: bytes) -> int:
    """How many tombstone rows a record holds (for status and tests)."""
    count = 0
    with store.env.begin() as txn:
        cur = txn.cursor(store.rows_db)
        ok = cur.set_range(key)
        while ok and cur.key()[:len(key)] == key:
            if tombstone_ticks(store, cur.value()) is not None:
                count += 1
            ok = cur.next()
    return count

