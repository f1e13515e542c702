"""Path hashing: the 16-byte xxh3_128 digest that names objects and picks their partition."""

from __future__ import annotations

import xxhash


def hash_path(suffix: str, account: str, container: str | None = None, obj: str | None = None) -> bytes:
    """xxh3_128 digest of ``"/account[/container[/obj]]"`` followed by the cluster's secret suffix."""
    if obj is not None and container is None:
        raise ValueError("an object path needs a container")
    path = "/" + account
    if container is not None:
        path += "/" + container
        if obj is not None:
            path += "/" + obj
    return xxhash.xxh3_128_digest((path + suffix).encode("utf-8"))


def partition_of(digest: bytes, part_power: int) -> int:
    """The partition of a path digest: the top ``part_power`` bits of its first 8 bytes (big-endian)."""
    return int.from_bytes(digest[:8], "big") >> (64 - part_power)
