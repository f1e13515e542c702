"""Node-to-node replication requests: small JSON calls and one streamed upload, over the node's pooled
HTTP/1.1 client (``objclient.loop_pool``)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from objclient.http import HttpError, Response
from objclient.loop_pool import loop_pool

# Replication answers are JSON read into memory: suffix hashes of a batch of partitions, record digests.
# Anything longer is not an answer this protocol produces.
MAX_JSON_ANSWER = 64 << 20


class PeerError(Exception):
    """A peer did not answer as expected (down, 507, timeout, bad reply); ``status`` when it answered."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status

    @property
    def unmounted(self) -> bool:
        """The peer's device is gone (507): its replicas belong on a handoff until it is back."""
        return self.status == 507


async def call_json(host: str, port: int, method: str, path: str, payload: Any,
                    timeout: float) -> Any:
    """Send JSON, return the decoded JSON answer; PeerError on anything but 200."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    try:
        reply = await loop_pool().call(host, port, method, path, {"Content-Type": "application/json"}, body,
                                       timeout=timeout, max_body=MAX_JSON_ANSWER)
    except HttpError as exc:
        raise PeerError(f"{method} {host}:{port}{path}: {exc}") from exc
    if reply.status != 200:
        raise PeerError(f"{method} {host}:{port}{path}: {reply.status}", reply.status)
    try:
        return json.loads(reply.body)
    except ValueError as exc:
        raise PeerError(f"{path}: bad JSON answer") from exc


class RateLimiter:
    """A token bucket shared by every push of one node (bytes per second; 0 = unlimited)."""

    def __init__(self, rate: float):
        self.rate = rate
        self._allowance = rate
        self._last = time.monotonic()

    async def take(self, n: int) -> None:
        if self.rate <= 0:
            return
        now = time.monotonic()
        self._allowance = min(self.rate, self._allowance + (now - self._last) * self.rate)
        self._last = now
        self._allowance -= n
        if self._allowance < 0:
            await asyncio.sleep(-self._allowance / self.rate)


async def stream_upload(host: str, port: int, path: str, body: AsyncIterator[bytes | bytearray],
                        timeout: float) -> Any:
    """POST ``body`` with chunked transfer encoding; the JSON answer (PeerError unless 200).

    The peer is asked for ``100 Continue`` first, so a peer that refuses at once (507: device
    unmounted) says so before any data is read. ``timeout`` bounds each step (connect and head, each
    write drain, the answer), not the whole transfer.
    """
    where = f"stream to {host}:{port}{path}"
    try:
        async with asyncio.timeout(timeout):
            started = await loop_pool().begin_upload(
                host, port, "POST", path, {"Content-Type": "application/octet-stream"}, None,
                expect=True, timeout=timeout)
    except TimeoutError:
        raise PeerError(f"{where}: no answer in {timeout}s") from None
    except HttpError as exc:
        raise PeerError(f"{where}: {exc}") from exc
    if isinstance(started, Response):
        started.close()
        raise PeerError(f"{where}: {started.status}", started.status)
    upload = started
    try:
        async for chunk in body:
            if chunk:
                upload.write(chunk)
                if upload.needs_drain:
                    await upload.drain(timeout)
        resp = await upload.finish(timeout)
        try:
            data = await resp.read(MAX_JSON_ANSWER)
        finally:
            resp.close()
    except HttpError as exc:
        upload.abort()
        raise PeerError(f"{where}: {exc}") from exc
    except BaseException:  # the body failed (disk error) or we were cancelled: never reuse the connection
        upload.abort()
        raise
    if resp.status != 200:
        raise PeerError(f"{where}: {resp.status} {data[:200]!r}", resp.status)
    try:
        return json.loads(data)
    except ValueError as exc:
        raise PeerError(f"{where}: bad answer") from exc
