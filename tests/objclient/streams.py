"""Deterministic large bodies produced on the fly (never held whole in memory)."""

from __future__ import annotations

import hashlib
import os

PIECE = 1 << 20
_BLOCK = os.urandom(PIECE)


def piece(i: int, n: int = PIECE) -> bytes:
    """The i-th 1 MiB piece: a random block stamped with its index (so misplaced offsets show)."""
    return (i.to_bytes(8, "big") + _BLOCK[8:])[:n]


async def body(size: int, chunk: int = PIECE):
    """An async generator of ``size`` bytes in ``chunk``-sized pieces (chunk divides PIECE)."""
    sent = 0
    while sent < size:
        i, off = divmod(sent, PIECE)
        n = min(chunk, size - sent, PIECE - off)
        yield piece(i)[off : off + n]
        sent += n


def md5_of(size: int) -> str:
    h = hashlib.md5()
    for i in range(0, size, PIECE):
        h.update(piece(i // PIECE, min(PIECE, size - i)))
    return h.hexdigest()


def byte_range(size: int, start: int, end: int) -> bytes:
    """Bytes [start, end] of the body of ``size`` bytes (small ranges only)."""
    out = bytearray()
    for i in range(start // PIECE, end // PIECE + 1):
        out += piece(i, min(PIECE, size - i * PIECE))
    base = (start // PIECE) * PIECE
    return bytes(out[start - base : end - base + 1])
