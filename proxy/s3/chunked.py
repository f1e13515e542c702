"""aws-chunked upload bodies, decoded while streaming (the framing is never stored).

Handles ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD`` (each chunk signature verified, chained from the seed
signature; no trailers allowed), ``STREAMING-UNSIGNED-PAYLOAD-TRAILER`` and the signed ``-TRAILER``
variant (its ``x-amz-trailer-signature`` required and verified). Trailer headers
(``x-amz-checksum-*``) are collected in ``trailers`` for the checksum check at the end.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterable, AsyncIterator

from proxy.s3 import auth_v4
from proxy.s3.errors import S3Error

MAX_LINE = 4096
MAX_TRAILER_BYTES = 16384
HEX_DIGITS = b"0123456789abcdefABCDEF"


class _Reader:
    """Byte buffer over an async iterator of chunks."""

    def __init__(self, source: AsyncIterable[bytes]):
        self.it = source.__aiter__()
        self.buf = bytearray()
        self.eof = False

    async def _fill(self) -> bool:
        if self.eof:
            return False
        try:
            chunk = await self.it.__anext__()
        except StopAsyncIteration:
            self.eof = True
            return False
        self.buf += chunk
        return True

    async def readline(self) -> bytes:
        """One CRLF-terminated line without its terminator."""
        while True:
            idx = self.buf.find(b"\n")
            if idx >= 0:
                line = bytes(self.buf[:idx])
                del self.buf[: idx + 1]
                return line[:-1] if line.endswith(b"\r") else line
            if len(self.buf) > MAX_LINE:
                raise S3Error("InvalidRequest", "aws-chunked line too long")
            if not await self._fill():
                raise S3Error("IncompleteBody")

    async def pieces(self, n: int) -> AsyncIterator[bytes]:
        """Exactly ``n`` bytes, as they arrive."""
        while n > 0:
            if not self.buf and not await self._fill():
                raise S3Error("IncompleteBody")
            take = bytes(self.buf[:n])
            del self.buf[: len(take)]
            n -= len(take)
            yield take


class AwsChunkedDecoder:
    """Iterate the decoded payload of an aws-chunked body; ``trailers`` is filled at the end."""

    def __init__(self, source: AsyncIterable[bytes], payload_mode: str, signing_key: bytes = b"",
                 amz_date: str = "", scope: str = "", seed_signature: str = ""):
        self.reader = _Reader(source)
        self.signed = payload_mode in (auth_v4.STREAMING_SIGNED, auth_v4.STREAMING_SIGNED_TRAILER)
        self.trailer_allowed = payload_mode != auth_v4.STREAMING_SIGNED  # a signed body without trailer
        self.trailer_signed = payload_mode == auth_v4.STREAMING_SIGNED_TRAILER
        self.key = signing_key
        self.amz_date = amz_date
        self.scope = scope
        self.previous = seed_signature
        self.trailers: dict[str, str] = {}
        self.decoded = 0

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._iter()

    def _header(self, line: bytes) -> tuple[int, str | None]:
        size_text, _, ext = line.partition(b";")
        size_text = size_text.strip()
        if not size_text or len(size_text) > 16 or size_text.strip(HEX_DIGITS):
            raise S3Error("InvalidRequest", "malformed aws-chunked chunk header")
        size = int(size_text, 16)
        signature = None
        for item in ext.split(b";"):
            name, _, value = item.partition(b"=")
            if name.strip() == b"chunk-signature":
                signature = value.strip().decode("latin-1").lower()
        if self.signed and not signature:
            raise S3Error("SignatureDoesNotMatch", "chunk signature missing")
        return size, signature

    def _verify_chunk(self, signature: str | None, digest: str) -> None:
        if not self.signed:
            return
        sts = auth_v4.chunk_string_to_sign(self.amz_date, self.scope, self.previous, digest)
        expected = auth_v4.sign(self.key, sts)
        if not hmac.compare_digest(expected, signature or ""):
            raise S3Error("SignatureDoesNotMatch", "The chunk signature does not match", StringToSign=sts)
        self.previous = expected

    async def _iter(self) -> AsyncIterator[bytes]:
        while True:
            size, signature = self._header(await self.reader.readline())
            sha = hashlib.sha256() if self.signed else None
            async for piece in self.reader.pieces(size):
                if sha is not None:
                    sha.update(piece)
                self.decoded += len(piece)
                yield piece
            if size == 0:
                self._verify_chunk(signature, auth_v4.EMPTY_SHA256)
                await self._read_trailers()
                await self._expect_end()
                return
            if await self.reader.readline() != b"":
                raise S3Error("InvalidRequest", "malformed aws-chunked framing")
            self._verify_chunk(signature, sha.hexdigest() if sha is not None else "")

    async def _read_trailers(self) -> None:
        raw = bytearray()
        trailer_sig = None
        while True:
            try:
                line = await self.reader.readline()
            except S3Error:
                if self.reader.eof and not self.reader.buf:
                    break  # no final CRLF: tolerated
                raise
            if not line:
                break
            name, sep, value = line.partition(b":")
            if not sep:
                raise S3Error("InvalidRequest", "malformed aws-chunked trailer")
            lname = name.strip().decode("latin-1").lower()
            if lname == "x-amz-trailer-signature":
                trailer_sig = value.strip().decode("latin-1").lower()
                continue
            raw += name.strip() + b":" + value.strip() + b"\n"
            if len(raw) > MAX_TRAILER_BYTES:
                raise S3Error("InvalidRequest", "aws-chunked trailer too large")
            self.trailers[lname] = value.strip().decode("latin-1")
        if raw and not self.trailer_allowed:
            raise S3Error("InvalidRequest", "trailing headers need a STREAMING-*-TRAILER x-amz-content-sha256")
        if self.trailer_signed:
            if trailer_sig is None:
                raise S3Error("SignatureDoesNotMatch", "The trailer signature (x-amz-trailer-signature) is "
                                                       "missing")
            sts = auth_v4.trailer_string_to_sign(self.amz_date, self.scope, self.previous, bytes(raw))
            if not hmac.compare_digest(auth_v4.sign(self.key, sts), trailer_sig):
                raise S3Error("SignatureDoesNotMatch", "The trailer signature does not match",
                              StringToSign=sts)

    async def _expect_end(self) -> None:
        """Nothing but line ends may follow the final chunk and its trailers (nothing unsigned is ignored)."""
        while True:
            if self.reader.buf.strip(b"\r\n"):
                raise S3Error("InvalidRequest", "data after the final aws-chunked chunk")
            self.reader.buf.clear()
            if not await self.reader._fill():
                return

    def trailer_checksums(self) -> dict[str, str]:
        return {k[len("x-amz-checksum-"):]: v for k, v in self.trailers.items() if k.startswith("x-amz-checksum-")}
