"""Backup metadata validation and bounded decompression (pure functions; the end-to-end case with a
metadata object rewritten through Swift is tests/security/test_limits.py)."""

from __future__ import annotations

import hashlib
import zlib

import pytest

from volumes.backup import chunks
from volumes.backup.metadata import BadBackupMetadata, validate

GIB = 1 << 30
SHA = "a" * 64


def entry(offset: int, length: int, **fields) -> dict:
    return {"offset": offset, "length": length, "sha256": SHA, "object": "volume_x/y-00001", "md5": "b" * 32,
            "compression": "zlib", **fields}


def test_valid_metadata_passes():
    meta = {"chunks": [entry(0, 8 << 20), entry(8 << 20, 8 << 20, object=None, md5=None)]}
    assert validate(meta, GIB) == meta["chunks"]


@pytest.mark.parametrize("chunks_", [
    [entry(GIB - 4096, 8192)],  # past the end
    [entry(0, 8 << 20), entry(4 << 20, 8 << 20)],  # overlapping
    [entry(8 << 20, 4096), entry(0, 4096)],  # out of order
    [entry(-4096, 4096)],
    [entry(0, 0)],
    [entry(0, 1 << 40)],
    [entry(True, 4096)],
    [entry("0", 4096)],
    [entry(0, 4096, compression="lzma")],
    [entry(0, 4096, sha256="zz")],
    [entry(0, 4096, md5=None)],
    [entry(0, 4096, object="a\x00b")],
    [entry(0, 4096, object=7)],
    ["not an object"],
    [entry(i * 4096, 4096) for i in range(300)],  # more chunks than a 1 MiB volume holds
])
def test_bad_metadata_is_refused(chunks_):
    size = (1 << 20) if len(chunks_) == 300 else GIB
    with pytest.raises(BadBackupMetadata):
        validate({"chunks": chunks_}, size)


@pytest.mark.parametrize("meta", [None, [], {"chunks": None}, {"chunks": {}}, "x"])
def test_metadata_that_is_not_a_chunk_list(meta):
    with pytest.raises(BadBackupMetadata):
        validate(meta, GIB)


def test_decompression_stops_at_the_declared_length():
    bomb = zlib.compress(bytes(64 << 20))
    with pytest.raises(ValueError, match="past its length"):
        chunks.decompress(bomb, hashlib.md5(bomb).hexdigest(), SHA, "zlib", 1 << 20)


def test_decompress_checks_length_and_compression():
    data = b"backup" * 1000
    packed, compression = chunks.compress(data)
    md5 = hashlib.md5(packed).hexdigest()
    assert chunks.decompress(packed, md5, chunks.sha256(data), compression, len(data)) == data
    with pytest.raises(ValueError):
        chunks.decompress(packed, md5, chunks.sha256(data), compression, len(data) + 1)
    with pytest.raises(ValueError):
        chunks.decompress(packed, md5, chunks.sha256(data), "bzip2", len(data))
    truncated = packed[: len(packed) // 2]
    with pytest.raises(ValueError):
        chunks.decompress(truncated, hashlib.md5(truncated).hexdigest(), chunks.sha256(data), "zlib", len(data))
