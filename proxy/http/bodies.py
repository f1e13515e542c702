"""Streaming bodies: client uploads with a size limit, backend downloads that always release."""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import ClientDisconnect, Request

from objclient.response import BackendResponse


class UploadBody:
    """``request.stream()`` as an async iterator that records why it stopped early.

    ``too_large`` when more than ``limit`` bytes arrive (chunked uploads); ``disconnected`` when the
    client went away. Either raises inside the consumer (the storage client), which then fails.
    """

    def __init__(self, request: Request, limit: int):
        self.request = request
        self.limit = limit
        self.received = 0
        self.too_large = False
        self.disconnected = False

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._iter()

    async def _iter(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.request.stream():
                if not chunk:
                    continue
                self.received += len(chunk)
                if self.received > self.limit:
                    self.too_large = True
                    raise ValueError("request body too large")
                yield chunk
        except ClientDisconnect:
            self.disconnected = True
            raise


async def stream_backend(resp: BackendResponse, start: int | None = None,
                         end: int | None = None) -> AsyncIterator[bytes]:
    """Yield a BackendResponse body (or its bytes ``[start, end)``) and close it however iteration ends."""
    try:
        body = resp.body if start is None or end is None else slice_body(resp.body, start, end)
        async for chunk in body:
            yield chunk
    finally:
        await resp.close()


async def empty_body() -> AsyncIterator[bytes]:
    if False:  # pragma: no cover - makes this an async generator
        yield b""


async def slice_body(body: AsyncIterator[bytes], start: int, end: int) -> AsyncIterator[bytes]:
    """Bytes ``[start, end)`` of a stream that begins at offset 0 (for nodes that ignored a Range)."""
    pos = 0
    async for chunk in body:
        lo, hi = max(start - pos, 0), min(end - pos, len(chunk))
        pos += len(chunk)
        if lo < hi:
            yield chunk[lo:hi]
        if pos >= end:
            break
