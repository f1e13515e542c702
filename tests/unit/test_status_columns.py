"""The RELINKER and SEGMENTS REAPED cells of ``stackstore status`` from a node's recon summaries."""

from __future__ import annotations

from store.cluster_status import _relinker, _segments_reaped


def test_relinker_cell():
    assert _relinker(None) == "-"
    assert _relinker({"running": {}, "updated": None}) == "-"
    assert _relinker({"running": {}, "updated": 5.0}) == "idle"
    one = {"running": {"d1": "cleanup object-1"}, "hash_dirs": 7, "updated": 5.0}
    assert _relinker(one) == "cleanup object-1 7 dirs"
    both = {"running": {"d1": "relink object", "d2": "relink object"}, "hash_dirs": 30, "updated": 5.0}
    assert _relinker(both) == "relink object 30 dirs (2 devs)"


def test_segments_reaped_cell():
    assert _segments_reaped(None, 100.0) == "never"
    assert _segments_reaped({"last_pass": None, "reaped": 0}, 100.0) == "never"
    assert _segments_reaped({"last_pass": 90.0, "reaped": 0, "reaped_bytes": 0}, 100.0) == "0 (0 B) 10s ago"
    done = {"last_pass": 40.0, "reaped": 12, "reaped_bytes": 3_400_000, "failures": 1}
    assert _segments_reaped(done, 100.0) == "12 (3.4 MB), 1 failed 60s ago"
