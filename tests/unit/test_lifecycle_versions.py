"""Lifecycle over versions on the nodes: the versioning layout they restate agrees with the engine's,
the Object Lock check, and which versions a walk of one key's history finds due."""

from __future__ import annotations

from collections.abc import Coroutine
from types import SimpleNamespace
from typing import Any

from proxy.versioning import engine
from stackstore import versioning_names as names
from stackstore.lifecycle import Rule
from store.lifecycle import retention, version_layout
from store.lifecycle.noncurrent import NameHistory, NoncurrentPass

NOW = 1_000_000.0


def test_layout_agrees_with_the_engine():
    assert version_layout.SYSMETA_ENABLED == engine.SYSMETA_ENABLED
    assert version_layout.OBJECT_VERSION_SYSMETA == engine.OBJECT_VERSION_SYSMETA
    assert version_layout.DELETE_MARKER_CONTENT_TYPE == engine.DELETE_MARKER_CONTENT_TYPE
    for value in ("true", "True", "false", "", "on"):
        info = {"status": 200, "sysmeta": {"versions-enabled": value}}
        assert version_layout.state_of({engine.SYSMETA_ENABLED.lower(): value}) == engine.state_of(info)
    stored = {"Content-Type": "a/b", "X-Object-Meta-X": "1", "X-Object-Sysmeta-Y": "2", "Etag": '"e"',
              "X-Timestamp": "1.00000", "X-Backend-Z": "3"}
    kept = {k.lower(): v for k, v in version_layout.kept_headers(stored).items()}
    assert kept == {k.lower(): v for k, v in engine.kept_headers({k.lower(): v for k, v in stored.items()}).items()}
    assert set(kept) == {"content-type", "x-object-meta-x", "x-object-sysmeta-y", "etag"} and kept["etag"] == "e"
    assert version_layout.version_id_of({"x-object-sysmeta-version-id": "1700000000.00000"}) == "1700000000.00000"
    assert version_layout.version_id_of({}) == names.NULL_VERSION
    assert version_layout.id_seconds("1700000000.50000") == 1700000000.5
    assert version_layout.id_seconds("null") is None


def test_object_lock_keeps_versions():
    assert not retention.is_locked({}, NOW)
    assert retention.is_locked({"X-Object-Sysmeta-S3-Lock-Legal-Hold": "ON"}, NOW)
    assert not retention.is_locked({"X-Object-Sysmeta-S3-Lock-Legal-Hold": "OFF"}, NOW)
    assert retention.is_locked({"x-object-sysmeta-s3-lock-retain-until": str(NOW + 1),
                                "x-object-sysmeta-s3-lock-mode": "GOVERNANCE"}, NOW)
    assert not retention.is_locked({"x-object-sysmeta-s3-lock-retain-until": str(NOW - 1),
                                    "x-object-sysmeta-s3-lock-mode": "COMPLIANCE"}, NOW)
    assert retention.is_locked({"x-object-sysmeta-s3-lock-retain-until": "2999-01-01T00:00:00Z"}, NOW)
    assert retention.is_locked({"x-object-sysmeta-s3-lock-retain-until": "not a date"}, NOW)
    assert retention.is_locked({"x-object-sysmeta-s3-lock-something-new": "1"}, NOW)


def _walk(rules: list[Rule], current_since: float | None, rows: list[tuple[float, bool, int]]) -> list[int]:
    """Indexes of ``rows`` (id time, is a marker, size; newest first) the walk finds due, day = 1 s."""
    lc = SimpleNamespace(rules=rules, now=NOW, day_seconds=1.0, guarded=lambda work: work)
    walk = NoncurrentPass(lc, SimpleNamespace())  # type: ignore[arg-type]
    history = NameHistory("k", current_since)
    due = []
    for index, (when, is_marker, size) in enumerate(rows):
        row: dict[str, Any] = {"name": f"row{index}", "bytes": size,
                               "content_type": version_layout.DELETE_MARKER_CONTENT_TYPE if is_marker else "a/b"}
        work = walk._step(history, row, when, when + 1)
        if isinstance(work, Coroutine):
            work.close()
            due.append(index)
    return due


def test_noncurrent_days_count_from_the_successor():
    rule = Rule("r", True, noncurrent_days=10)
    # the newest archived version became noncurrent when the current one was written (NOW - 5): not due;
    # the next one when its successor was written (NOW - 20): due, and so is everything older
    assert _walk([rule], NOW - 5, [(NOW - 20, False, 1), (NOW - 30, False, 1), (NOW - 40, True, 0)]) == [1, 2]


def test_newer_noncurrent_versions_keep_the_newest():
    rule = Rule("r", True, noncurrent_days=1, newer_noncurrent_versions=2)
    rows = [(NOW - 100 - i, False, 1) for i in range(5)]
    assert _walk([rule], NOW - 50, rows) == [2, 3, 4]


def test_a_delete_marker_on_top_is_the_current_version():
    rule = Rule("r", True, noncurrent_days=1)
    # no current object: the marker is current, the version under it noncurrent since the marker
    assert _walk([rule], None, [(NOW - 100, True, 0), (NOW - 200, False, 1)]) == [1]
    assert _walk([rule], None, [(NOW - 0.5, True, 0), (NOW - 200, False, 1)]) == []
    # no current object, no marker: the newest version became noncurrent when it was archived
    assert _walk([rule], None, [(NOW - 1.5, False, 1), (NOW - 200, False, 1)]) == [1]


def test_filters_select_versions():
    from stackstore.lifecycle import RuleFilter

    big = Rule("r", True, filter=RuleFilter(size_greater_than=10), noncurrent_days=1)
    assert _walk([big], NOW - 50, [(NOW - 60, False, 5), (NOW - 70, False, 50), (NOW - 80, True, 0)]) == [1, 2]
    other = Rule("r", True, filter=RuleFilter(prefix="x/"), noncurrent_days=1)
    assert _walk([other], NOW - 50, [(NOW - 60, False, 5)]) == []
