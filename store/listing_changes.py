"""Change sequences, running digests and sync points of listing records (split from listings.py).

Each listing environment (containers or accounts) holds four more named databases:

* ``state``: ``key`` -> ``seq(u64) digest(16) uid(16)``: the last sequence number given to a row of
  the record, the xor of the hashes of all its rows (an order-independent running digest, so a
  record's digest costs O(1)) and a random id of this replica of the record. Sync points are kept
  per sender uid, so a record that was lost and rebuilt is a new sender whose rows all get sent.
* ``seqs``: ``key + name_key`` -> ``seq(u64 BE)``: the sequence number of each row.
* ``changes``: ``key + seq(u64 BE)`` -> ``name_key``: the rows in change order (a replaced row's
  old entry is removed, so each row appears once, under its last change).
* ``syncs``: ``key + sender uid`` -> ``seq(u64 BE)``: the highest sequence of that sender's replica
  of the record merged here (written in the merge's own transaction, never ahead of the rows).
  Each row of the sender's replica with a sequence up to that point (in its current version, or a
  newer one) is held here.

A record without a ``state`` entry (a new record, or data written before sequences existed) is
migrated on first use: its rows get sequences 1..n in name order.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import lmdb
import xxhash

CHANGE_DBS = (b"state", b"seqs", b"changes", b"syncs")
SEQ = struct.Struct(">Q")
STATE = struct.Struct(">Q16s16s")
UID_LEN = 16
_NAME_LEN = struct.Struct(">H")


def prefixed(txn: lmdb.Transaction[bytes], db: lmdb._Database, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
    """``(key without prefix, value)`` of every entry of ``db`` whose key starts with ``prefix``."""
    cur = txn.cursor(db)
    ok = cur.set_range(prefix)
    n = len(prefix)
    while ok and cur.key()[:n] == prefix:
        yield cur.key()[n:], cur.value()
        ok = cur.next()


def row_hash(nkey: bytes, value: bytes) -> int:
    """The hash a row adds to its record's running digest (its name key and stored value)."""
    return int.from_bytes(xxhash.xxh3_128_digest(_NAME_LEN.pack(len(nkey)) + nkey + value))


@dataclass
class RecordState:
    seq: int
    digest: int
    uid: bytes

    def pack(self) -> bytes:
        return STATE.pack(self.seq, self.digest.to_bytes(16), self.uid)

    @classmethod
    def unpack(cls, raw: bytes) -> RecordState:
        seq, digest, uid = STATE.unpack(raw)
        return cls(seq, int.from_bytes(digest), uid)


