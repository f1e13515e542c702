"""S3 Object Lock state of one stored version, readable by every process (proxy and storage nodes).

A version's retention and legal hold live in its own object sysmeta, so they travel with it when it is
archived into the versions container and when it is replicated. ``is_held`` is what any path that would
remove a version's data (the proxy's versioning engine guard, the nodes' lifecycle) asks first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from stackstore.headers import lookup

SYSMETA_MODE = "X-Object-Sysmeta-S3-Lock-Mode"
SYSMETA_RETAIN_UNTIL = "X-Object-Sysmeta-S3-Lock-Retain-Until"
SYSMETA_LEGAL_HOLD = "X-Object-Sysmeta-S3-Lock-Legal-Hold"  # the names store/lifecycle/retention.py reads
CONTAINER_SYSMETA_ENABLED = "X-Container-Sysmeta-S3-Object-Lock"  # "Enabled" on a lock-enabled bucket
CONTAINER_INFO_ENABLED = "s3-object-lock"  # its key in container info's ``sysmeta``
GOVERNANCE, COMPLIANCE = "GOVERNANCE", "COMPLIANCE"
MODES = (GOVERNANCE, COMPLIANCE)
LEGAL_HOLD_ON, LEGAL_HOLD_OFF = "ON", "OFF"


def container_locked(container_info: Mapping[str, object]) -> bool:
    """Whether a container (its cached info) is an S3 Object Lock bucket (its versioning stays enabled)."""
    sysmeta = container_info.get("sysmeta") or {}
    return bool(isinstance(sysmeta, Mapping) and sysmeta.get(CONTAINER_INFO_ENABLED))


@dataclass(frozen=True)
class VersionLock:
    """The lock state stored with one version."""

    mode: str | None  # GOVERNANCE, COMPLIANCE or None (no retention)
    retain_until: datetime | None
    legal_hold: bool

    def retained(self, now: datetime | None = None) -> bool:
        """Whether the retention period still runs."""
        if self.mode is None or self.retain_until is None:
            return False
        return self.retain_until > (now or datetime.now(UTC))

    def held(self, now: datetime | None = None) -> bool:
        """Whether the version may not be deleted at all right now (without a governance bypass): a legal hold,
        or a retain-until date still ahead (whatever its mode: a date without a known mode keeps the version)."""
        if self.legal_hold:
            return True
        return self.retain_until is not None and self.retain_until > (now or datetime.now(UTC))


def parse_date(value: str) -> datetime | None:
    """An ISO 8601 date-time (``Z`` or an offset; UTC when none) as an aware datetime; None when invalid."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def format_date(when: datetime) -> str:
    """AWS's form of a retain-until date: ``2030-01-01T00:00:00.000Z``."""
    utc = when.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


NO_LOCK = VersionLock(None, None, False)  # what nearly every version has: no lock field stored


def lock_of(headers: Mapping[str, str]) -> VersionLock:
    """The lock state in a version's stored headers (sysmeta), or a listing row's equivalent; ``NO_LOCK``
    itself when no lock field is stored."""
    mode_text = lookup(headers, SYSMETA_MODE)
    until_text = lookup(headers, SYSMETA_RETAIN_UNTIL)
    hold_text = lookup(headers, SYSMETA_LEGAL_HOLD)
    if not (mode_text or until_text or hold_text):
        return NO_LOCK
    mode = (mode_text or "").upper() or None
    until = _parse_until(until_text) if until_text else None
    if until_text and until is None:  # a date this code cannot read keeps the version
        until = datetime.max.replace(tzinfo=UTC)
    if mode not in MODES:
        mode = None
    hold = (hold_text or "").upper() == LEGAL_HOLD_ON
    return VersionLock(mode, until, hold)


def _parse_until(value: str) -> datetime | None:
    """A retain-until date: ISO 8601 as stored, or epoch seconds; None when neither."""
    parsed = parse_date(value)
    if parsed is not None:
        return parsed
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (ValueError, OverflowError, OSError):
        return None


KNOWN_SYSMETA = frozenset(name.lower() for name in (SYSMETA_MODE, SYSMETA_RETAIN_UNTIL, SYSMETA_LEGAL_HOLD))
SYSMETA_PREFIX = "x-object-sysmeta-s3-lock-"


def is_held(headers: Mapping[str, str], now: datetime | None = None) -> bool:
    """Whether a version whose stored headers are ``headers`` is protected from deletion now (an unexpired
    retention, or a legal hold): lifecycle and every delete path must leave it alone. A lock field this
    release does not know keeps the version too (an unknown lock is no reason to delete data)."""
    if lock_of(headers).held(now):
        return True
    return any(k.lower().startswith(SYSMETA_PREFIX) and k.lower() not in KNOWN_SYSMETA for k in headers)
