"""Opening a client upload: plain, sha256-signed, aws-chunked; checksums verified while streaming."""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

from starlette.requests import ClientDisconnect

from objclient.response import BackendResponse
from proxy.s3 import auth_v4, checksums
from proxy.s3.chunked import AwsChunkedDecoder
from proxy.s3.context import S3Request
from proxy.s3.errors import S3Error
from stackstore.numbers import parse_uint

MAX_PUT_SIZE = 5 * 1024**3


@dataclass
class Upload:
    body: checksums.VerifiedBody
    length: int | None  # decoded length when known (None: chunked of unknown size)
    header_checksums: dict[str, str]  # x-amz-checksum-* given as headers (known before the body)
    # headers for the storage PUT: ``Etag`` (the Content-MD5 as hex) when the nodes check the MD5
    storage_headers: dict[str, str]


async def _client_stream(req: S3Request) -> AsyncIterator[bytes]:
    try:
        async for chunk in req.request.stream():
            if chunk:
                yield chunk
    except ClientDisconnect:
        raise S3Error("IncompleteBody") from None


def _int_header(value: str | None, what: str) -> int | None:
    """A non-negative decimal header (ASCII digits only); InvalidArgument otherwise."""
    if value is None:
        return None
    number = parse_uint(value)
    if number is None:
        raise S3Error("InvalidArgument", f"{what} must be a non-negative integer")
    return number


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


def payload_mode(req: S3Request) -> str:
    """How the body was signed: the ``x-amz-content-sha256`` value the signature covers, nothing else.

    Unsigned headers (``x-amz-decoded-content-length``, ``Content-Encoding``) never change how the body
    is read or checked.
    """
    return req.auth.payload_hash if req.auth else auth_v4.UNSIGNED_PAYLOAD


def chunked_framing(req: S3Request, mode: str) -> bool:
    """Whether the body is aws-chunked: always for a ``STREAMING-*`` mode.

    ``UNSIGNED-PAYLOAD`` with ``Content-Encoding: aws-chunked`` or ``x-amz-decoded-content-length`` is
    decoded too (some SDKs send that; nothing is signed there for an unsigned header to switch off).
    A hex sha256 binds the body as received: it is read as it came and checked against that hash, and an
    ``aws-chunked`` next to it is only a label (dropped from the stored Content-Encoding, as S3 does):
    an unsigned header never decides how a signed body is read.
    """
    if mode in auth_v4.STREAMING_MODES:
        return True
    if mode != auth_v4.UNSIGNED_PAYLOAD:
        return False
    h = req.headers
    return "aws-chunked" in (h.get("content-encoding") or "").lower() \
        or h.get("x-amz-decoded-content-length") is not None


