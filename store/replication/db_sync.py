"""Digests, export and merge of container and account listing records with their rows.

Each record (a container with its object rows, or an account with its container rows) has a
digest over its timestamps, metadata and the running digest of every row including tombstones
(kept up to date on each row change, so a digest costs O(1)). When a replica's digest differs, the
sender sends its record and the rows it changed after the replica's sync point for it (the
highest change sequence of the sender's replica the receiver merged; 0 for an empty or rebuilt
receiver, or a sender it never heard of). Merges go by timestamp: created = min,
put/delete/status = max, metadata per key by its timestamp, a row replaced only by a newer one
(object rows by their timestamp, container rows by the newer of put/delete). Counters follow the
rows. Merges are idempotent, so a row sent twice (or back to where it came from) is harmless.
"""

from __future__ import annotations

import base64
import json
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import lmdb
import xxhash

from store.listing_changes import UID_LEN, prefixed
from store.listings import (
    ACCT_ROW,
    F_DELETED,
    OBJ_ROW,
    AccountStore,
    ContainerStore,
    account_key,
    container_key,
    new_record,
)

if TYPE_CHECKING:
    from store.node import Node

Store = ContainerStore | AccountStore


@dataclass(frozen=True)
class DBKind:
    name: str  # "container" | "account" (also the ring's name)

    def store(self, node: Node, device: str) -> Store:
        return node.containers(device) if self.name == "container" else node.accounts(device)

    def key_of(self, rec: dict[str, Any]) -> bytes:
        if self.name == "container":
            return container_key(rec["account"], rec["container"])
        return account_key(rec["account"])


CONTAINER, ACCOUNT = DBKind("container"), DBKind("account")
KINDS = {"container": CONTAINER, "account": ACCOUNT}


def partition_keys(store: Store, partition: int) -> list[bytes]:
    prefix = struct.pack(">I", partition)
    out = []
    with store.env.begin() as txn:
        cur = txn.cursor(store.parts_db)
        ok = cur.set_range(prefix)
        while ok and cur.key()[:4] == prefix:
            out.append(cur.key()[4:])
            ok = cur.next()
    return out


def partitions(store: Store) -> list[int]:
    parts: set[int] = set()
    with store.env.begin() as txn:
        for key, _ in txn.cursor(store.parts_db):
            parts.add(struct.unpack(">I", key[:4])[0])
    return sorted(parts)


def _digest(txn: lmdb.Transaction[bytes], store: Store, key: bytes) -> str | None:
    """The record's digest in O(1): its timestamps and metadata plus the running digest of its rows
    (the record must have a change state: see ``ChangeLog.ensure``)."""
    raw = txn.get(key, db=store.info_db)
    state = store.changes.peek(txn, key)
    if raw is None or state is None:
        return None
    rec = json.loads(raw)
    d = xxhash.xxh3_128()
    d.update(json.dumps([rec["created"], rec["put"], rec["delete"], sorted(rec["meta"].items())]).encode())
    d.update(state.digest.to_bytes(16))
    return d.hexdigest()


@dataclass(frozen=True)
class LocalRecord:
    digest: str
    uid: str  # this replica's id of the record (hex): peers keep their sync point under it
    seq: int  # the last change sequence of the record here


def local_records(store: Store, partition: int) -> dict[str, LocalRecord]:
    """``key hex -> LocalRecord`` of every record of the partition."""
    keys = partition_keys(store, partition)
    store.changes.ensure(store.env, keys)
    out: dict[str, LocalRecord] = {}
    with store.env.begin() as txn:
        for key in keys:
            dg, state = _digest(txn, store, key), store.changes.peek(txn, key)
            if dg is not None and state is not None:
                out[key.hex()] = LocalRecord(dg, state.uid.hex(), state.seq)
    return out


def digests(store: Store, partition: int) -> dict[str, str]:
    """``key hex -> digest`` of every record of the partition."""
    return {k: r.digest for k, r in local_records(store, partition).items()}


