"""Listing change sequences, running digests and sync points, on LMDB stores directly.

The replication protocol is played in-process (digests + sync points from the receiver, rows changed
since then from the sender, merge) exactly as ``db_replicator`` does it over HTTP.
"""

from __future__ import annotations

import json
import random
import time

import pytest

from stackstore.timestamp import Timestamp
from store.listing_changes import prefixed
from store.listings import AccountStore, ContainerStore, container_key
from store.replication import db_sync

PART = 7
ACCOUNT = "AUTH_test"


def _ts(rng: random.Random | None = None) -> Timestamp:
    base = 1_700_000_000.0
    return Timestamp(base + (rng.random() * 1000 if rng else time.time() - base))


def _open(cls: type, tmp_path, device: str):
    (tmp_path / device).mkdir(exist_ok=True)
    return cls(str(tmp_path / device))


def push(kind: db_sync.DBKind, src: db_sync.Store, dst: db_sync.Store, batch: int = 1000) -> int:
    """One replicator push of partition PART from ``src`` to ``dst``; rows sent."""
    local = db_sync.local_records(src, PART)
    view = json.loads(json.dumps(db_sync.peer_view(dst, PART, {k: [r.uid, r.seq, r.digest] for k, r in local.items()})))
    sent = 0
    for key_hex, rec in local.items():
        if view["digests"].get(key_hex) == rec.digest:
            continue
        since = view["points"].get(key_hex, 0)
        while True:
            item = db_sync.export_since(src, bytes.fromhex(key_hex), since, batch)
            db_sync.merge(kind, dst, PART, json.loads(json.dumps(item)))  # as over the wire
            sent += len(item["rows"])
            if len(item["rows"]) < batch:
                break
            since = item["upto"]
    return sent


def check_invariants(store: db_sync.Store) -> None:
    """Running digest == full recomputation; every row has exactly one change entry at its seq."""
    ch = store.changes
    with store.env.begin() as txn:
        for key, _ in txn.cursor(store.info_db):
            state = ch.peek(txn, key)
            if state is None:
                continue
            assert state.digest == ch.recompute(txn, key)
            rows = {n for n, _ in prefixed(txn, store.rows_db, key)}
            changes = list(ch.changed_since(txn, key, 0))
            assert sorted(n for _, n in changes) == sorted(rows)
            assert all(seq <= state.seq for seq, _ in changes)
            for seq, name in changes:
                assert txn.get(key + name, db=ch.seqs_db) == seq.to_bytes(8)


def new_container(store: ContainerStore, name: str = "c") -> None:
    store.put_container(ACCOUNT, name, PART, _ts(), {}, None, None)


def random_ops(store: ContainerStore, rng: random.Random, n: int, container: str = "c") -> None:
    for _ in range(n):
        name = f"o{rng.randrange(60)}" if rng.random() < 0.9 else "x" * 600 + str(rng.randrange(3))
        ts = _ts(rng)
        if rng.random() < 0.3:
            store.update_row(ACCOUNT, container, name, ts, deleted=True)
        else:
            store.update_row(ACCOUNT, container, name, ts, rng.randrange(10**6), f"e{rng.random()}", "text/x")


def listing(store: ContainerStore, container: str = "c") -> list[dict]:
    return store.list_objects(ACCOUNT, container)


def test_running_digest_matches_full_recomputation(tmp_path):
    rng = random.Random(1234)
    a, b = _open(ContainerStore, tmp_path, "a"), _open(ContainerStore, tmp_path, "b")
    for store in (a, b):
        new_container(store)
    for _ in range(20):
        random_ops(a, rng, 30)
        random_ops(b, rng, 30)
        (push if rng.random() < 0.5 else lambda *x: 0)(db_sync.CONTAINER, a, b)
        check_invariants(a)
        check_invariants(b)
    push(db_sync.CONTAINER, a, b)
    push(db_sync.CONTAINER, b, a)
    assert db_sync.digests(a, PART) == db_sync.digests(b, PART)
    assert listing(a) == listing(b)
    assert a.get(ACCOUNT, "c")["count"] == b.get(ACCOUNT, "c")["count"] == len(listing(a))


