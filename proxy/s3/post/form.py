"""A streaming multipart/form-data reader: the fields before the ``file`` part, then the file's bytes.

Only the file is streamed; other fields are bounded (``MAX_FIELD``), as is the part-header block. Fields
after the file are ignored, as AWS does.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator

from proxy.s3.errors import S3Error

MAX_FIELD = 64 * 1024
MAX_HEADERS = 8 * 1024
MAX_FIELDS = 100
_PARAM = re.compile(r';\s*([a-zA-Z*]+)="((?:[^"\\]|\\.)*)"|;\s*([a-zA-Z*]+)=([^;\s]+)')


def malformed(message: str = "The body of your POST request is not well-formed multipart/form-data.") -> S3Error:
    return S3Error("MalformedPOSTRequest", message, status=400)


def boundary_of(content_type: str) -> bytes:
    """The boundary of a ``multipart/form-data`` Content-Type; MalformedPOSTRequest otherwise."""
    kind, _, params = content_type.partition(";")
    if kind.strip().lower() != "multipart/form-data":
        raise malformed()
    for m in _PARAM.finditer(";" + params):
        name, value = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        if name.lower() == "boundary" and value and len(value) <= 200:
            return value.encode("latin-1")
    raise malformed()


def _disposition(headers: dict[str, str]) -> tuple[str, str | None]:
    value = headers.get("content-disposition", "")
    if not value.lower().startswith("form-data"):
        raise malformed()
    params: dict[str, str] = {}
    for m in _PARAM.finditer(value[len("form-data"):]):
        if m.group(1):
            params[m.group(1).lower()] = m.group(2).replace('\\"', '"')
        else:
            params[m.group(3).lower()] = m.group(4)
    if "name" not in params:
        raise malformed()
    return params["name"], params.get("filename")


class FormReader:
    """Reads one multipart/form-data body from an async byte stream."""

    def __init__(self, stream: AsyncIterable[bytes], boundary: bytes):
        self._stream = stream.__aiter__()
        self._buf = bytearray()
        self._eof = False
        self._dash = b"--" + boundary
        self._delim = b"\r\n--" + boundary

    async def _fill(self) -> bool:
        if self._eof:
            return False
        try:
            chunk = await self._stream.__anext__()
        except StopAsyncIteration:
            self._eof = True
            return False
        self._buf += chunk
        return True

    async def _until(self, marker: bytes, limit: int) -> bytes:
        """Bytes before ``marker`` (consumed with it); MalformedPOSTRequest past ``limit`` or at EOF."""
        while (idx := self._buf.find(marker)) < 0:
            if len(self._buf) > limit + len(marker) or not await self._fill():
                raise malformed()
        data = bytes(self._buf[:idx])
        del self._buf[:idx + len(marker)]
        return data

    async def _after_delimiter(self) -> bool:
        """After a boundary: True when another part follows, False at the closing ``--``."""
        while len(self._buf) < 2:
            if not await self._fill():
                raise malformed()
        if self._buf[:2] == b"--":
            return False
        await self._until(b"\r\n", 1024)  # transport padding, then CRLF
        return True

    async def fields(self) -> tuple[dict[str, str], str | None, str | None]:
        """``(fields, file name, file content type)``; the reader then stands at the file's first byte.

        Field names are kept as sent (the policy matches them case-insensitively)."""
        await self._until(self._dash, MAX_FIELD)
        fields: dict[str, str] = {}
        while await self._after_delimiter():
            raw = (await self._until(b"\r\n\r\n", MAX_HEADERS)).decode("utf-8", "replace")
            headers = {}
            for line in raw.split("\r\n"):
                name, sep, value = line.partition(":")
                if sep:
                    headers[name.strip().lower()] = value.strip()
            name, filename = _disposition(headers)
            if name.lower() == "file":
                return fields, filename, headers.get("content-type")
            if len(fields) >= MAX_FIELDS:
                raise malformed()
            fields[name] = (await self._until(self._delim, MAX_FIELD)).decode("utf-8", "replace")
        raise S3Error("InvalidArgument", "POST requires exactly one file upload per request.",
                      ArgumentName="file", ArgumentValue="0")

    async def file(self) -> AsyncIterator[bytes]:
        """The file part's bytes, streamed (everything up to the next boundary)."""
        keep = len(self._delim)
        while True:
            idx = self._buf.find(self._delim)
            if idx >= 0:
                if idx:
                    yield bytes(self._buf[:idx])
                del self._buf[:]
                return
            if len(self._buf) > keep:
                out = bytes(self._buf[:-keep])
                del self._buf[:-keep]
                yield out
            if not await self._fill():
                raise S3Error("IncompleteBody")