def peer_view(store: Store, partition: int, senders: dict[str, list]) -> dict[str, dict[str, Any]]:
    """What a sender asks a replica: its digests and, per record, the sync point it holds for the
    sender's replica (``senders``: key hex -> [sender uid hex, its last seq, its digest]; no
    point = 0, so an empty or rebuilt replica gets everything). Where the digests are equal this
    replica holds all the sender has: its point jumps to the sender's seq, so a later change is
    all that gets sent, even by a sender that never had to send anything before."""
    mine = digests(store, partition)
    points: dict[str, int] = {}
    jumps: list[tuple[bytes, bytes, int, str]] = []
    with store.env.begin() as txn:
        for key_hex, (uid_hex, seq, digest) in senders.items():
            key, uid = bytes.fromhex(key_hex), bytes.fromhex(uid_hex)
            point = store.changes.sync_point(txn, key, uid)
            if mine.get(key_hex) == digest and seq > point:
                jumps.append((key, uid, seq, digest))
                point = seq
            if point:
                points[key_hex] = point
    if jumps:
        _jump_sync_points(store, jumps)
    return {"digests": mine, "points": points}


def _jump_sync_points(store: Store, jumps: list[tuple[bytes, bytes, int, str]]) -> None:
    with store.env.begin(write=True) as txn:
        for key, uid, seq, digest in jumps:
            if _digest(txn, store, key) == digest:  # still the same content (not removed meanwhile)
                store.changes.advance(txn, key, uid, seq)


def _record_fields(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: rec[k] for k in ("created", "put", "delete", "status_changed", "meta", "account",
                                "container", "acct", "acct_part") if k in rec}


def export_since(store: Store, key: bytes, since: int, batch: int) -> dict[str, Any] | None:
    """One merge item: the record and up to ``batch`` rows changed after sequence ``since``, in
    change order; ``upto`` is the sequence of its last row. None if the record is gone."""
    with store.env.begin() as txn:
        raw = txn.get(key, db=store.info_db)
        state = store.changes.peek(txn, key)
        if raw is None or state is None:
            return None
        rows: list[list[str]] = []
        upto = since
        for seq, nkey in store.changes.changed_since(txn, key, since):
            if len(rows) >= batch:
                break
            value = txn.get(key + nkey, db=store.rows_db)
            assert value is not None, "a change names a row (rows go only with their whole record)"
            rows.append([base64.b64encode(nkey).decode(), base64.b64encode(value).decode()])
            upto = seq
        item = {"record": _record_fields(json.loads(raw)), "rows": rows, "sender": state.uid.hex(), "upto": upto}
        if upto == state.seq:  # the last batch: the receiver will hold all we hold
            item["syncs"] = {uid.hex(): point for uid, point in store.changes.sync_points(txn, key).items()}
    return item


def _merge_record(rec: dict[str, Any], incoming: dict[str, Any]) -> None:
    rec["created"] = min(rec["created"], incoming["created"])
    for field in ("put", "delete", "status_changed"):
        rec[field] = max(rec[field], incoming[field])
    for k, (value, ts) in incoming["meta"].items():
        old = rec["meta"].get(k)
        if old is None or ts > old[1]:
            rec["meta"][k] = [value, ts]
    for field in ("acct", "acct_part"):
        if not rec.get(field) and incoming.get(field):
            rec[field] = incoming[field]


def _obj_live(value: bytes) -> int | None:
    ticks, size, flags = OBJ_ROW.unpack_from(value)[:3]
    return None if flags & F_DELETED else size


def _merge_obj_row(rec: dict[str, Any], old: bytes | None, new: bytes) -> bool:
    if old is not None and OBJ_ROW.unpack_from(old)[0] >= OBJ_ROW.unpack_from(new)[0]:
        return False
    before, after = (_obj_live(old) if old is not None else None), _obj_live(new)
    rec["count"] += (after is not None) - (before is not None)
    rec["bytes"] += (after or 0) - (before or 0)
    return True


def _acct_live(value: bytes) -> tuple[int, int] | None:
    put, delete, count, nbytes, _ = ACCT_ROW.unpack_from(value)
    return None if delete > put and not count else (count, nbytes)


