"""Validation of a backup's ``_metadata`` object before a restore (or an incremental backup) trusts it.

The object lives in the project's own container, so any project member can rewrite it through Swift.
Nothing in it may make a restore write outside the volume, allocate without bound or decompress
without bound: chunks must be in order, non-overlapping, inside the volume, at most ``MAX_CHUNK_SIZE``
long, with a known compression and well-formed checksums.
"""

from __future__ import annotations

import re
from typing import Any

MAX_CHUNK_SIZE = 256 << 20  # one chunk, decompressed: bounds the memory a restore worker takes
MAX_OBJECT_NAME = 1024
COMPRESSIONS = frozenset({"zlib", "none"})
_HEX32 = re.compile(r"[0-9a-f]{32}")
_HEX64 = re.compile(r"[0-9a-f]{64}")


class BadBackupMetadata(ValueError):
    """The metadata object cannot be trusted for a restore."""


def _int(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadBackupMetadata(f"{what} is not an integer")
    return value


def validate(meta: Any, volume_size: int) -> list[dict[str, Any]]:
    """The chunk entries of ``meta`` after checking them against a volume of ``volume_size`` bytes;
    BadBackupMetadata names the first problem."""
    if not isinstance(meta, dict) or not isinstance(meta.get("chunks"), list):
        raise BadBackupMetadata("metadata is not an object with a chunk list")
    default_compression = meta.get("compression", "zlib")
    chunks = meta["chunks"]
    if len(chunks) > volume_size // 4096 + 1:
        raise BadBackupMetadata(f"{len(chunks)} chunks cannot fit in the volume")
    end = 0
    for index, c in enumerate(chunks):
        where = f"chunk {index}"
        if not isinstance(c, dict):
            raise BadBackupMetadata(f"{where} is not an object")
        offset, length = _int(c.get("offset"), f"{where} offset"), _int(c.get("length"), f"{where} length")
        if offset < end:
            raise BadBackupMetadata(f"{where} overlaps or precedes the one before it")
        if not 0 < length <= MAX_CHUNK_SIZE:
            raise BadBackupMetadata(f"{where} length {length} out of range")
        if offset + length > volume_size:
            raise BadBackupMetadata(f"{where} ends past the end of the volume")
        end = offset + length
        if not isinstance(c.get("sha256"), str) or not _HEX64.fullmatch(c["sha256"]):
            raise BadBackupMetadata(f"{where} has no valid sha256")
        name = c.get("object")
        if name is None:
            continue
        if not isinstance(name, str) or not 0 < len(name) <= MAX_OBJECT_NAME or "\x00" in name:
            raise BadBackupMetadata(f"{where} object name is invalid")
        if not isinstance(c.get("md5"), str) or not _HEX32.fullmatch(c["md5"]):
            raise BadBackupMetadata(f"{where} has no valid md5")
        if c.get("compression", default_compression) not in COMPRESSIONS:
            raise BadBackupMetadata(f"{where} compression is unknown")
    return chunks


def max_metadata_bytes(volume_size: int) -> int:
    """The largest metadata object read for a volume of ``volume_size`` bytes: ~300 bytes of JSON per
    entry, one entry per MiB at the smallest chunk size anyone configures, plus 1 MiB."""
    return (1 << 20) + volume_size // (1 << 20) * 300
