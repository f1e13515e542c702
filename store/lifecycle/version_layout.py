"""How object versioning stores versions, as far as lifecycle needs to know: the versioning engine's
definitions (proxy/versioning/engine.py) restated, because nodes never import the proxy (names come
from stackstore/versioning_names.py; tests/unit/test_lifecycle_versions.py checks that both agree).

Model (docs/versioning.md): a container's state is its ``Versions-Enabled`` sysmeta; the current
version is the plain object (its id in ``X-Object-Sysmeta-Version-Id``, ``null`` when absent); older
versions and delete markers are objects of ``\\x00versions\\x00<container>``.
"""

from __future__ import annotations

from collections.abc import Mapping

from stackstore import versioning_names as names
from stackstore.timestamp import Timestamp

ENABLED, SUSPENDED = "enabled", "suspended"
SYSMETA_ENABLED = "X-Container-Sysmeta-Versions-Enabled"
OBJECT_VERSION_SYSMETA = "X-Object-Sysmeta-Version-Id"
DELETE_MARKER_CONTENT_TYPE = "application/x-deleted;swift_versions_deleted=1"
_TRUE = ("true", "1", "yes", "on", "t", "y")


def state_of(container_meta: Mapping[str, str]) -> str | None:
    """``enabled``, ``suspended`` or None (never versioned) from a container's metadata (any case)."""
    low = SYSMETA_ENABLED.lower()
    value = next((v for k, v in container_meta.items() if k.lower() == low), "")
    if not value:
        return None
    return ENABLED if value.lower() in _TRUE else SUSPENDED


def version_id_of(headers: Mapping[str, str]) -> str:
    """A stored current version's id (``null`` when it has none)."""
    return names.stored_version_id(headers)


def is_delete_marker(content_type: str | None) -> bool:
    """Whether a stored object (its content type) is a delete marker."""
    return content_type == DELETE_MARKER_CONTENT_TYPE


def kept_headers(stored: Mapping[str, str]) -> dict[str, str]:
    """What an archive copy of a stored object keeps: its persisted headers and sysmeta, its ETag."""
    return names.archived_headers(stored)


def id_seconds(version_id: str) -> float | None:
    """A version id as epoch seconds (ids are timestamps); None for ``null`` or anything else."""
    if not names.valid_version_id(version_id, allow_null=False):
        return None
    return Timestamp(version_id).seconds
