"""Container and account listing databases in LMDB (one environment per device for each).

Container environment ``<device>/containers.lmdb`` holds three named databases:

* ``info``: ``ckey`` -> JSON container record (timestamps, metadata with per-key timestamps,
  object count/bytes, partition, account-node location, last stats reported to the account).
* ``rows``: ``ckey + name_key`` -> packed object row (timestamp, size, etag, content type,
  deleted flag). Deleted rows stay as tombstones for replication; listings skip them.
* ``parts``: ``partition(u32 BE) + ckey`` -> ``b""``, so replication can walk a partition.
* ``state``, ``seqs``, ``changes``, ``syncs``: per-row change sequences, running digests and
  replication sync points (``store.listing_changes``); every row write goes through
  ``ChangeLog.note_row``.

``ckey`` is the 8-byte xxh3_64 of ``account\\0container``; the account environment
(``<device>/accounts.lmdb``) is the same with ``akey`` = xxh3_64 of the account and container rows.

LMDB keys are limited to 511 bytes: a name longer than ``MAX_NAME_KEY`` bytes is keyed by its first
``MAX_NAME_KEY - 8`` bytes plus an 8-byte hash of the whole name (the full name is kept in the row).
Limitation: such long names that share their first 495 bytes list in hash order, not name order.

Durability: environments are opened with ``sync=False``; ``sync()`` is called about every second
and on shutdown, so a crash can lose up to about a second of listing updates (repaired later by
replication and the object updater).
"""

from __future__ import annotations

import functools
import json
import struct
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

import lmdb
import xxhash

from stackstore.timestamp import Timestamp
from store import layout
from store.listing_changes import CHANGE_DBS, ChangeLog
from store.lmdb_env import LmdbEnv

ZERO_TS = "0000000000.00000"
MAP_SIZE = 1 << 36  # 64 GiB of address space; the file grows as needed
MAX_KEY = 511
HASH_LEN = 8
MAX_NAME_KEY = MAX_KEY - HASH_LEN
OBJ_ROW = struct.Struct("<QqBHH")  # ticks, size, flags, len(etag), len(content_type)
ACCT_ROW = struct.Struct("<QQqqH")  # put ticks, delete ticks, objects, bytes, len(name) if long
ACCT_ROW_POLICY = struct.Struct("<H")  # after the name tail: the container's storage policy (absent: 0)
F_DELETED = 1
F_LONG_NAME = 2
DB_NAMES = (b"info", b"rows", b"parts", *CHANGE_DBS)
RECENT_RECORDS = 1024  # decoded container records update_rows keeps (ContainerStore._decoded_record)
# json.dumps(rec, separators=(",", ":")) without building the encoder per record
_RECORD_ENCODER = json.JSONEncoder(separators=(",", ":"))

Meta = dict[str, list[str]]  # lower-case header name -> [value, timestamp]; value "" = removed


def name_key(name: bytes) -> bytes:
    """The LMDB key part for a name (truncated + hashed when too long)."""
    if len(name) <= MAX_NAME_KEY:
        return name
    return name[:MAX_NAME_KEY - 8] + xxhash.xxh3_64_digest(name)


def container_key(account: str, container: str) -> bytes:
    return xxhash.xxh3_64_digest(account.encode("utf-8") + b"\0" + container.encode("utf-8"))


def account_key(account: str) -> bytes:
    return xxhash.xxh3_64_digest(account.encode("utf-8"))


def merge_meta(current: Meta, updates: dict[str, str], timestamp: str) -> bool:
    """Apply header updates stamped ``timestamp`` where newer than what is stored; True if changed."""
    changed = False
    for key, value in updates.items():
        key = key.lower()
        old = current.get(key)
        if old is None or timestamp > old[1]:
            current[key] = [value, timestamp]
            changed = True
    return changed


def live_meta(meta: Meta) -> dict[str, str]:
    """Metadata without removed keys."""
    return {k: v for k, (v, _) in meta.items() if v != ""}


def _seek_ge(cur: lmdb.Cursor, key: bytes) -> bool:
    return cur.set_range(key)


def _seek_lt(cur: lmdb.Cursor, key: bytes) -> bool:
    if cur.set_range(key):
        return cur.prev()
    return cur.last()