def test_account_rows_keep_running_digest(tmp_path):
    rng = random.Random(99)
    a, b = _open(AccountStore, tmp_path, "a"), _open(AccountStore, tmp_path, "b")
    for _ in range(300):
        store = a if rng.random() < 0.5 else b
        put, delete = _ts(rng), _ts(rng)
        store.update_container_row(ACCOUNT, PART, f"c{rng.randrange(40)}", put, delete,
                                   rng.randrange(5), rng.randrange(1000))
    for _ in range(2):
        push(db_sync.ACCOUNT, a, b)
        push(db_sync.ACCOUNT, b, a)
    check_invariants(a)
    check_invariants(b)
    assert db_sync.digests(a, PART) == db_sync.digests(b, PART)
    assert a.list_containers(ACCOUNT) == b.list_containers(ACCOUNT)
    assert push(db_sync.ACCOUNT, a, b) == 0


def _filled_pair(tmp_path, rows: int) -> tuple[ContainerStore, ContainerStore]:
    a, b = _open(ContainerStore, tmp_path, "a"), _open(ContainerStore, tmp_path, "b")
    new_container(a)
    for i in range(rows):
        a.update_row(ACCOUNT, "c", f"obj-{i:06d}", _ts(), i, "etag", "text/plain")
    return a, b


def test_after_a_full_sync_only_changes_are_sent(tmp_path):
    a, b = _filled_pair(tmp_path, 3000)
    assert push(db_sync.CONTAINER, a, b, batch=500) == 3000  # a new peer gets everything
    assert push(db_sync.CONTAINER, a, b) == 0  # equal digests: nothing to do
    assert push(db_sync.CONTAINER, b, a) == 0

    a.update_row(ACCOUNT, "c", "obj-new", _ts(), 1, "e", "t")
    assert push(db_sync.CONTAINER, a, b) == 1
    assert push(db_sync.CONTAINER, a, b) == push(db_sync.CONTAINER, b, a) == 0
    # b never sent anything to a, but a's point for b jumped when their digests were equal
    b.update_row(ACCOUNT, "c", "obj-000001", _ts(), 1, "e", "t")
    assert push(db_sync.CONTAINER, b, a) == 1
    assert listing(a) == listing(b) and len(listing(b)) == 3001


def test_deletes_and_metadata_propagate_via_sync_points(tmp_path):
    a, b = _filled_pair(tmp_path, 200)
    push(db_sync.CONTAINER, a, b)
    for i in range(0, 200, 10):
        a.update_row(ACCOUNT, "c", f"obj-{i:06d}", _ts(), deleted=True)
    a.post_container(ACCOUNT, "c", _ts(), {"x-container-meta-color": "blue"})
    assert push(db_sync.CONTAINER, a, b) == 20
    assert len(listing(b)) == 180 and b.get(ACCOUNT, "c")["count"] == 180
    assert b.get(ACCOUNT, "c")["meta"]["x-container-meta-color"][0] == "blue"

    b.post_container(ACCOUNT, "c", _ts(), {"x-container-meta-color": "red"})  # metadata only
    assert push(db_sync.CONTAINER, b, a) == 200  # first contact from b: a's point for b is 0
    assert a.get(ACCOUNT, "c")["meta"]["x-container-meta-color"][0] == "red"
    a.post_container(ACCOUNT, "c", _ts(), {"x-container-meta-color": "green"})
    assert push(db_sync.CONTAINER, a, b) == 0  # no row changed, the record still goes
    assert b.get(ACCOUNT, "c")["meta"]["x-container-meta-color"][0] == "green"
    assert db_sync.digests(a, PART) == db_sync.digests(b, PART)


def test_a_full_sync_hands_on_the_senders_sync_points(tmp_path):
    """c got everything from b, which had everything of a: c needs nothing more from a."""
    a, b = _filled_pair(tmp_path, 400)
    c = _open(ContainerStore, tmp_path, "c")
    assert push(db_sync.CONTAINER, a, b) == 400
    assert push(db_sync.CONTAINER, b, c) == 400
    a.update_row(ACCOUNT, "c", "obj-new", _ts(), 1, "e", "t")
    assert push(db_sync.CONTAINER, a, c) == 1
    assert listing(a) == listing(c)