class ChangeLog:
    """Row sequences, running digests and sync points of one environment's records."""

    def __init__(self, dbs: dict[bytes, Any]):
        self.rows_db = dbs[b"rows"]
        self.state_db, self.seqs_db = dbs[b"state"], dbs[b"seqs"]
        self.changes_db, self.syncs_db = dbs[b"changes"], dbs[b"syncs"]

    # -- record state --------------------------------------------------------------------------
    def peek(self, txn: lmdb.Transaction[bytes], key: bytes) -> RecordState | None:
        """The record's state, None when it has not been migrated yet (read transactions)."""
        raw = txn.get(key, db=self.state_db)
        return RecordState.unpack(raw) if raw is not None else None

    def state(self, txn: lmdb.Transaction[bytes], key: bytes) -> RecordState:
        """The record's state, migrating the record first if needed (write transactions)."""
        return self.peek(txn, key) or self._migrate(txn, key)

    def _migrate(self, txn: lmdb.Transaction[bytes], key: bytes) -> RecordState:
        st = RecordState(0, 0, os.urandom(UID_LEN))
        for nkey, value in list(prefixed(txn, self.rows_db, key)):
            st.seq += 1
            st.digest ^= row_hash(nkey, value)
            txn.put(key + nkey, SEQ.pack(st.seq), db=self.seqs_db)
            txn.put(key + SEQ.pack(st.seq), nkey, db=self.changes_db)
        txn.put(key, st.pack(), db=self.state_db)
        return st

    def ensure(self, env: lmdb.Environment, keys: list[bytes]) -> None:
        """Migrate those of ``keys`` that have no state yet (one write transaction, only if needed)."""
        with env.begin() as txn:
            missing = [k for k in keys if txn.get(k, db=self.state_db) is None]
        if missing:
            with env.begin(write=True) as txn:
                for key in missing:
                    self.state(txn, key)

    def recompute(self, txn: lmdb.Transaction[bytes], key: bytes) -> int:
        """The running digest recomputed from every row (for checks and tests)."""
        digest = 0
        for nkey, value in prefixed(txn, self.rows_db, key):
            digest ^= row_hash(nkey, value)
        return digest

    # -- row changes ---------------------------------------------------------------------------
    def note_row(self, txn: lmdb.Transaction[bytes], key: bytes, nkey: bytes, old: bytes | None, new: bytes,
                 st: RecordState | None = None) -> None:
        """Stamp a row change with the record's next sequence; call before storing ``new``. ``st``: the record's
        state, read once by the caller for several rows of one transaction (``state``) and written back once
        after the last (``save_state``); without it, read and written here."""
        save = st is None
        if st is None:
            st = self.state(txn, key)
        if old is not None:
            st.digest ^= row_hash(nkey, old)
            old_seq = txn.get(key + nkey, db=self.seqs_db)
            if old_seq is not None:
                txn.delete(key + old_seq, db=self.changes_db)
        st.digest ^= row_hash(nkey, new)
        st.seq += 1
        seq = SEQ.pack(st.seq)
        txn.put(key + nkey, seq, db=self.seqs_db)
        txn.put(key + seq, nkey, db=self.changes_db)
        if save:
            self.save_state(txn, key, st)

    def save_state(self, txn: lmdb.Transaction[bytes], key: bytes, st: RecordState) -> None:
        """Store the record's state (after ``note_row`` calls given that state)."""
        txn.put(key, st.pack(), db=self.state_db)

    def changed_since(self, txn: lmdb.Transaction[bytes], key: bytes, since: int) -> Iterator[tuple[int, bytes]]:
        """``(seq, name_key)`` of the rows changed after ``since``, in change order."""
        cur = txn.cursor(self.changes_db)
        ok = cur.set_range(key + SEQ.pack(since + 1))
        n = len(key)
        while ok and cur.key()[:n] == key:
            yield SEQ.unpack(cur.key()[n:])[0], cur.value()
            ok = cur.next()

    # -- sync points ---------------------------------------------------------------------------
    def sync_point(self, txn: lmdb.Transaction[bytes], key: bytes, sender: bytes) -> int:
        """The highest sequence of ``sender``'s replica of the record merged here (0: none)."""
        raw = txn.get(key + sender, db=self.syncs_db)
        return SEQ.unpack(raw)[0] if raw is not None else 0

    def advance(self, txn: lmdb.Transaction[bytes], key: bytes, sender: bytes, seq: int) -> None:
        if seq > self.sync_point(txn, key, sender):
            txn.put(key + sender, SEQ.pack(seq), db=self.syncs_db)

    def sync_points(self, txn: lmdb.Transaction[bytes], key: bytes) -> dict[bytes, int]:
        """Every sender uid -> sync point kept for the record."""
        return {uid: SEQ.unpack(raw)[0] for uid, raw in prefixed(txn, self.syncs_db, key)}

    def drop_row(self, txn: lmdb.Transaction[bytes], key: bytes, nkey: bytes, value: bytes) -> None:
        """Remove a row (a reclaimed tombstone) with its sequence and change entries, keeping the
        running digest equal to the xor of the remaining rows. The record's ``seq`` never goes back,
        so sync points stay valid: a peer's point past the row's sequence simply has nothing to ask."""
        st = self.state(txn, key)
        st.digest ^= row_hash(nkey, value)
        old_seq = txn.get(key + nkey, db=self.seqs_db)
        if old_seq is not None:
            txn.delete(key + old_seq, db=self.changes_db)
            txn.delete(key + nkey, db=self.seqs_db)
        txn.delete(key + nkey, db=self.rows_db)
        txn.put(key, st.pack(), db=self.state_db)

    def row_seq(self, txn: lmdb.Transaction[bytes], key: bytes, nkey: bytes) -> int:
        """The change sequence of a row (0 when it has none)."""
        raw = txn.get(key + nkey, db=self.seqs_db)
        return SEQ.unpack(raw)[0] if raw is not None else 0

    def forget(self, txn: lmdb.Transaction[bytes], key: bytes) -> None:
        """Remove everything this module keeps about a record (its rows are removed by the caller)."""
        txn.delete(key, db=self.state_db)
        for db in (self.seqs_db, self.changes_db, self.syncs_db):
            for rest, _ in list(prefixed(txn, db, key)):
                txn.delete(key + rest, db=db)
