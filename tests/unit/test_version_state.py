"""What a stored version carries: its Object Lock state (stackstore/object_lock.py), read alike by lifecycle
(store/lifecycle/retention.py), and the metadata key of an archived SSE version (objclient/crypto/envelope.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from stackstore import object_lock as ol
from store.lifecycle import retention


def _stored(mode: str | None, until: datetime | None, hold: str | None) -> dict[str, str]:
    out = {}
    if mode is not None and until is not None:
        out = {ol.SYSMETA_MODE: mode, ol.SYSMETA_RETAIN_UNTIL: ol.format_date(until)}
    if hold is not None:
        out[ol.SYSMETA_LEGAL_HOLD] = hold
    return out


def test_lifecycle_and_object_lock_agree():
    now = datetime.now(UTC)
    for mode in (None, ol.GOVERNANCE, ol.COMPLIANCE):
        for until in (now + timedelta(days=1), now - timedelta(seconds=1)):
            for hold in (None, "ON", "OFF"):
                stored = _stored(mode, until, hold)
                expected = hold == "ON" or (mode is not None and until > now)
                assert ol.is_held(stored, now) is expected, stored
                assert retention.is_locked(stored, now.timestamp()) is expected, stored


def test_dates_round_trip_in_aws_form():
    when = datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    assert ol.format_date(when) == "2030-01-02T03:04:05.678Z"
    assert ol.parse_date("2030-01-02T03:04:05.678Z") == when
    assert ol.parse_date("2030-01-02T03:04:05") == when.replace(microsecond=0)
    assert ol.parse_date("not a date") is None
    lock = ol.lock_of({ol.SYSMETA_MODE.lower(): "governance", ol.SYSMETA_RETAIN_UNTIL.lower(): "bogus"})
    assert lock.mode == ol.GOVERNANCE and lock.held()  # an unreadable date never frees a version


def test_archived_version_keeps_its_metadata_key():
    """An archived version's user metadata opens under the key of its name's path (objclient/crypto/envelope.py)."""
    from objclient.crypto import envelope
    from stackstore import versioning_names as names

    kek = b"\x01" * 32
    archived = (names.versions_container("c"), names.version_object("dir/o", "1700000000.12345"))
    assert envelope.meta_key(kek, "AUTH_a", *archived) == envelope.meta_key(kek, "AUTH_a", "c", "dir/o")
    assert envelope.meta_key(kek, "AUTH_a", "c", "o") != envelope.meta_key(kek, "AUTH_a", "c", "p")
    assert names.logical_path("c", "\x00o\x000000000001.00000") == ("c", "\x00o\x000000000001.00000")
