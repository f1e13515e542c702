"""Names in the reserved namespace: versions containers, version objects and version ids.

The reserved namespace starts with NUL, which no client can name: the Swift and S3 routers refuse a
NUL in a path, only the storage nodes accept it (from signed internal requests).
"""

from __future__ import annotations

from collections.abc import Mapping

from stackstore.timestamp import Timestamp
from stackstore.wire import VERSION_ID_SYSMETA

RESERVED = "\x00"
NULL_VERSION = "null"
_INVERT_BASE = Timestamp("9999999999.99999").ticks


# What an archived copy of a stored object keeps (never X-Timestamp, X-Delete-At or backend headers)
ARCHIVED_HEADERS = frozenset(("content-type", "content-encoding", "content-disposition", "content-language",
                              "cache-control", "expires", "x-object-manifest", "x-static-large-object"))
ARCHIVED_PREFIXES = ("x-object-meta-", "x-object-sysmeta-", "x-object-transient-sysmeta-")


def archived_headers(stored: Mapping[str, str]) -> dict[str, str]:
    """What a copy of a stored object keeps as a version: its persisted headers, sysmeta included, and its
    ETag (the nodes check the copied body against it); never its X-Timestamp or X-Delete-At."""
    out = {name: value for name, value in stored.items()
           if name.lower() in ARCHIVED_HEADERS or name.lower().startswith(ARCHIVED_PREFIXES)}
    etag = next((value for name, value in stored.items() if name.lower() == "etag"), None)
    if etag:
        out["Etag"] = etag.strip('"')
    return out


def stored_version_id(headers: Mapping[str, str]) -> str:
    """A stored current object's version id (``null`` when it has none)."""
    for name, value in headers.items():
        if name.lower() == VERSION_ID_SYSMETA:
            return value or NULL_VERSION
    return NULL_VERSION


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
