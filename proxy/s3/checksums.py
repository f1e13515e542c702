"""Body digests for uploads: md5 (ETag), sha256 (signed payloads) and ``x-amz-checksum-*`` values.

``VerifiedBody`` wraps an upload stream, hashes it as it passes and checks every expected value at
the end. It holds back the final chunk until the checks pass, so a bad body never reaches a storage
node in full: the node sees a short body and stores nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping
from typing import Protocol

from awscrt import checksums as crt

from proxy.s3.errors import S3Error


class Hasher(Protocol):
    def update(self, data: bytes) -> None: ...
    def digest(self) -> bytes: ...


class _Crc:
    """A running CRC of ``width`` bits (awscrt's functions take the previous value to continue)."""

    def __init__(self, fn: Callable[[bytes, int], int], width: int = 32):
        self.fn = fn
        self.width = width
        self.value = 0

    def update(self, data: bytes) -> None:
        self.value = self.fn(data, self.value)

    def digest(self) -> bytes:
        return (self.value & ((1 << self.width) - 1)).to_bytes(self.width // 8, "big")


# awscrt (the AWS common runtime botocore itself uses for CRC32C/CRC64NVME): hardware-accelerated
# CRCs and the CRC combine functions full-object multipart checksums need; zlib for plain CRC32.
ALGORITHMS: dict[str, Callable[[], Hasher]] = {
    "crc32": lambda: _Crc(zlib.crc32),
    "crc32c": lambda: _Crc(crt.crc32c),
    "crc64nvme": lambda: _Crc(crt.crc64nvme, 64),
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
}
CRCS: dict[str, Callable[[int, int, int], int]] = {  # algorithm → combine(crc_a, crc_b, len_b)
    "crc32": crt.combine_crc32,
    "crc32c": crt.combine_crc32c,
    "crc64nvme": crt.combine_crc64nvme,
}
SYSMETA = "X-Object-Sysmeta-S3-Checksum-"  # + algorithm name, value = base64


EMPTY_MD5 = hashlib.md5(b"", usedforsecurity=False).hexdigest()


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def unb64(value: str) -> bytes | None:
    """The raw digest of a base64 checksum value (None when it is not base64)."""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def combine_crcs(algorithm: str, parts: list[tuple[str, int]]) -> str:
    """The CRC of the concatenation of parts given as ``(base64 CRC, length)``: a full-object checksum."""
    combine = CRCS[algorithm]
    value = 0
    for index, (part, length) in enumerate(parts):
        crc = int.from_bytes(unb64(part) or b"", "big")
        value = crc if index == 0 else combine(value, crc, length)
    width = 8 if algorithm == "crc64nvme" else 4
    return b64(value.to_bytes(width, "big"))


def composite_checksum(algorithm: str, parts: list[str]) -> str:
    """``<base64 of the checksum of the concatenated raw part checksums>-<N>`` (AWS's COMPOSITE type)."""
    h = ALGORITHMS[algorithm]()
    for part in parts:
        h.update(unb64(part) or b"")
    return f"{b64(h.digest())}-{len(parts)}"


def checksum_of(algorithm: str, data: bytes) -> str:
    h = ALGORITHMS[algorithm]()
    h.update(data)
    return b64(h.digest())


_CHECKSUM_HEADERS = tuple((alg, f"x-amz-checksum-{alg}") for alg in ALGORITHMS)


def requested_checksums(headers: Mapping[str, str]) -> dict[str, str]:
    """``{algorithm: base64}`` from ``x-amz-checksum-<alg>`` request headers (unknown ones ignored)."""
    found = {}
    for alg, header in _CHECKSUM_HEADERS:
        value = headers.get(header)
        if value:
            found[alg] = value.strip()
    return found


DIGEST_SIZES = {"crc32": 4, "crc32c": 4, "crc64nvme": 8, "sha1": 20, "sha256": 32}


def validate_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """InvalidRequest, as AWS, for an unknown ``x-amz-sdk-checksum-algorithm``, more than one
    ``x-amz-checksum-<alg>`` header, or a value that is not the base64 of that algorithm's digest; else the
    ``requested_checksums``."""
    sdk = (headers.get("x-amz-sdk-checksum-algorithm") or "").strip().lower()
    if sdk and sdk not in ALGORITHMS:
        raise S3Error("InvalidRequest", "Value for x-amz-sdk-checksum-algorithm header is invalid.")
    given = requested_checksums(headers)
    if len(given) > 1:
        raise S3Error("InvalidRequest", "Expecting a single x-amz-checksum- header. Multiple checksum Types are "
                                        "not allowed.")
    for alg, value in given.items():
        raw = unb64(value)
        if raw is None or len(raw) != DIGEST_SIZES[alg]:
            raise S3Error("InvalidRequest", f"Value for x-amz-checksum-{alg} header is invalid.")
    return given


def sdk_algorithm(headers: Mapping[str, str]) -> str | None:
    """The algorithm named by ``x-amz-sdk-checksum-algorithm``/``x-amz-checksum-algorithm``, if known."""
    for name in ("x-amz-sdk-checksum-algorithm", "x-amz-checksum-algorithm"):
        value = (headers.get(name) or "").strip().lower()
        if value in ALGORITHMS:
            return value
    return None


class VerifiedBody:
    """Async iterator over an upload that verifies md5/sha256/checksums before releasing the last chunk.

    ``expected`` maps algorithm → base64 value (may be filled late, e.g. from a trailer, via
    ``expect_later``). ``error`` holds the S3Error that stopped the body, for the caller to report.
    """

    def __init__(self, source: AsyncIterable[bytes], *, sha256_hex: str | None = None,
                 md5_b64: str | None = None, expected: dict[str, str] | None = None,
                 compute: set[str] | None = None, expected_length: int | None = None,
                 late: Callable[[], dict[str, str]] | None = None, md5: bool = True):
        self.source = source
        self.sha256_hex = sha256_hex.lower() if sha256_hex else None
        self.md5_b64 = md5_b64
        self.expected = dict(expected or {})
        self.late = late
        self.expected_length = expected_length
        names = set(self.expected) | set(compute or ())
        self.hashers: dict[str, Hasher] = {n: ALGORITHMS[n]() for n in names if n in ALGORITHMS}
        # the body's MD5 (its ETag) is computed here unless the caller leaves it to the storage nodes,
        # which hash every body they store anyway (``md5=False``; no Content-MD5 to check here then)
        self.md5 = hashlib.md5(usedforsecurity=False) if md5 or md5_b64 is not None else None
        self.sha256 = hashlib.sha256() if self.sha256_hex else None
        self.length = 0
        self.error: S3Error | None = None
        self.checksums: dict[str, str] = {}  # verified/computed values, base64
        self.drained = False

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._iter()

    def _update(self, chunk: bytes) -> None:
        self.length += len(chunk)
        if self.expected_length is not None and self.length > self.expected_length:
            raise self._fail(S3Error("IncompleteBody", "The decoded body is longer than "
                                                       "x-amz-decoded-content-length"))
        if self.md5 is not None:
            self.md5.update(chunk)
        if self.sha256 is not None:
            self.sha256.update(chunk)
        for h in self.hashers.values():
            h.update(chunk)

    def _fail(self, err: S3Error) -> S3Error:
        self.error = err
        return err

    def _check(self) -> None:
        if self.expected_length is not None and self.length != self.expected_length:
            raise self._fail(S3Error("IncompleteBody"))
        if self.sha256 is not None and self.sha256.hexdigest() != self.sha256_hex:
            raise self._fail(S3Error("XAmzContentSHA256Mismatch",
                                     ClientComputedContentSHA256=self.sha256_hex or "",
                                     S3ComputedContentSHA256=self.sha256.hexdigest()))
        if self.md5 is not None and self.md5_b64 is not None and b64(self.md5.digest()) != self.md5_b64:
            raise self._fail(S3Error("BadDigest", "The Content-MD5 you specified did not match what we "
                                                  "received."))
        if self.late is not None:
            for alg, value in self.late().items():
                if alg in self.hashers:
                    self.expected[alg] = value
        for alg, h in self.hashers.items():
            value = b64(h.digest())
            want = self.expected.get(alg)
            if want is not None and want != value:
                raise self._fail(S3Error("BadDigest", f"The {alg.upper()} you specified did not match the "
                                                      "calculated checksum."))
            self.checksums[alg] = value

    async def _iter(self) -> AsyncIterator[bytes]:
        if self.drained:
            return
        held: bytes | None = None
        try:
            async for chunk in self.source:
                if not chunk:
                    continue
                self._update(chunk)
                if held is not None:
                    yield held
                held = chunk
        except S3Error as err:
            self.error = err
            raise
        self._check()
        if held is not None:
            yield held

    @property
    def etag(self) -> str | None:
        """The MD5 (hex) of the body that passed, if computed here (always for an empty body)."""
        if self.md5 is not None:
            return self.md5.hexdigest()
        return EMPTY_MD5 if self.length == 0 else None

    async def check_empty(self) -> None:
        """Drain (and verify) a body that is expected to be empty, for zero-length PUTs; iterating it
        afterwards yields nothing (the source, e.g. an aws-chunked decoder, is consumed)."""
        async for _ in self:
            pass
        self.drained = True
