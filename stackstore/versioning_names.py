"""Names in the reserved namespace: versions containers, version objects and version ids.

The reserved namespace starts with NUL, which no client can name: the Swift and S3 routers refuse a
NUL in a path, only the storage nodes accept it (from signed internal requests).
"""

from __future__ import annotations

from stackstore.timestamp import Timestamp

RESERVED = "\x00"
NULL_VERSION = "null"
_INVERT_BASE = Timestamp("9999999999.99999").ticks


RESERVED_END = RESERVED + "\U0010ffff"  # past every reserved name, before every client's name


def past_reserved(marker: str | None) -> str:
    """A listing bound that skips the reserved namespace (``marker`` when it is already past it)."""
    return marker if marker and marker > RESERVED_END else RESERVED_END


def versions_container(container: str) -> str:
    """The hidden container holding ``container``'s older versions and delete markers."""
    return f"{RESERVED}versions{RESERVED}{container}"


def is_reserved(name: str) -> bool:
    """Whether ``name`` (a container or object) is in the reserved namespace (hidden from clients)."""
    return name.startswith(RESERVED)


def invert(version_id: str) -> str:
    """The inverted form of a version id: newer ids sort first (as Swift's ``~Timestamp``)."""
    ticks = _INVERT_BASE - Timestamp(version_id).ticks
    return f"{ticks // 100000:010d}.{ticks % 100000:05d}"


def version_object(obj: str, version_id: str) -> str:
    """The name of ``obj``'s version ``version_id`` in the versions container."""
    return f"{RESERVED}{obj}{RESERVED}{invert(version_id)}"


def version_object_prefix(obj: str) -> str:
    """The versions-container name prefix of every version of exactly ``obj``."""
    return f"{RESERVED}{obj}{RESERVED}"


def object_prefix(obj_prefix: str) -> str:
    """The versions-container name prefix of every version of names starting with ``obj_prefix``."""
    return RESERVED + obj_prefix


def after_all_versions(obj: str) -> str:
    """A listing marker just past every version of ``obj`` (NUL sorts before any name character)."""
    return f"{RESERVED}{obj}\x01"


def parse_version_object(name: str) -> tuple[str, str] | None:
    """(object name, version id) of a versions-container name, None for anything else."""
    parts = name.split(RESERVED)
    if len(parts) != 3 or parts[0]:
        return None
    try:
        return parts[1], invert(parts[2])
    except ValueError:
        return None


def valid_version_id(value: str, *, allow_null: bool = True) -> bool:
    """Whether ``value`` is a version id (a normal timestamp), or ``null`` when allowed."""
    if value == NULL_VERSION:
        return allow_null
    if len(value) != 16 or value[10] != ".":
        return False
    try:
        return Timestamp(value).normal == value
    except ValueError:
        return False


def new_version_id() -> str:
    """A fresh version id: the write's timestamp (10 µs resolution, time-ordered)."""
    return Timestamp.now().normal


def logical_path(container: str, obj: str) -> tuple[str, str]:
    """(container, object) a stored object belongs to: a version in a versions container belongs to its
    name in the versioned container; any other object to itself."""
    prefix = versions_container("")
    if container.startswith(prefix):
        parsed = parse_version_object(obj)
        if parsed is not None:
            return container[len(prefix):], parsed[0]
    return container, obj
