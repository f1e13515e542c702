"""Listing tombstone purge rules (store/listing_reclaim.py) on a real LMDB container store."""

from __future__ import annotations

import time

from stackstore.timestamp import Timestamp
from store.listing_reclaim import cutoff_ticks, keep_incoming_row, reclaim_record, tombstone_rows
from store.listings import ContainerStore, _encode_object_row, container_key


def _store(tmp_path) -> tuple[ContainerStore, bytes]:
    store = ContainerStore(str(tmp_path))
    store.put_container("a", "c", 0, Timestamp(time.time() - 100), {}, None, None)
    return store, container_key("a", "c")


def test_purges_only_old_tombstones_every_peer_holds(tmp_path):
    store, key = _store(tmp_path)
    old = time.time() - 50
    for i, name in enumerate(["x", "y", "z"]):
        store.update_row("a", "c", name, Timestamp(old + i), size=1, etag="e", content_type="t")
        store.update_row("a", "c", name, Timestamp(old + i + 0.5), deleted=True)
    store.update_row("a", "c", "live", Timestamp(old), size=1, etag="e", content_type="t")
    store.update_row("a", "c", "fresh", Timestamp(time.time()), deleted=True)  # younger than the age
    with store.env.begin() as txn:
        seqs = {n: store.changes.row_seq(txn, key, n.encode()) for n in ("x", "y", "z", "fresh")}
        last_seq = store.changes.peek(txn, key).seq
    cutoff = cutoff_ticks(10.0)

    assert reclaim_record(store, key, 0, cutoff) == 0  # a peer confirmed nothing: nothing goes
    assert reclaim_record(store, key, seqs["y"], cutoff) == 2  # x and y; z not confirmed yet
    assert tombstone_rows(store, key) == 2
    assert reclaim_record(store, key, last_seq, cutoff) == 1  # z; "fresh" is too young
    assert tombstone_rows(store, key) == 1
    with store.env.begin() as txn:
        state = store.changes.peek(txn, key)
        assert state.digest == store.changes.recompute(txn, key)  # the running digest follows
        assert state.seq == last_seq  # sequences never go back: sync points stay valid
        assert [n for _, n in store.changes.changed_since(txn, key, 0)] == [b"live", b"fresh"]
    assert [r["name"] for r in store.list_objects("a", "c")] == ["live"]
    store.close()


def test_old_tombstone_pushed_back_is_not_stored_again(tmp_path):
    store, _key = _store(tmp_path)
    cutoff = cutoff_ticks(10.0)
    old_ts = Timestamp(time.time() - 60).ticks
    tomb = _encode_object_row(b"x", old_ts, 0, "", "", True)
    live = _encode_object_row(b"x", old_ts - 1, 1, "e", "t", False)
    assert not keep_incoming_row(store, None, tomb, cutoff)  # purged here (or never seen): dropped
    assert keep_incoming_row(store, live, tomb, cutoff)  # it still deletes a row we hold
    assert keep_incoming_row(store, None, live, cutoff)
    fresh = _encode_object_row(b"x", Timestamp(time.time()).ticks, 0, "", "", True)
    assert keep_incoming_row(store, None, fresh, cutoff)
    store.close()
