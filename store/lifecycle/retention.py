"""Whether S3 Object Lock keeps a version from lifecycle's removal (retention or legal hold).

Object Lock is being built separately (it will keep its state in each version's object sysmeta, so
archive copies and replication carry it, docs/versioning.md). Until it exposes its own check, this
reads the sysmeta it is expected to write and refuses removal whenever a lock is visible:

* ``X-Object-Sysmeta-S3-Lock-Legal-Hold: ON`` (any case);
* ``X-Object-Sysmeta-S3-Lock-Retain-Until`` (epoch seconds, or an ISO 8601 date) still in the future,
  whatever the mode (lifecycle never bypasses GOVERNANCE retention, as AWS).

Any other ``X-Object-Sysmeta-S3-Lock-*`` value lifecycle cannot read also keeps the version (a lock
it does not understand is not a reason to delete data).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

LOCK_SYSMETA_PREFIX = "x-object-sysmeta-s3-lock-"
LEGAL_HOLD = LOCK_SYSMETA_PREFIX + "legal-hold"
RETAIN_UNTIL = LOCK_SYSMETA_PREFIX + "retain-until"
MODE = LOCK_SYSMETA_PREFIX + "mode"


def _epoch(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def is_locked(headers: Mapping[str, str], now: float) -> bool:
    """Whether a version's stored headers put it under legal hold or unexpired retention at ``now``."""
    lock = {k.lower(): v.strip() for k, v in headers.items() if k.lower().startswith(LOCK_SYSMETA_PREFIX)}
    if not lock:
        return False
    if lock.get(LEGAL_HOLD, "").upper() == "ON":
        return True
    until = lock.get(RETAIN_UNTIL)
    if until:
        when = _epoch(until)
        return when is None or when > now
    known_off = {LEGAL_HOLD, MODE}
    return any(name not in known_off for name in lock)