def test_wiped_receiver_is_refilled(tmp_path):
    a, b = _filled_pair(tmp_path, 1500)
    push(db_sync.CONTAINER, a, b)
    b.close()
    for f in (tmp_path / "b" / "containers.lmdb").iterdir():
        f.unlink()
    b = _open(ContainerStore, tmp_path, "b")  # an empty replacement: its sync points are gone too
    assert push(db_sync.CONTAINER, a, b, batch=400) == 1500
    assert listing(a) == listing(b)


def test_rebuilt_sender_is_a_new_peer(tmp_path):
    """A replica that lost its record and got it back has new sequences: its uid changed, so the
    receiver's old sync point (which could hide its rows) is not used."""
    a, b = _filled_pair(tmp_path, 50)
    push(db_sync.CONTAINER, a, b)
    key = container_key(ACCOUNT, "c")
    assert db_sync.remove_if_unchanged(a, key, db_sync.digests(a, PART)[key.hex()])
    assert push(db_sync.CONTAINER, b, a) == 50
    a.update_row(ACCOUNT, "c", "late", _ts(), 1, "e", "t")
    assert push(db_sync.CONTAINER, a, b) == 51  # a's rebuilt replica: everything once
    assert listing(a) == listing(b)


def test_handoff_removal_forgets_sequences_and_sync_points(tmp_path):
    a, b = _filled_pair(tmp_path, 30)
    push(db_sync.CONTAINER, a, b)
    key = container_key(ACCOUNT, "c")
    assert db_sync.remove_if_unchanged(b, key, db_sync.digests(b, PART)[key.hex()])
    with b.env.begin() as txn:
        for db in (b.rows_db, b.changes.state_db, b.changes.seqs_db, b.changes.changes_db, b.changes.syncs_db):
            assert list(prefixed(txn, db, key)) == []
    assert push(db_sync.CONTAINER, a, b) == 30


def test_legacy_records_migrate_transparently(tmp_path):
    a, b = _filled_pair(tmp_path, 120)
    with a.env.begin(write=True) as txn:  # data written before sequences existed
        for db in (a.changes.state_db, a.changes.seqs_db, a.changes.changes_db, a.changes.syncs_db):
            txn.drop(db, delete=False)
    a.close()
    a = _open(ContainerStore, tmp_path, "a")
    a.update_row(ACCOUNT, "c", "obj-000003", _ts(), 5, "e", "t")  # first write migrates the record
    check_invariants(a)
    assert push(db_sync.CONTAINER, a, b) == 120
    check_invariants(b)
    assert listing(a) == listing(b)


def _old_pass(src: ContainerStore, dst: ContainerStore, key: bytes) -> int:
    """What a pass cost before sync points: a digest over all rows on both sides, every row sent."""
    for store in (src, dst):
        with store.env.begin() as txn:
            store.changes.recompute(txn, key)
    item = db_sync.export_since(src, key, 0, 10**9)
    db_sync.merge(db_sync.CONTAINER, dst, PART, json.loads(json.dumps(item)))
    return len(item["rows"])


@pytest.mark.parametrize("rows", [50_000])
def test_pass_cost_with_one_changed_row(tmp_path, rows):
    a, b = _filled_pair(tmp_path, rows)
    push(db_sync.CONTAINER, a, b)
    push(db_sync.CONTAINER, b, a)
    key = container_key(ACCOUNT, "c")
    a.update_row(ACCOUNT, "c", "obj-new-1", _ts(), 1, "e", "t")
    start = time.perf_counter()
    sent = push(db_sync.CONTAINER, a, b)
    new = time.perf_counter() - start
    a.update_row(ACCOUNT, "c", "obj-new-2", _ts(), 1, "e", "t")
    start = time.perf_counter()
    old_sent = _old_pass(a, b, key)
    old = time.perf_counter() - start
    print(f"\n{rows}-row container, one row changed: sync points {sent} row(s) in {new * 1000:.1f} ms; "
          f"full digest + full send {old_sent} rows in {old * 1000:.0f} ms")
    assert sent == 1 and old_sent == rows + 2
    assert new < old
