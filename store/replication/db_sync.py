"""Digests, export and merge of container and account listing records with their rows.

Each record (a container with its object rows, or an account with its container rows) has a
digest over its timestamps, metadata and every row including tombstones; replicas whose digests
differ get the sender's record and rows, merged by timestamp: created = min, put/delete/status =
max, metadata per key by its timestamp, a row replaced only by a newer one (object rows by their
timestamp, container rows by the newer of put/delete). Counters follow the rows.
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import lmdb
import xxhash

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

Store = ContainerStore | AccountStore


@dataclass(frozen=True)
class DBKind:
    name: str  # "container" | "account" (also the ring's name)

    def store(self, node: Any, device: str) -> Store:
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


def _rows(txn: lmdb.Transaction, store: Store, key: bytes) -> Iterator[tuple[bytes, bytes]]:
    cur = txn.cursor(store.rows_db)
    ok = cur.set_range(key)
    while ok and cur.key()[:len(key)] == key:
        yield cur.key()[len(key):], cur.value()
        ok = cur.next()


def _digest(txn: lmdb.Transaction, store: Store, key: bytes) -> str | None:
    raw = txn.get(key, db=store.info_db)
    if raw is None:
        return None
    rec = json.loads(raw)
    d = xxhash.xxh3_128()
    d.update(json.dumps([rec["created"], rec["put"], rec["delete"], sorted(rec["meta"].items())]).encode())
    for name, value in _rows(txn, store, key):
        d.update(struct.pack(">HI", len(name), len(value)) + name + value)
    return d.hexdigest()


def digests(store: Store, partition: int) -> dict[str, str]:
    """``key hex -> digest`` of every record of the partition."""
    out: dict[str, str] = {}
    keys = partition_keys(store, partition)
    with store.env.begin() as txn:
        for key in keys:
            dg = _digest(txn, store, key)
            if dg is not None:
                out[key.hex()] = dg
    return out


def export(store: Store, key: bytes, batch: int) -> Iterator[dict[str, Any]]:
    """The record and its rows as merge items of at most ``batch`` rows each."""
    with store.env.begin() as txn:
        raw = txn.get(key, db=store.info_db)
        if raw is None:
            return
        rec = json.loads(raw)
        record = {k: rec[k] for k in ("created", "put", "delete", "status_changed", "meta", "account",
                                      "container", "acct", "acct_part") if k in rec}
        rows: list[list[str]] = []
        for name, value in _rows(txn, store, key):
            rows.append([base64.b64encode(name).decode(), base64.b64encode(value).decode()])
            if len(rows) >= batch:
                yield {"record": record, "rows": rows}
                rows = []
        yield {"record": record, "rows": rows}


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
            rkey = key + name
            old = txn.get(rkey, db=store.rows_db)
            if kind is CONTAINER:
                if _merge_obj_row(rec, old, value):
                    txn.put(rkey, value, db=store.rows_db)
                    changed += 1
            else:
                merged = _merge_acct_row(rec, old, value)
                if merged is not None:
                    txn.put(rkey, merged, db=store.rows_db)
                    changed += 1
        store._put_info(txn, key, rec)  # also queues the container's stats for its account
    return changed


def remove_if_unchanged(store: Store, key: bytes, digest: str) -> bool:
    """Drop a handoff record (and rows) if it still has the digest every primary confirmed."""
    with store.env.begin(write=True) as txn:
        if _digest(txn, store, key) != digest:
            return False
        rec = json.loads(txn.get(key, db=store.info_db))
        for name, _ in list(_rows(txn, store, key)):
            txn.delete(key + name, db=store.rows_db)
        txn.delete(key, db=store.info_db)
        txn.delete(struct.pack(">I", rec["partition"]) + key, db=store.parts_db)
    if isinstance(store, ContainerStore):
        store.unreported.discard(key)
    return True
