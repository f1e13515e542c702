"""The replication stream: many files in one request body.

Each frame is ``<u32 header length><header JSON><file bytes>``; the header is
``{"hash": ..., "file": "<ts>.<ext>", "size": n}``. A zero header length ends the stream, so a
truncated body (sender gone) is detected and the partial file is discarded.
"""

from __future__ import annotations

import json
import struct
from collections.abc import AsyncIterator
from typing import Any

HEAD = struct.Struct(">I")
END = HEAD.pack(0)
MAX_HEADER = 64 * 1024


def frame_header(header: dict[str, Any]) -> bytes:
    blob = json.dumps(header, separators=(",", ":")).encode()
    return HEAD.pack(len(blob)) + blob


class StreamTruncated(Exception):
    """The body ended before the end-of-stream marker."""


class FrameReader:
    """Reads frames from an async iterator of body chunks."""

    def __init__(self, chunks: AsyncIterator[bytes]):
        self._chunks = chunks
        self._buf = bytearray()

    async def _fill(self, n: int) -> None:
        while len(self._buf) < n:
            try:
                chunk = await anext(self._chunks)
            except StopAsyncIteration:
                raise StreamTruncated(f"needed {n} bytes, have {len(self._buf)}") from None
            self._buf += chunk

    async def read_exactly(self, n: int) -> bytes:
        await self._fill(n)
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    async def next_header(self) -> dict[str, Any] | None:
        """The next frame's header, or None at the end of the stream."""
        (length,) = HEAD.unpack(await self.read_exactly(HEAD.size))
        if length == 0:
            return None
        if length > MAX_HEADER:
            raise ValueError("frame header too long")
        header = json.loads(await self.read_exactly(length))
        if not isinstance(header, dict):
            raise ValueError("bad frame header")
        return header

    async def body(self, size: int, chunk_size: int = 1 << 20) -> AsyncIterator[bytes]:
        """The current frame's ``size`` file bytes, in chunks."""
        left = size
        while left:
            if not self._buf:
                await self._fill(1)
            take = min(left, len(self._buf), chunk_size)
            out = bytes(self._buf[:take])
            del self._buf[:take]
            left -= take
            yield out
