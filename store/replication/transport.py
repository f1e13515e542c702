"""Node-to-node replication requests: small JSON calls and one chunked streaming upload."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from store.httpclient import HTTPClientError, request


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
        status, _, data = await request(host, port, method, path, {"Content-Type": "application/json"},
                                        body, timeout)
    except HTTPClientError as exc:
        raise PeerError(str(exc)) from exc
    if status != 200:
        raise PeerError(f"{method} {host}:{port}{path}: {status}", status)
    try:
        return json.loads(data)
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


async def stream_upload(host: str, port: int, path: str, body: AsyncIterator[bytes],
                        timeout: float) -> Any:
    """POST ``body`` with chunked transfer encoding on a fresh connection; the JSON answer.

    ``timeout`` bounds each write/read step, not the whole transfer.
    """
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError) as exc:
        raise PeerError(f"connect {host}:{port}: {exc!r}") from exc
    try:
        head = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nTransfer-Encoding: chunked\r\n"
                "Content-Type: application/octet-stream\r\nConnection: close\r\n\r\n")
        writer.write(head.encode("latin-1"))
        async for chunk in body:
            if chunk:
                writer.write(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                await asyncio.wait_for(writer.drain(), timeout)
        writer.write(b"0\r\n\r\n")
        await asyncio.wait_for(writer.drain(), timeout)
        raw = await asyncio.wait_for(reader.read(), timeout)
    except (OSError, TimeoutError, ConnectionError) as exc:
        raise PeerError(f"stream to {host}:{port}{path}: {exc!r}") from exc
    finally:
        writer.close()
    head_part, _, payload = raw.partition(b"\r\n\r\n")
    status_line = head_part.split(b"\r\n", 1)[0].split()
    if len(status_line) < 2 or status_line[1] != b"200":
        raise PeerError(f"stream to {host}:{port}{path}: {status_line!r} {payload[:200]!r}")
    if b"transfer-encoding: chunked" in head_part.lower():
        payload = _dechunk(payload)
    try:
        return json.loads(payload)
    except ValueError as exc:
        raise PeerError(f"stream to {host}:{port}{path}: bad answer") from exc


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2:]
    return bytes(out)
