"""Whether S3 Object Lock keeps a version from lifecycle's removal: ``stackstore.object_lock.is_held`` (the one
reading of a version's lock sysmeta, shared with the proxy's delete guard) at the lifecycle pass's clock."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from stackstore.object_lock import is_held


def is_locked(headers: Mapping[str, str], now: float) -> bool:
    """Whether a version's stored headers put it under legal hold or unexpired retention at ``now`` (epoch)."""
    return is_held(headers, datetime.fromtimestamp(now, UTC))
