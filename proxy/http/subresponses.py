"""Reading and releasing the answers of sub-requests a feature sent through the pipeline."""

from __future__ import annotations

from starlette.responses import Response, StreamingResponse


async def read_body(resp: Response, limit: int) -> bytes | None:
    """The body of ``resp`` (at most ``limit`` bytes; None when it is longer). Always releases it."""
    if not isinstance(resp, StreamingResponse):
        body = bytes(resp.body)
        return body if len(body) <= limit else None
    parts: list[bytes] = []
    size = 0
    try:
        async for chunk in resp.body_iterator:
            data = chunk.encode() if isinstance(chunk, str) else bytes(chunk)
            size += len(data)
            if size > limit:
                return None
            parts.append(data)
    finally:
        await discard(resp)
    return b"".join(parts)


async def discard(resp: Response) -> None:
    """Release an answer that will not be sent (closes a streaming body's backend connection)."""
    if isinstance(resp, StreamingResponse):
        close = getattr(resp.body_iterator, "aclose", None)
        if close is not None:
            await close()
