"""Streaming bodies: client uploads with a size limit, backend downloads that always release."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Mapping

from starlette.requests import ClientDisconnect, Request
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from objclient.reader import ResumingBody
from objclient.response import BackendResponse
from proxy.http.relay import SPLICE_MIN, RelayedResponse


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

    _chunks: AsyncIterator[bytes]  # the request's stream, once iteration began

    def __aiter__(self) -> AsyncIterator[bytes]:
        # its own iterator, not an async generator around the stream: one less generator (and event-loop
        # bookkeeping of it) per upload
        self._chunks = self.request.stream().__aiter__()
        return self

    async def __anext__(self) -> bytes:
        while True:
            try:
                chunk = await self._chunks.__anext__()
            except ClientDisconnect:
                self.disconnected = True
                raise
            if chunk:
                break
        self.received += len(chunk)
        if self.received > self.limit:
            self.too_large = True
            raise ValueError("request body too large")
        return chunk


def stream_backend(resp: BackendResponse, start: int | None = None, end: int | None = None) -> AsyncIterator[bytes]:
    """A BackendResponse body (or its bytes ``[start, end)``), closed however iteration ends. A node's whole
    body is its own :class:`ResumingBody` (it closes itself, and :func:`streamed` can relay it)."""
    if start is None and end is None and isinstance(resp.body, ResumingBody):
        return resp.body
    return _closing_body(resp, start, end)


async def _closing_body(resp: BackendResponse, start: int | None, end: int | None) -> AsyncIterator[bytes]:
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


SHORT_BODY = 1 << 20  # bodies up to this size are answered without a disconnect watcher


class ShortBodyResponse(StreamingResponse):
    """A streamed answer sent without Starlette's task watching for the client's disconnect (an anyio
    task group per response: more work than a small body). For bodies of at most ``SHORT_BODY``
    bytes, where a client gone mid-answer costs at most that much reading."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.stream_response(send)
        if self.background is not None:
            await self.background()


def streamed(body: AsyncIterable[bytes], status_code: int, headers: Mapping[str, str],
             length: int | None) -> StreamingResponse:
    """The response streaming ``body`` (``length`` bytes, None when unknown): a node's whole body of at least
    ``SPLICE_MIN`` bytes is relayed in the kernel (``RelayedResponse``); short bodies skip the disconnect
    watcher (``ShortBodyResponse``), longer ones stop reading when the client goes."""
    if isinstance(body, ResumingBody) and length is not None and length >= SPLICE_MIN:
        return RelayedResponse(body, status_code, headers)
    cls = ShortBodyResponse if length is not None and 0 <= length <= SHORT_BODY else StreamingResponse
    return cls(body, status_code=status_code, headers=headers)
