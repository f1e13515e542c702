"""A streaming ``multipart/form-data`` reader: parts one after the other, bodies as async chunks.

Nothing is buffered beyond one network chunk plus a boundary's length: a part's body is read from
the request stream while the consumer iterates it (the rest of an unread part is skipped when the
next part is asked for).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.message import Message

MAX_HEADER_BYTES = 16 * 1024


class MultipartError(ValueError):
    """The body is not the multipart document its boundary announces."""


def header_params(value: str) -> tuple[str, dict[str, str]]:
    """``("form-data", {"name": ..., "filename": ...})`` from a Content-Disposition/Content-Type value."""
    msg = Message()
    msg["x"] = value
    params = msg.get_params(header="x") or []
    if not params:
        return "", {}
    main = params[0][0].strip().lower()
    out: dict[str, str] = {}
    for key, val in params[1:]:
        out[key.strip().lower()] = val if isinstance(val, str) else str(val[2])  # RFC 2231: (charset, lang, value)
    return main, out


class Part:
    """One part: its headers (lower-case names) and a body to iterate once."""

    def __init__(self, reader: MultipartReader, headers: dict[str, str]):
        self.reader = reader
        self.headers = headers

    @property
    def disposition(self) -> tuple[str, dict[str, str]]:
        return header_params(self.headers.get("content-disposition", ""))

    def body(self) -> AsyncIterator[bytes]:
        """The part's bytes, streamed."""
        return self.reader._body()

    async def read(self, limit: int) -> bytes:
        """The first ``limit`` bytes of the body (the rest is skipped)."""
        data = b""
        async for chunk in self.body():
            if len(data) < limit:
                data += chunk[:limit - len(data)]
        return data


class MultipartReader:
    """Reads the parts of a ``multipart/form-data`` stream separated by ``boundary``."""

    def __init__(self, stream: AsyncIterator[bytes], boundary: str):
        self.stream = stream.__aiter__()
        self.delimiter = b"\r\n--" + boundary.encode("utf-8")
        self.buffer = b""
        self.eof = False
        self.started = False
        self.finished = False
        self.in_body = False

    async def _fill(self) -> bool:
        """Append the next chunk of the stream; False at its end."""
        if self.eof:
            return False
        try:
            chunk = await self.stream.__anext__()
        except StopAsyncIteration:
            self.eof = True
            return False
        self.buffer += chunk
        return True

    async def _start(self) -> None:
        # blank lines may precede the first boundary line; nothing else may
        first = self.delimiter[2:]
        while True:
            while self.buffer.startswith(b"\r\n"):
                self.buffer = self.buffer[2:]
            if len(self.buffer) >= len(first) + 2 or not await self._fill():
                break
        line, sep, rest = self.buffer.partition(b"\r\n")
        if not sep or line.rstrip() != first:
            raise MultipartError("invalid starting boundary")
        self.buffer = rest
        self.started = True

    async def next_part(self) -> Part | None:
        """The next part (after skipping what is left of the current one), or None after the last."""
        if not self.started:
            await self._start()
        elif self.in_body:
            async for _ in self._body():
                pass
        if self.finished:
            return None
        while b"\r\n\r\n" not in self.buffer and not self.buffer.startswith(b"\r\n"):
            if len(self.buffer) > MAX_HEADER_BYTES:
                raise MultipartError("part headers too long")
            if not await self._fill():
                self.finished = True
                return None
        if self.buffer.startswith(b"\r\n"):
            raw, self.buffer = b"", self.buffer[2:]
        else:
            raw, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        headers: dict[str, str] = {}
        for line in raw.decode("utf-8", "replace").split("\r\n"):
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        self.in_body = True
        return Part(self, headers)

    async def _body(self) -> AsyncIterator[bytes]:
        keep = len(self.delimiter) + 4  # a delimiter and the "--\r\n" or "\r\n" after it
        while self.in_body:
            at = self.buffer.find(self.delimiter)
            if at >= 0:
                data, after = self.buffer[:at], self.buffer[at + len(self.delimiter):]
                while not after.startswith(b"--") and b"\r\n" not in after and await self._fill():
                    after = self.buffer[at + len(self.delimiter):]
                self.in_body = False
                if after.startswith(b"--"):
                    self.finished = True
                    self.buffer = b""
                else:
                    _, _, self.buffer = after.partition(b"\r\n")
                if data:
                    yield data
                return
            if len(self.buffer) > keep:
                data, self.buffer = self.buffer[:-keep], self.buffer[-keep:]
                yield data
            elif not await self._fill():
                data, self.buffer = self.buffer, b""
                self.in_body = False
                self.finished = True
                if data:
                    yield data
                return