def _successor_prefix(prefix: bytes) -> bytes:
    """Smallest byte string greater than every string that starts with ``prefix``."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return b"\xff" * (len(prefix) + 1)
    return stripped[:-1] + bytes([stripped[-1] + 1])


def list_range(txn: lmdb.Transaction[bytes], db: lmdb._Database, kprefix: bytes,
               decode: Callable[[bytes, bytes], tuple[bytes, Any] | None], *,
               prefix: bytes | None, delimiter: bytes | None, marker: bytes | None,
               end_marker: bytes | None, limit: int, reverse: bool,
               path: bytes | None = None) -> list[tuple[bytes, Any]]:
    """Swift listing semantics over the rows keyed ``kprefix + name_key(name)``.

    ``decode(key_name, value)`` returns ``(full_name, row)`` or None for a deleted row. The result is
    ``(name, row)`` pairs, with ``row`` None for a ``subdir`` entry. Markers are exclusive; with
    ``reverse`` the marker is the upper bound and end_marker the lower one; exactly ``limit``
    entries are returned whenever more exist. Delimiters may be several bytes long.

    ``path`` (Swift's legacy parameter; it replaces prefix and delimiter) lists only the direct
    children of ``path/``: objects and directory marker objects (``path/sub/``) but no ``subdir``
    entries, and not the ``path/`` marker itself.
    """
    if reverse:
        marker, end_marker = end_marker, marker
    if path is not None:
        prefix, delimiter = (path.rstrip(b"/") + b"/" if path else b""), b"/"
    elif delimiter and prefix is None:
        prefix = b""
    end_prefix = _successor_prefix(prefix) if prefix else None
    orig_marker = marker
    if marker and (not prefix or marker >= prefix):
        lower, lower_incl = marker, False
    elif prefix:
        lower, lower_incl = prefix, True
    else:
        lower, lower_incl = b"", True
    if end_marker and (end_prefix is None or end_marker < end_prefix):
        upper: bytes | None = end_marker
    else:
        upper = end_prefix
    results: list[tuple[bytes, Any]] = []
    if limit <= 0:
        return results
    plen = len(kprefix)
    cur = txn.cursor(db)
    if reverse:
        ok = _seek_lt(cur, kprefix + name_key(upper) if upper is not None else _successor_prefix(kprefix))
    else:
        ok = _seek_ge(cur, kprefix + name_key(lower))
    step = cur.prev if reverse else cur.next
    while ok and len(results) < limit:
        key = cur.key()
        if key[:plen] != kprefix:
            break
        decoded = decode(key[plen:], cur.value())
        name = decoded[0] if decoded is not None else key[plen:]
        if reverse:
            if name < lower or (name == lower and not lower_incl):
                break
            if upper is not None and name >= upper:
                ok = step()
                continue
        else:
            if upper is not None and name >= upper:
                break
            if name < lower or (name == lower and not lower_incl):
                ok = step()
                continue
        if decoded is None:  # tombstone
            ok = step()
            continue
        if path is not None and name == prefix:  # the directory's own marker object
            ok = step()
            continue
        if delimiter:
            end = name.find(delimiter, len(prefix or b""))
            if path is not None and end + len(delimiter) == len(name):
                end = -1  # a directory marker object directly under path: listed as an object
            if end >= 0:
                dir_name = name[:end + len(delimiter)]
                if dir_name != orig_marker and path is None:
                    results.append((dir_name, None))
                if reverse:
                    # with path, the directory's marker object (dir_name itself) is still listed
                    upper = dir_name + b"\x00" if path is not None else dir_name
                    ok = _seek_lt(cur, kprefix + name_key(upper))
                else:
                    lower, lower_incl = name[:end] + _successor_prefix(delimiter), True
                    ok = _seek_ge(cur, kprefix + name_key(lower))
                continue
        results.append(decoded)
        ok = step()
    return results


def _decode_object_row(key_name: bytes, value: bytes) -> tuple[bytes, tuple] | None:
    ticks, size, flags, elen, clen = OBJ_ROW.unpack_from(value)
    if flags & F_DELETED:
        return None
    off = OBJ_ROW.size
    etag = value[off:off + elen]
    ctype = value[off + elen:off + elen + clen]
    name = value[off + elen + clen:] if flags & F_LONG_NAME else key_name
    return name, (ticks, size, etag, ctype)


def _encode_object_row(name: bytes, ticks: int, size: int, etag: str, ctype: str, deleted: bool) -> bytes:
    e, c = etag.encode("utf-8", "surrogateescape"), ctype.encode("utf-8", "surrogateescape")
    flags = (F_DELETED if deleted else 0) | (F_LONG_NAME if len(name) > MAX_NAME_KEY else 0)
    tail = name if flags & F_LONG_NAME else b""
    return OBJ_ROW.pack(ticks, size, flags, len(e), len(c)) + e + c + tail


@functools.lru_cache(maxsize=65536)
def _iso_seconds(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def iso_from_ticks(ticks: int) -> str:
    """``Timestamp.isoformat`` of a tick count, cached per second (listings format many rows)."""
    return f"{_iso_seconds(ticks // 100000)}.{(ticks % 100000) * 10:06d}"


def new_record(partition: int, timestamp: str, **extra: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {"partition": partition, "created": timestamp, "put": timestamp, "delete": ZERO_TS,
                           "status_changed": timestamp, "meta": {}}
    rec.update(extra)
    return rec


def is_deleted(rec: dict[str, Any], count_key: str) -> bool:
    """Swift's rule: deleted when the delete timestamp is newer than the put and it is empty."""
    return rec["delete"] > rec["put"] and not rec.get(count_key)


class RowChange(NamedTuple):
    """One object row to merge into a container listing (PUT: ``deleted`` False; DELETE: True). A named tuple:
    one is made per row of every object write, and a frozen dataclass costs a Python ``__setattr__`` per field."""

    obj: str
    timestamp: Timestamp
    size: int = 0
    etag: str = ""
    content_type: str = ""
    deleted: bool = False


class ContainerStore:
    """Container records and object rows of one device."""

    def __init__(self, device_path: str):
        self._env = LmdbEnv(layout.containers_db_path(device_path), DB_NAMES, MAP_SIZE)
        self.env = self._env.env
        self.info_db = self._env.dbs[b"info"]
        self.rows_db = self._env.dbs[b"rows"]
        self.parts_db = self._env.dbs[b"parts"]
        self.changes = ChangeLog(self._env.dbs)
        self.unreported: set[bytes] = set()  # ckeys whose stats the account has not seen yet
        # ckey -> (stored bytes, decoded record) of update_rows' last write of it (_decoded_record)
        self._recent: dict[bytes, tuple[bytes, dict[str, Any]]] = {}
        with self.env.begin() as txn:
            for ckey, raw in txn.cursor(self.info_db):
                if self._needs_report(json.loads(raw)):
                    self.unreported.add(ckey)

    # -- records ---------------------------------------------------------------------------------
    def live_containers(self) -> list[dict[str, Any]]:
        """Every readable record of a live (not deleted) container, with its ``account`` and ``container``
        names as strings (blocking: one read transaction). The node's daemons pick their containers here."""
        out = []
        with self.env.begin() as txn:
            for _ckey, raw in txn.cursor(self.info_db):
                try:
                    rec = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(rec, dict) and isinstance(rec.get("account"), str) \
                        and isinstance(rec.get("container"), str) and not is_deleted(rec, "count"):
                    out.append(rec)
        return out

    def get(self, account: str, container: str) -> dict[str, Any] | None:
        """The container record (deleted or not), or None if never created here."""
        with self.env.begin() as txn:
            raw = txn.get(container_key(account, container), db=self.info_db)
        return json.loads(raw) if raw is not None else None

    def get_by_key(self, ckey: bytes) -> dict[str, Any] | None:
        with self.env.begin() as txn:
            raw = txn.get(ckey, db=self.info_db)
        return json.loads(raw) if raw is not None else None

    def _put_info(self, txn: lmdb.Transaction[bytes], ckey: bytes, rec: dict[str, Any]) -> bytes:
        """Store a container record; the bytes stored."""
        raw = _RECORD_ENCODER.encode(rec).encode("utf-8")
        txn.put(ckey, raw, db=self.info_db)
        self._env.dirty = True
        if self._needs_report(rec):
            self.unreported.add(ckey)
        return raw

    @staticmethod
    def _needs_report(rec: dict[str, Any]) -> bool:
        return bool(rec.get("acct")) and rec.get("reported") != [rec["put"], rec["delete"], rec["count"],
                                                                 rec["bytes"]]

    def put_container(self, account: str, container: str, partition: int, timestamp: Timestamp,
                      meta: dict[str, str], acct_nodes: list[list[str]] | None,
                      acct_partition: str | None, policy: int | None = None,
                      default_policy: int = 0) -> tuple[str, dict[str, Any]]:
        """Create or re-put; returns ("created" | "accepted" | "conflict" | "policy_conflict", record).

        A container (re)created gets storage policy ``policy`` (``default_policy`` when None); re-putting
        a live container with another ``policy`` is a "policy_conflict" and changes nothing."""
        ts = timestamp.normal
        ckey = container_key(account, container)
        with self.env.begin(write=True) as txn:
            raw = txn.get(ckey, db=self.info_db)
            if raw is None:
                rec = new_record(partition, ts, account=account, container=container, count=0, bytes=0,
                                 policy=default_policy if policy is None else policy)
                outcome = "created"
                txn.put(struct.pack(">I", partition) + ckey, b"", db=self.parts_db)
            else:
                rec = json.loads(raw)
                was_deleted = is_deleted(rec, "count")
                if not was_deleted and policy is not None and policy != rec.get("policy", 0):
                    return "policy_conflict", rec
                if ts > rec["put"]:
                    rec["put"] = ts
                if is_deleted(rec, "count"):
                    return "conflict", rec
                outcome = "created" if was_deleted else "accepted"
                if was_deleted:
                    rec["status_changed"] = ts
                    rec["policy"] = default_policy if policy is None else policy
            merge_meta(rec["meta"], meta, ts)
            if acct_nodes:
                rec["acct"], rec["acct_part"] = acct_nodes, acct_partition
            self._put_info(txn, ckey, rec)
        return outcome, rec

    def post_container(self, account: str, container: str, timestamp: Timestamp,
                       meta: dict[str, str]) -> dict[str, Any] | None:
        """Merge metadata and move the put timestamp (the container's Last-Modified) forward, as Swift's
        container POST does; None if missing or deleted."""
        ckey = container_key(account, container)
        with self.env.begin(write=True) as txn:
            raw = txn.get(ckey, db=self.info_db)
            if raw is None:
                return None
            rec: dict[str, Any] = json.loads(raw)
            if is_deleted(rec, "count"):
                return None
            changed = merge_meta(rec["meta"], meta, timestamp.normal)
            if timestamp.normal > rec["put"]:
                rec["put"], changed = timestamp.normal, True
            if changed:
                self._put_info(txn, ckey, rec)
        return rec

    def delete_container(self, account: str, container: str, timestamp: Timestamp) -> tuple[str, dict | None]:
        """Mark deleted; ("not_found" | "not_empty" | "conflict" | "deleted", record)."""
        ts = timestamp.normal
        ckey = container_key(account, container)
        with self.env.begin(write=True) as txn:
            raw = txn.get(ckey, db=self.info_db)
            if raw is None:
                return "not_found", None
            rec = json.loads(raw)
            if is_deleted(rec, "count"):
                return "not_found", rec
            if rec["count"]:
                return "not_empty", rec
            if ts <= rec["put"]:
                return "conflict", rec
            if ts > rec["delete"]:
                rec["delete"] = ts
                rec["status_changed"] = ts
            # as Swift's delete_db: a deleted container's metadata is cleared (removals stamped with the
            # delete), so a container created again under the name inherits no ACLs, policies or rules
            merge_meta(rec["meta"], dict.fromkeys(rec["meta"], ""), ts)
            self._put_info(txn, ckey, rec)
        return "deleted", rec

    # -- object rows -----------------------------------------------------------------------------
    def update_row(self, account: str, container: str, obj: str, timestamp: Timestamp, size: int = 0,
                   etag: str = "", content_type: str = "", deleted: bool = False) -> bool | None:
        """Merge an object row (PUT or DELETE); None if the container was never created here,
        False if the stored row is as new or newer, True when applied."""
        return self.update_rows(account, container, [RowChange(obj, timestamp, size, etag, content_type,
                                                               deleted)])[0]

    def update_rows(self, account: str, container: str, changes: list[RowChange]) -> list[bool | None]:
        """``update_row`` for several rows of one container in ONE write transaction (a row batch from an
        object node): the container record is read and written once. One answer per change, in order."""
        ckey = container_key(account, container)
        with self.env.begin(write=True) as txn:
            raw = txn.get(ckey, db=self.info_db)
            if raw is None:
                return [None] * len(changes)
            answers: list[bool | None] = []
            dcount = dbytes = 0
            state = None  # the record's change state, read at the first row that changes, written back once
            for change in changes:
                name = change.obj.encode("utf-8")
                nkey = name_key(name)
                rkey = ckey + nkey
                old = txn.get(rkey, db=self.rows_db)
                old_live = None
                if old is not None:
                    old_ticks, old_size, old_flags = OBJ_ROW.unpack_from(old)[:3]
                    if old_ticks >= change.timestamp.ticks:
                        answers.append(False)
                        continue
                    if not old_flags & F_DELETED:
                        old_live = old_size
                row = _encode_object_row(name, change.timestamp.ticks, change.size, change.etag,
                                         change.content_type, change.deleted)
                if state is None:
                    state = self.changes.state(txn, ckey)
                self.changes.note_row(txn, ckey, nkey, old, row, state)
                txn.put(rkey, row, db=self.rows_db)
                dcount += (0 if change.deleted else 1) - (1 if old_live is not None else 0)
                dbytes += (0 if change.deleted else change.size) - (old_live or 0)
                answers.append(True)
            if state is not None:
                self.changes.save_state(txn, ckey, state)
            if dcount or dbytes:
                rec = self._decoded_record(ckey, raw)
                rec["count"] += dcount
                rec["bytes"] += dbytes
                self._recent[ckey] = (self._put_info(txn, ckey, rec), rec)
            elif any(answers):
                self._env.dirty = True
        return answers

    def _decoded_record(self, ckey: bytes, raw: bytes) -> dict[str, Any]:
        """``json.loads(raw)`` of a container record, from ``_recent`` when this is the record ``update_rows``
        itself wrote last (the usual case: rows keep coming to the same containers). A shallow copy: only its
        top-level counts are changed, and the cache is checked against the stored bytes, so a record written
        since by anything else is decoded anew."""
        recent = self._recent.get(ckey)
        if recent is not None and recent[0] == raw:
            return dict(recent[1])
        if len(self._recent) >= RECENT_RECORDS:
            self._recent.clear()
        rec: dict[str, Any] = json.loads(raw)
        return rec

    def list_objects(self, account: str, container: str, *, prefix: str | None = None,
                     delimiter: str | None = None, marker: str | None = None, end_marker: str | None = None,
                     limit: int = 10000, reverse: bool = False, path: str | None = None) -> list[dict[str, Any]]:
        """Swift JSON listing rows (objects and ``subdir`` entries); ``path`` as ``list_range``."""
        ckey = container_key(account, container)
        with self.env.begin() as txn:
            rows = list_range(txn, self.rows_db, ckey, _decode_object_row, prefix=_b(prefix),
                              delimiter=_b(delimiter), marker=_b(marker), end_marker=_b(end_marker),
                              limit=limit, reverse=reverse, path=_b(path))
        out: list[dict[str, Any]] = []
        for name, row in rows:
            if row is None:
                out.append({"subdir": name.decode("utf-8")})
                continue
            ticks, size, etag, ctype = row
            out.append({"name": name.decode("utf-8"), "hash": etag.decode("utf-8", "surrogateescape"),
                        "bytes": size, "content_type": ctype.decode("utf-8", "surrogateescape"),
                        "last_modified": iso_from_ticks(ticks)})
        return out

    # -- account reporting -----------------------------------------------------------------------
    def mark_reported(self, ckey: bytes, reported: list) -> None:
        """Record that the account nodes acknowledged ``[put, delete, count, bytes]``."""
        with self.env.begin(write=True) as txn:
            raw = txn.get(ckey, db=self.info_db)
            if raw is None:
                return
            rec = json.loads(raw)
            rec["reported"] = reported
            self._put_info(txn, ckey, rec)
        if not self._needs_report(rec):
            self.unreported.discard(ckey)

    def sync(self) -> None:
        self._env.sync()

    def close(self) -> None:
        self._env.close()


def _b(value: str | None) -> bytes | None:
    return value.encode("utf-8") if value is not None else None


def pack_account_row(put: int, delete: int, count: int, nbytes: int, tail: bytes, policy: int = 0) -> bytes:
    """An account's container row; rows of policy 0 carry no policy field (as before policies existed)."""
    row = ACCT_ROW.pack(put, delete, count, nbytes, len(tail)) + tail
    return row + ACCT_ROW_POLICY.pack(policy) if policy else row


def account_row_policy(value: bytes) -> int:
    """The storage policy index of an account's container row."""
    offset = ACCT_ROW.size + ACCT_ROW.unpack_from(value)[4]
    return ACCT_ROW_POLICY.unpack_from(value, offset)[0] if len(value) >= offset + ACCT_ROW_POLICY.size else 0


def apply_account_row(rec: dict[str, Any], value: bytes | None, sign: int) -> None:
    """Add (``sign`` 1) or remove (-1) a live container row's counts to an account record's totals and
    to its per-policy ``policy_stats`` ({index: [containers, objects, bytes]})."""
    if value is None:
        return
    put, delete, count, nbytes, _ = ACCT_ROW.unpack_from(value)
    if delete > put and not count:
        return
    rec["containers"] += sign
    rec["objects"] += sign * count
    rec["bytes"] += sign * nbytes
    stats = rec.setdefault("policy_stats", {}).setdefault(str(account_row_policy(value)), [0, 0, 0])
    stats[0] += sign
    stats[1] += sign * count
    stats[2] += sign * nbytes


def _decode_account_row(key_name: bytes, value: bytes) -> tuple[bytes, tuple] | None:
    put, delete, count, nbytes, nlen = ACCT_ROW.unpack_from(value)
    if delete > put and not count:
        return None
    name = value[ACCT_ROW.size:ACCT_ROW.size + nlen] if nlen else key_name
    return name, (put, count, nbytes, account_row_policy(value))


class AccountStore:
    """Account records and container rows of one device."""

    def __init__(self, device_path: str):
        self._env = LmdbEnv(layout.accounts_db_path(device_path), DB_NAMES, MAP_SIZE)
        self.env = self._env.env
        self.info_db = self._env.dbs[b"info"]
        self.rows_db = self._env.dbs[b"rows"]
        self.parts_db = self._env.dbs[b"parts"]
        self.changes = ChangeLog(self._env.dbs)

    def get(self, account: str) -> dict[str, Any] | None:
        with self.env.begin() as txn:
            raw = txn.get(account_key(account), db=self.info_db)
        return json.loads(raw) if raw is not None else None

    def _put_info(self, txn: lmdb.Transaction[bytes], akey: bytes, rec: dict[str, Any]) -> None:
        txn.put(akey, json.dumps(rec, separators=(",", ":")).encode("utf-8"), db=self.info_db)
        self._env.dirty = True

    def _create(self, txn: lmdb.Transaction[bytes], akey: bytes, account: str, partition: int, ts: str) -> dict:
        txn.put(struct.pack(">I", partition) + akey, b"", db=self.parts_db)
        return new_record(partition, ts, account=account, containers=0, objects=0, bytes=0)

    def put_account(self, account: str, partition: int, timestamp: Timestamp,
                    meta: dict[str, str]) -> tuple[str, dict[str, Any]]:
        """("created" | "accepted" | "conflict", record)."""
        ts = timestamp.normal
        akey = account_key(account)
        with self.env.begin(write=True) as txn:
            raw = txn.get(akey, db=self.info_db)
            if raw is None:
                rec, outcome = self._create(txn, akey, account, partition, ts), "created"
            else:
                rec = json.loads(raw)
                was_deleted = rec["delete"] > rec["put"]
                if ts > rec["put"]:
                    rec["put"] = ts
                if rec["delete"] > rec["put"]:
                    return "conflict", rec
                outcome = "created" if was_deleted else "accepted"
            merge_meta(rec["meta"], meta, ts)
            self._put_info(txn, akey, rec)
        return outcome, rec

    def post_account(self, account: str, timestamp: Timestamp, meta: dict[str, str]) -> dict | None:
        akey = account_key(account)
        with self.env.begin(write=True) as txn:
            raw = txn.get(akey, db=self.info_db)
            if raw is None:
                return None
            rec: dict[str, Any] = json.loads(raw)
            if rec["delete"] > rec["put"]:
                return None
            if merge_meta(rec["meta"], meta, timestamp.normal):
                self._put_info(txn, akey, rec)
        return rec

    def delete_account(self, account: str, timestamp: Timestamp) -> tuple[str, dict | None]:
        """("not_found" | "conflict" | "deleted", record)."""
        ts = timestamp.normal
        akey = account_key(account)
        with self.env.begin(write=True) as txn:
            raw = txn.get(akey, db=self.info_db)
            if raw is None:
                return "not_found", None
            rec = json.loads(raw)
            if rec["delete"] > rec["put"]:
                return "not_found", rec
            if ts <= rec["put"]:
                return "conflict", rec
            rec["delete"] = rec["status_changed"] = ts
            self._put_info(txn, akey, rec)
        return "deleted", rec

    def update_container_row(self, account: str, partition: int, container: str, put_ts: Timestamp,
                             delete_ts: Timestamp, count: int, nbytes: int, policy: int = 0) -> bool | None:
        """Merge a container row (auto-creating the account); None if the account is deleted."""
        akey = account_key(account)
        name = container.encode("utf-8")
        nkey = name_key(name)
        rkey = akey + nkey
        with self.env.begin(write=True) as txn:
            raw = txn.get(akey, db=self.info_db)
            if raw is None:
                rec = self._create(txn, akey, account, partition, max(put_ts, delete_ts).normal)
            else:
                rec = json.loads(raw)
                if rec["delete"] > rec["put"]:
                    return None
            old = txn.get(rkey, db=self.rows_db)
            put, delete = put_ts.ticks, delete_ts.ticks
            if old is not None:
                oput, odelete, _, _, _ = ACCT_ROW.unpack_from(old)
                put, delete = max(put, oput), max(delete, odelete)
                apply_account_row(rec, old, -1)
            tail = name if len(name) > MAX_NAME_KEY else b""
            row = pack_account_row(put, delete, count, nbytes, tail, policy)
            apply_account_row(rec, row, 1)
            if row != old:
                self.changes.note_row(txn, akey, nkey, old, row)
                txn.put(rkey, row, db=self.rows_db)
            self._put_info(txn, akey, rec)
        return True

    def list_containers(self, account: str, *, prefix: str | None = None, delimiter: str | None = None,
                        marker: str | None = None, end_marker: str | None = None, limit: int = 10000,
                        reverse: bool = False,
                        policy_names: Mapping[int, str] | None = None) -> list[dict[str, Any]]:
        """Swift JSON account listing rows (containers and ``subdir`` entries); with ``policy_names``
        each container's ``storage_policy`` when its index has a name."""
        with self.env.begin() as txn:
            rows = list_range(txn, self.rows_db, account_key(account), _decode_account_row,
                              prefix=_b(prefix), delimiter=_b(delimiter), marker=_b(marker),
                              end_marker=_b(end_marker), limit=limit, reverse=reverse)
        out: list[dict[str, Any]] = []
        for name, row in rows:
            if row is None:
                out.append({"subdir": name.decode("utf-8")})
                continue
            put, count, nbytes, policy = row
            entry = {"name": name.decode("utf-8"), "count": count, "bytes": nbytes,
                     "last_modified": iso_from_ticks(put)}
            if policy_names and policy in policy_names:
                entry["storage_policy"] = policy_names[policy]
            out.append(entry)
        return out

    def sync(self) -> None:
        self._env.sync()

    def close(self) -> None:
        self._env.close()
