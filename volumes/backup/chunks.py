"""Chunking, compression and checksums of backup data (pure functions)."""

from __future__ import annotations

import functools
import hashlib
import zlib
from collections.abc import Iterator
from typing import BinaryIO


def read_chunks(fh: BinaryIO, size: int, chunk_size: int) -> Iterator[tuple[int, bytes]]:
    """(offset, data) for every ``chunk_size`` piece of the first ``size`` bytes."""
    offset = 0
    while offset < size:
        data = fh.read(min(chunk_size, size - offset))
        if not data:
            break
        yield offset, data
        offset += len(data)


def is_zero(data: bytes) -> bool:
    return data == bytes(len(data))  # memcmp against calloc zeros: ~15x faster than strip() on zeros


@functools.lru_cache(maxsize=8)
def zero_sha256(length: int) -> str:
    return sha256(bytes(length))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def compress(data: bytes) -> tuple[bytes, str, str]:
    """(stored bytes, their md5 — the object's ETag, verified by the object store — and the
    compression used): zlib, or ``none`` when zlib would not make the chunk smaller."""
    packed = zlib.compress(data, 1)
    if len(packed) >= len(data):
        packed, compression = data, "none"
    else:
        compression = "zlib"
    return packed, hashlib.md5(packed).hexdigest(), compression


def decompress(packed: bytes, md5: str, digest: str, compression: str = "zlib") -> bytes:
    """Inverse of :func:`compress`, verifying both checksums; ValueError on any mismatch."""
    if hashlib.md5(packed).hexdigest() != md5:
        raise ValueError("backup chunk md5 mismatch")
    data = zlib.decompress(packed) if compression == "zlib" else packed
    if sha256(data) != digest:
        raise ValueError("backup chunk sha256 mismatch")
    return data