def open_upload(req: S3Request, max_size: int = MAX_PUT_SIZE, always: str | None = None,
                md5_at_nodes: bool = False) -> Upload:
    """Wrap the request body: aws-chunked decoding, length checks, sha256/MD5/checksum verification.

    The signed payload mode decides everything: a hex sha256 is verified against the raw body as it
    streams and never combines with aws-chunked framing; ``STREAMING-*`` modes are decoded (chunk and
    trailer signatures checked for the signed variants); see ``chunked_framing``. ``always`` names an
    algorithm whose checksum is computed even when the client sends none (a multipart upload's).

    ``md5_at_nodes`` (a body stored as it is decoded: PutObject, UploadPart): the proxy does not hash
    the body with MD5 at all. The storage layer that hashes every body it stores (each node, or the
    encryption layer for the plaintext) answers the ETag (``written_etag``) and checks a Content-MD5,
    sent as ``Etag`` in ``storage_headers`` (422 before anything is committed: ``BadDigest``).
    """
    h = req.headers
    mode = payload_mode(req)
    decoded_length = _int_header(h.get("x-amz-decoded-content-length"), "x-amz-decoded-content-length")
    content_length = _int_header(h.get("content-length"), "Content-Length")
    chunked_te = "chunked" in (h.get("transfer-encoding") or "").lower()
    aws_chunked = chunked_framing(req, mode)
    if content_length is None and not chunked_te:
        raise S3Error("MissingContentLength")
    source: AsyncIterable[bytes] = _client_stream(req)
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
    header_sums = checksums.validate_headers(h)
    compute = {always} if always else set()
    alg = checksums.sdk_algorithm(h)
    if alg:
        compute.add(alg)
    for name in (h.get("x-amz-trailer") or "").split(","):
        name = name.strip().lower()
        if name.startswith("x-amz-checksum-") and name[len("x-amz-checksum-"):] in checksums.ALGORITHMS:
            compute.add(name[len("x-amz-checksum-"):])
    md5_b64 = content_md5(h.get("content-md5"))
    storage_headers = {}
    if md5_at_nodes and md5_b64 is not None:
        storage_headers["Etag"] = base64.b64decode(md5_b64).hex()
    body = checksums.VerifiedBody(
        source,
        sha256_hex=mode if auth_v4.is_sha256_hex(mode) else None,
        md5_b64=None if md5_at_nodes else md5_b64,
        expected=header_sums,
        compute=compute,
        expected_length=length if aws_chunked else None,
        late=late,
        md5=not md5_at_nodes,
    )
    return Upload(body, length, header_sums, storage_headers)


def written_etag(resp: BackendResponse, body: checksums.VerifiedBody) -> str:
    """The ETag (hex, unquoted) of what a successful storage PUT of ``body`` wrote: the storage's answer
    (the nodes' MD5 of the stored bytes, or the encryption layer's), else the proxy's own MD5 of the body
    (a write superseded before its body was sent, which read nothing)."""
    etag = (resp.headers.get("etag") or "").strip('"')
    if etag:
        return etag
    if body.etag is None:
        raise S3Error("InternalError", "the storage nodes answered no ETag")
    return body.etag


def storage_refusal(resp: BackendResponse, upload: Upload) -> S3Error | None:
    """BadDigest when the nodes refused the body for the Content-MD5 they were asked to check (422)."""
    if resp.status == 422 and "Etag" in upload.storage_headers:
        return S3Error("BadDigest", "The Content-MD5 you specified did not match what we received.")
    return None


def request_body(req: S3Request, body_checksums: bool = True) -> AsyncIterable[bytes]:
    """The body of a request carrying a small document (XML), verified like an upload.

    A hex ``x-amz-content-sha256``, ``Content-MD5`` and ``x-amz-checksum-*`` headers are checked against
    what arrives (the last chunk is held back until they match: BadDigest otherwise); aws-chunked bodies
    are decoded as for uploads (``chunked_framing``). ``body_checksums=False`` for a request whose
    ``x-amz-checksum-*`` headers describe something else (CompleteMultipartUpload: the object).
    """
    mode = payload_mode(req)
    if chunked_framing(req, mode):
        return open_upload(req).body
    h = req.headers
    return checksums.VerifiedBody(_client_stream(req),
                                  sha256_hex=mode if auth_v4.is_sha256_hex(mode) else None,
                                  md5_b64=content_md5(h.get("content-md5")),
                                  expected=checksums.requested_checksums(h) if body_checksums else None)


def checksum_sysmeta(values: dict[str, str]) -> dict[str, str]:
    return {checksums.SYSMETA + alg.title(): v for alg, v in values.items()}


def checksum_response_headers(body: checksums.VerifiedBody, header_sums: dict[str, str]) -> dict[str, str]:
    """Echo the verified checksums (``x-amz-checksum-<alg>``) on PutObject/UploadPart answers."""
    out = {f"x-amz-checksum-{alg}": v for alg, v in body.checksums.items()}
    for alg, v in header_sums.items():
        out.setdefault(f"x-amz-checksum-{alg}", v)
    return out