def _merge_acct_row(rec: dict[str, Any], old: bytes | None, new: bytes) -> bytes | None:
    """The merged container row (None when ``old`` is as new)."""
    nput, ndel, ncount, nbytes, nlen = ACCT_ROW.unpack_from(new)
    if old is not None:
        oput, odel, ocount, obytes, _ = ACCT_ROW.unpack_from(old)
        if max(nput, ndel) <= max(oput, odel) and (nput, ndel) <= (oput, odel):
            return None
        if max(nput, ndel) <= max(oput, odel):
            ncount, nbytes = ocount, obytes
        nput, ndel = max(nput, oput), max(ndel, odel)
    merged = ACCT_ROW.pack(nput, ndel, ncount, nbytes, nlen) + new[ACCT_ROW.size:]
    for value, sign in ((old, -1), (merged, 1)):
        live = _acct_live(value) if value is not None else None
        if live is not None:
            rec["containers"] += sign
            rec["objects"] += sign * live[0]
            rec["bytes"] += sign * live[1]
    return merged


def merge(kind: DBKind, store: Store, partition: int, item: dict[str, Any]) -> int:
    """Merge one pushed item into the store; returns how many rows changed."""
    incoming = item["record"]
    key = kind.key_of(incoming)
    changed = 0
    with store.env.begin(write=True) as txn:
        raw = txn.get(key, db=store.info_db)
        if raw is None:
            counters = {"count": 0, "bytes": 0} if kind is CONTAINER else {"containers": 0, "objects": 0, "bytes": 0}
            names = {"account": incoming["account"]}
            if kind is CONTAINER:
                names["container"] = incoming["container"]
            rec = new_record(partition, incoming["created"], **names, **counters)
            rec["put"], rec["delete"] = incoming["put"], incoming["delete"]
            txn.put(struct.pack(">I", partition) + key, b"", db=store.parts_db)
        else:
            rec = json.loads(raw)
        _merge_record(rec, incoming)
        for name64, value64 in item["rows"]:
            name, value = base64.b64decode(name64), base64.b64decode(value64)
            old = txn.get(key + name, db=store.rows_db)
            merged = _merge_row(kind, rec, old, value)
            if merged is not None and merged != old:
                store.changes.note_row(txn, key, name, old, merged)
                txn.put(key + name, merged, db=store.rows_db)
                changed += 1
        store._put_info(txn, key, rec)  # also queues the container's stats for its account
        _advance_sync_point(store, txn, key, item)
    return changed


def _merge_row(kind: DBKind, rec: dict[str, Any], old: bytes | None, new: bytes) -> bytes | None:
    """The row to store (counters adjusted), None when ``old`` is as new."""
    if kind is CONTAINER:
        return new if _merge_obj_row(rec, old, new) else None
    return _merge_acct_row(rec, old, new)


def _advance_sync_point(store: Store, txn: lmdb.Transaction[bytes], key: bytes, item: dict[str, Any]) -> None:
    """Remember the sender's last merged sequence, in the transaction that merged its rows (so the
    point is durable exactly when they are, and never ahead of them). With the last batch come the
    sender's own sync points: we now hold all it held, so also what it had from those replicas."""
    sender = item.get("sender")
    if sender is None:
        return
    points = {sender: item["upto"], **item.get("syncs", {})}
    own = store.changes.state(txn, key).uid
    for uid_hex, seq in points.items():
        uid = bytes.fromhex(uid_hex)
        if len(uid) != UID_LEN or not isinstance(seq, int) or seq < 0:
            raise ValueError("bad sender or sync point")
        if uid != own:
            store.changes.advance(txn, key, uid, seq)


def remove_if_unchanged(store: Store, key: bytes, digest: str) -> bool:
    """Drop a handoff record (and rows) if it still has the digest every primary confirmed."""
    with store.env.begin(write=True) as txn:
        raw = txn.get(key, db=store.info_db)
        if raw is None or _digest(txn, store, key) != digest:
            return False
        rec = json.loads(raw)
        for name, _ in list(prefixed(txn, store.rows_db, key)):
            txn.delete(key + name, db=store.rows_db)
        store.changes.forget(txn, key)
        txn.delete(key, db=store.info_db)
        txn.delete(struct.pack(">I", rec["partition"]) + key, db=store.parts_db)
    if isinstance(store, ContainerStore):
        store.unreported.discard(key)
    return True
