"""Check a device's LMDB listing environments: they open, stat, and their records agree.

One read transaction (a consistent snapshot) per environment: every info record parses and is keyed
by its name's hash, every partition entry and row belongs to a known record, and the per-record
counters (objects/bytes, containers) equal what the rows add up to. Problems are reported, not
repaired: replication and the updater rewrite rows; an operator decides about a broken environment.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from typing import Any

from store.listings import (
    ACCT_ROW,
    F_DELETED,
    HASH_LEN,
    OBJ_ROW,
    AccountStore,
    ContainerStore,
    account_key,
    container_key,
)

MAX_REPORTED = 20


class Problems:
    """Collected problems of one scan (the first ``MAX_REPORTED`` described)."""

    def __init__(self, kind: str):
        self.kind = kind
        self.count = 0
        self.samples: list[str] = []

    def add(self, message: str) -> None:
        self.count += 1
        if len(self.samples) < MAX_REPORTED:
            self.samples.append(f"{self.kind}: {message}")


def _scan(store: ContainerStore | AccountStore, kind: str, key_of: Callable[[dict], bytes],
          row_totals: Callable[[bytes], tuple[int, int, int] | None],
          counters: tuple[str, str, str]) -> tuple[Problems, int]:
    """Shared walk: info records, partition index, rows; returns problems and rows seen."""
    problems = Problems(kind)
    store.env.stat()
    infos: dict[bytes, dict[str, Any]] = {}
    totals: dict[bytes, list[int]] = {}
    rows = 0
    with store.env.begin() as txn:
        for key, raw in txn.cursor(store.info_db):
            try:
                rec = json.loads(raw)
                if key_of(rec) != key:
                    problems.add(f"record {key.hex()} is keyed under the wrong hash")
                infos[key] = rec
            except (ValueError, KeyError, TypeError):
                problems.add(f"record {key.hex()} does not parse")
        for key, _ in txn.cursor(store.parts_db):
            part, hkey = struct.unpack(">I", key[:4])[0], key[4:]
            rec = infos.get(hkey)
            if rec is None:
                problems.add(f"partition entry {part}/{hkey.hex()} without a record")
            elif rec.get("partition") != part:
                problems.add(f"partition entry {part} disagrees with record {hkey.hex()}")
        for key, value in txn.cursor(store.rows_db):
            rows += 1
            hkey = key[:HASH_LEN]
            if hkey not in infos:
                problems.add(f"row {key[:40]!r} without a record")
                continue
            try:
                got = row_totals(value)
            except struct.error:
                problems.add(f"row {key[:40]!r} does not decode")
                continue
            if got is not None:
                acc = totals.setdefault(hkey, [0, 0, 0])
                for i in range(3):
                    acc[i] += got[i]
    for hkey, rec in infos.items():
        want = totals.get(hkey, [0, 0, 0])
        have = [rec.get(name, 0) for name in counters]
        for name, h, w in zip(counters, have, want, strict=True):
            if name and h != w:
                problems.add(f"{hkey.hex()} {name} is {h}, rows add up to {w}")
    return problems, rows


def _object_row(value: bytes) -> tuple[int, int, int] | None:
    _, size, flags, _, _ = OBJ_ROW.unpack_from(value)
    return None if flags & F_DELETED else (1, size, 0)


def _container_row(value: bytes) -> tuple[int, int, int] | None:
    put, delete, count, nbytes, _ = ACCT_ROW.unpack_from(value)
    return None if delete > put and not count else (1, count, nbytes)


def check_containers(store: ContainerStore) -> tuple[Problems, int]:
    return _scan(store, "containers", lambda r: container_key(r["account"], r["container"]),
                 _object_row, ("count", "bytes", ""))


def check_accounts(store: AccountStore) -> tuple[Problems, int]:
    return _scan(store, "accounts", lambda r: account_key(r["account"]), _container_row,
                 ("containers", "objects", "bytes"))
