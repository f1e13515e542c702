"""Opening a client upload: plain, sha256-signed, aws-chunked; checksums verified while streaming."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

from starlette.requests import ClientDisconnect

from proxy.s3 import checksums
from proxy.s3.chunked import AwsChunkedDecoder
from proxy.s3.context import S3Request
from proxy.s3.errors import S3Error
from stackstore.numbers import parse_int

MAX_PUT_SIZE = 5 * 1024**3
HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


@dataclass
class Upload:
    body: checksums.VerifiedBody
    length: int | None  # decoded length when known (None: chunked of unknown size)
    header_checksums: dict[str, str]  # x-amz-checksum-* given as headers (known before the body)


async def _client_stream(req: S3Request) -> AsyncIterator[bytes]:
    try:
        async for chunk in req.request.stream():
            if chunk:
                yield chunk
    except ClientDisconnect:
        raise S3Error("IncompleteBody") from None


def _int_header(value: str | None, what: str) -> int | None:
    if value is None:
        return None
    try:
        n = parse_int(value)
    except ValueError:
        raise S3Error("InvalidArgument", f"{what} must be an integer") from None
    if n < 0:
        raise S3Error("InvalidArgument", f"{what} must not be negative")
    return n


def content_md5(value: str | None) -> str | None:
    """The Content-MD5 header (base64 of 16 bytes); InvalidDigest when malformed."""
    if value is None:
        return None
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise S3Error("InvalidDigest") from None
    if len(raw) != 16:
        raise S3Error("InvalidDigest")
    return value.strip()


def open_upload(req: S3Request, max_size: int = MAX_PUT_SIZE) -> Upload:
    """Wrap the request body: aws-chunked decoding, length checks, sha256/MD5/checksum verification."""
    h = req.headers
    mode = h.get("x-amz-content-sha256") or (req.auth.payload_hash if req.auth else "UNSIGNED-PAYLOAD")
    encoding = (h.get("content-encoding") or "").lower()
    decoded_length = _int_header(h.get("x-amz-decoded-content-length"), "x-amz-decoded-content-length")
    content_length = _int_header(h.get("content-length"), "Content-Length")
    chunked_te = "chunked" in (h.get("transfer-encoding") or "").lower()
    aws_chunked = mode.startswith("STREAMING-") or "aws-chunked" in encoding or decoded_length is not None
    if content_length is None and not chunked_te:
        raise S3Error("MissingContentLength")
    source: AsyncIterator[bytes] = _client_stream(req)
    late = None
    if aws_chunked:
        auth = req.auth
        decoder = AwsChunkedDecoder(source, mode, auth.signing_key if auth else b"",
                                    auth.amz_date if auth else "", auth.scope if auth else "",
                                    auth.seed_signature if auth else "")
        if decoder.signed and (auth is None or auth.version != 4 or auth.presigned):
            raise S3Error("InvalidRequest", "streaming signed payloads need SigV4 header authentication")
        source, late, length = decoder, decoder.trailer_checksums, decoded_length
    else:
        length = content_length
    if length is not None and length > max_size:
        raise S3Error("EntityTooLarge", MaxSizeAllowed=str(max_size), ProposedSize=str(length))
    header_sums = checksums.requested_checksums(h)
    compute = set()
    alg = checksums.sdk_algorithm(h)
    if alg:
        compute.add(alg)
    for name in (h.get("x-amz-trailer") or "").split(","):
        name = name.strip().lower()
        if name.startswith("x-amz-checksum-") and name[len("x-amz-checksum-"):] in checksums.ALGORITHMS:
            compute.add(name[len("x-amz-checksum-"):])
    body = checksums.VerifiedBody(
        source,
        sha256_hex=mode if HEX64.match(mode) and not aws_chunked else None,
        md5_b64=content_md5(h.get("content-md5")),
        expected=header_sums,
        compute=compute,
        expected_length=length if aws_chunked else None,
        late=late,
    )
    return Upload(body, length, header_sums)


def checksum_sysmeta(values: dict[str, str]) -> dict[str, str]:
    return {checksums.SYSMETA + alg.title(): v for alg, v in values.items()}


def checksum_response_headers(body: checksums.VerifiedBody, header_sums: dict[str, str]) -> dict[str, str]:
    """Echo the verified checksums (``x-amz-checksum-<alg>``) on PutObject/UploadPart answers."""
    out = {f"x-amz-checksum-{alg}": v for alg, v in body.checksums.items()}
    for alg, v in header_sums.items():
        out.setdefault(f"x-amz-checksum-{alg}", v)
    return out
