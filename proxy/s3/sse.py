"""S3 server-side encryption: the request headers (SSE-S3, SSE-KMS, SSE-C, copy-source SSE-C), the bucket's
default encryption, the response headers, and the S3 errors of an object that cannot be decrypted.

The encryption itself is ``objclient.crypto`` (the same layer serves the Swift API); ``aws:kms`` uses the
built-in KMS (``objclient.crypto.kms``: key ids from ``[s3] kms_keys``). ``aws:kms:dsse`` (dual-layer)
answers ``NotImplemented``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from objclient.crypto import cipher, envelope, kms
from objclient.crypto.client import CRYPTO_ERROR, MISSING_KEY, WRONG_KEY, EncryptingClient
from objclient.crypto.envelope import Encryption
from objclient.response import BackendResponse
from proxy.s3.context import S3Request
from proxy.s3.errors import S3Error

SSE_HEADER = "x-amz-server-side-encryption"
KMS_KEY_HEADER = "x-amz-server-side-encryption-aws-kms-key-id"
KMS_CONTEXT_HEADER = "x-amz-server-side-encryption-context"
BUCKET_KEY_HEADER = "x-amz-server-side-encryption-bucket-key-enabled"
CUSTOMER = "x-amz-server-side-encryption-customer-"
COPY_SOURCE_CUSTOMER = "x-amz-copy-source-server-side-encryption-customer-"
ALGORITHM = "AES256"
KMS = ("aws:kms", "aws:kms:dsse")
BUCKET_DEFAULT = "X-Container-Sysmeta-S3-Encryption"  # the bucket's default: "AES256" or "aws:kms"
BUCKET_DEFAULT_KMS_KEY = "X-Container-Sysmeta-S3-Encryption-Kms-Key-Id"  # aws:kms: KMSMasterKeyID ("": default)
BUCKET_DEFAULT_BUCKET_KEY = "X-Container-Sysmeta-S3-Encryption-Bucket-Key"  # BucketKeyEnabled: "true"/""
_SYSMETA = len("x-container-sysmeta-")


@dataclass(frozen=True)
class BucketDefault:
    """A bucket's default encryption (PutBucketEncryption)."""

    algorithm: str  # AES256 or aws:kms
    kms_key_id: str = ""  # aws:kms: the KMSMasterKeyID as put ("": the default key)
    bucket_key: bool = False


@dataclass(frozen=True)
class Reported:
    """What S3 answers about an object's encryption (``response_headers``)."""

    sse: str
    kms_key_id: str | None = None
    kms_context: str | None = None  # echoed by writes only, as AWS
    bucket_key: bool = False


def client(req: S3Request) -> EncryptingClient:
    """The proxy's encrypting object client (every proxy builds one; see ``objclient.crypto.client``)."""
    storage = req.client
    if not isinstance(storage, EncryptingClient):
        raise S3Error("NotImplemented", "Server-side encryption is not available on this endpoint.")
    return storage


def customer_key(headers: Mapping[str, str], prefix: str = CUSTOMER) -> bytes | None:
    """The SSE-C key the ``<prefix>algorithm|key|key-MD5`` headers give (None: no SSE-C headers).

    InvalidArgument (400) as AWS for a partial or inconsistent set, a key that is not 256 bits of base64
    or whose MD5 is not the one given; InvalidEncryptionAlgorithmError for an algorithm but AES256."""
    algorithm = headers.get(prefix + "algorithm")
    key_text = headers.get(prefix + "key")
    md5_text = headers.get(prefix + "key-md5")
    if algorithm is None and key_text is None and md5_text is None:
        return None
    if algorithm is None:
        raise S3Error("InvalidArgument", "Requests specifying Server Side Encryption with Customer provided keys "
                      "must provide a valid encryption algorithm.", ArgumentName=prefix + "algorithm")
    if algorithm != ALGORITHM:
        raise S3Error("InvalidEncryptionAlgorithmError", "The encryption request you specified is not valid. "
                      "The valid value is AES256.", ArgumentName=prefix + "algorithm", ArgumentValue=algorithm)
    if not key_text:
        raise S3Error("InvalidArgument", "Requests specifying Server Side Encryption with Customer provided keys "
                      "must provide an appropriate secret key.", ArgumentName=prefix + "key")
    try:
        key = base64.b64decode(key_text.strip(), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise S3Error("InvalidArgument", "The secret key was invalid for the specified algorithm.",
                      ArgumentName=prefix + "key")
    if not md5_text:
        raise S3Error("InvalidArgument", "Requests specifying Server Side Encryption with Customer provided keys "
                      "must provide the client calculated MD5 of the secret key.", ArgumentName=prefix + "key-MD5")
    if base64.b64encode(hashlib.md5(key, usedforsecurity=False).digest()).decode() != md5_text.strip():
        raise S3Error("InvalidArgument", "The calculated MD5 hash of the key did not match the hash that was "
                      "provided.", ArgumentName=prefix + "key-MD5")
    return key


def refuse_on_read(req: S3Request) -> None:
    """GetObject/HeadObject name no server-side encryption of their own (the stored object's applies, and
    SSE-C's key headers): ``x-amz-server-side-encryption`` or a KMS key id there is 400 InvalidArgument, as
    AWS documents for GetObject."""
    for name in (SSE_HEADER, KMS_KEY_HEADER):
        if name in req.headers:
            raise S3Error("InvalidArgument", "The encryption parameters are not applicable to this object.",
                          ArgumentName=name, ArgumentValue=req.headers.get(name))


def request_customer_key(req: S3Request, prefix: str = CUSTOMER) -> bytes | None:
    """``customer_key`` of the request's headers; with ``[proxy] sse_c_require_tls`` (AWS's rule) an SSE-C
    key sent over plain HTTP is refused (400 InvalidRequest)."""
    key = customer_key(req.headers, prefix)
    if key is not None and req.request.url.scheme != "https" and _require_tls(req):
        raise S3Error("InvalidRequest", "Requests specifying Server Side Encryption with Customer provided keys "
                      "must be made over a secure connection.")
    return key


def _require_tls(req: S3Request) -> bool:
    conf = req.state.conf.get("proxy", {}) if hasattr(req.state.conf, "get") else {}
    return bool(conf.get("sse_c_require_tls", False))


def bucket_default(bucket_info: Mapping[str, object]) -> BucketDefault | None:
    """The bucket's default encryption, None when it has none."""
    sysmeta = bucket_info.get("sysmeta")
    if not isinstance(sysmeta, Mapping):
        return None

    def value(name: str) -> str:
        return str(sysmeta.get(name.lower()[_SYSMETA:]) or "")

    algorithm = value(BUCKET_DEFAULT)
    if algorithm not in (ALGORITHM, envelope.SSE_KMS):
        return None
    return BucketDefault(algorithm, value(BUCKET_DEFAULT_KMS_KEY) if algorithm == envelope.SSE_KMS else "",
                         value(BUCKET_DEFAULT_BUCKET_KEY) == "true")


def _kms_plan(req: S3Request, key_id: str | None, context: str | None, bucket_key: bool) -> Encryption:
    """SSE-KMS with the key ``key_id`` (None: the default key) of the built-in KMS; 400 KMS.NotFoundException
    for a key it does not have, InvalidArgument for a malformed encryption context."""
    try:
        resolved = client(req).kms_keys.resolve(key_id)
    except kms.UnknownKmsKey:
        raise S3Error("KMS.NotFoundException", f"Invalid keyId '{key_id or kms.DEFAULT_KEY}'",
                      status=400) from None
    if context is not None:
        try:
            context = kms.check_context(context)
        except kms.InvalidContext:
            raise S3Error("InvalidArgument", "The header 'x-amz-server-side-encryption-context' shall be Base64-"
                          "encoded UTF-8 string holding JSON which represents a string-string map",
                          ArgumentName=KMS_CONTEXT_HEADER, ArgumentValue=context) from None
    return envelope.kms(resolved, context, bucket_key)


def _bucket_key_asked(req: S3Request, default: BucketDefault | None) -> bool:
    """``x-amz-server-side-encryption-bucket-key-enabled``, else the bucket's BucketKeyEnabled (as AWS)."""
    value = req.headers.get(BUCKET_KEY_HEADER)
    if value is None:
        return default is not None and default.bucket_key
    if value.strip().lower() not in ("true", "false"):
        raise S3Error("InvalidArgument", "The header 'x-amz-server-side-encryption-bucket-key-enabled' shall "
                      "be either 'true' or 'false'", ArgumentName=BUCKET_KEY_HEADER, ArgumentValue=value)
    return value.strip().lower() == "true"


def requested(req: S3Request, bucket_info: Mapping[str, object] | None = None) -> Encryption | None:
    """How a new object (PutObject, CopyObject's target, CreateMultipartUpload) is to be encrypted.

    SSE-C headers → the customer's key; ``x-amz-server-side-encryption: AES256`` → the cluster key;
    ``aws:kms`` → a key of the built-in KMS (``x-amz-server-side-encryption-aws-kms-key-id``, else the
    default key); none → the bucket's default, else None (the cloud's own default: ``[proxy] encryption``)."""
    key = request_customer_key(req)
    asked = req.headers.get(SSE_HEADER)
    if asked not in KMS and (KMS_KEY_HEADER in req.headers or KMS_CONTEXT_HEADER in req.headers):
        kms_header = KMS_KEY_HEADER if KMS_KEY_HEADER in req.headers else KMS_CONTEXT_HEADER
        raise S3Error("InvalidArgument", "Server Side Encryption with AWS KMS managed key requires HTTP header "
                      "x-amz-server-side-encryption : aws:kms", ArgumentName=kms_header,
                      ArgumentValue=req.headers.get(kms_header))
    if asked is not None:
        if key is not None:
            raise S3Error("InvalidArgument", "Server Side Encryption with Customer provided key is incompatible "
                          "with the encryption method specified", ArgumentName=SSE_HEADER, ArgumentValue=asked)
        if asked == envelope.SSE_KMS:
            default = bucket_default(bucket_info) if bucket_info is not None else None
            return _kms_plan(req, req.headers.get(KMS_KEY_HEADER), req.headers.get(KMS_CONTEXT_HEADER),
                             _bucket_key_asked(req, default))
        if asked in KMS:
            raise S3Error("NotImplemented", "Dual-layer server-side encryption with AWS KMS keys (aws:kms:dsse) "
                          "is not available. Use aws:kms, AES256 or SSE-C.", Header=SSE_HEADER)
        if asked != ALGORITHM:
            raise S3Error("InvalidArgument", "The encryption method specified is not supported",
                          ArgumentName=SSE_HEADER, ArgumentValue=asked)
        return envelope.CLUSTER_KEY
    if key is not None:
        return envelope.customer(key)
    default = bucket_default(bucket_info) if bucket_info is not None else None
    if default is not None and default.algorithm == envelope.SSE_KMS:
        return _kms_plan(req, default.kms_key_id or None, None, _bucket_key_asked(req, default))
    if default is not None:
        return envelope.CLUSTER_KEY
    return None


def response_headers(reported: Reported | None, headers: Mapping[str, str],
                     prefix: str = CUSTOMER) -> dict[str, str]:
    """``x-amz-server-side-encryption`` (SSE-S3; SSE-KMS with its key id, the encryption context a write
    gave, and the bucket key when enabled) or the SSE-C algorithm and key MD5 echoed."""
    sse = reported.sse if reported is not None else None
    if sse == envelope.SSE_S3:
        return {SSE_HEADER: ALGORITHM}
    if reported is not None and sse == envelope.SSE_KMS:
        out = {SSE_HEADER: envelope.SSE_KMS}
        if reported.kms_key_id:
            out[KMS_KEY_HEADER] = reported.kms_key_id
        if reported.kms_context:
            out[KMS_CONTEXT_HEADER] = reported.kms_context
        if reported.bucket_key:
            out[BUCKET_KEY_HEADER] = "true"
        return out
    if sse == envelope.SSE_C:
        out = {CUSTOMER + "algorithm": ALGORITHM}
        md5 = headers.get(prefix + "key-md5")
        if md5:
            out[CUSTOMER + "key-MD5"] = md5
        return out
    return {}


def written_sse(plan: Encryption | None, storage: EncryptingClient) -> Reported | None:
    """What a write with ``plan`` stored (the cloud-wide default applies when there was no plan)."""
    if plan is None:
        return Reported(envelope.SSE_S3) if storage.encrypt_all else None
    if plan.sse is None:
        return None
    return Reported(plan.sse, plan.kms_key_id, plan.kms_context, plan.bucket_key)


def stored_sse(headers: Mapping[str, str]) -> Reported | None:
    """What GET/HEAD report of a stored object's (or multipart manifest's) encryption."""
    kind = envelope.sse_of(headers)
    if kind is None:
        return None
    return Reported(kind, envelope.lookup(headers, envelope.KMS_KEY_ID) or None,
                    bucket_key=envelope.lookup(headers, envelope.BUCKET_KEY) == "true")


def read_error(resp: BackendResponse) -> S3Error | None:
    """The S3 error of a read the encryption layer refused (None: not refused by it)."""
    reason = resp.headers.get(CRYPTO_ERROR)
    if reason is None:
        return None
    if reason == MISSING_KEY:
        return S3Error("InvalidRequest", "The object was stored using a form of Server Side Encryption. The "
                       "correct parameters must be provided to retrieve the object.")
    if reason == WRONG_KEY:
        return S3Error("AccessDenied", "The provided encryption key does not match the object's key.")
    return S3Error("ServiceUnavailable", "The object's encryption key is not available.", status=503)


def check_applicable(stored: Mapping[str, str], key: bytes | None) -> None:
    """InvalidRequest when SSE-C parameters are given for an object that is not SSE-C encrypted."""
    if key is not None and envelope.sse_of(stored) != envelope.SSE_C:
        raise S3Error("InvalidRequest", "The encryption parameters are not applicable to this object.")


# -- multipart uploads: CreateMultipartUpload decides, every part follows ---------------------------
UPLOAD_SSE = "X-Object-Sysmeta-S3-Upload-Sse"  # on the upload marker: AES256 / aws:kms / SSE-C
UPLOAD_KEY_CHECK = "X-Object-Sysmeta-S3-Upload-Key-Check"  # SSE-C: the salted HMAC of the upload's key
UPLOAD_KMS_KEY_ID = "X-Object-Sysmeta-S3-Upload-Kms-Key-Id"  # aws:kms: the upload's KMS key
UPLOAD_KMS_CONTEXT = "X-Object-Sysmeta-S3-Upload-Kms-Context"  # aws:kms: its encryption context
UPLOAD_BUCKET_KEY = "X-Object-Sysmeta-S3-Upload-Bucket-Key"  # aws:kms: "true" when the bucket key was asked


def upload_marker_headers(plan: Encryption | None, storage: EncryptingClient) -> dict[str, str]:
    """What the upload marker records of the encryption CreateMultipartUpload asked for."""
    out: dict[str, str] = {}
    written = written_sse(plan, storage)
    if written is not None:
        out[UPLOAD_SSE] = written.sse
    if plan is not None and plan.customer_key is not None:
        out[UPLOAD_KEY_CHECK] = cipher.key_check(plan.customer_key)
    if plan is not None and plan.kms_key_id:
        out[UPLOAD_KMS_KEY_ID] = plan.kms_key_id
        if plan.kms_context:
            out[UPLOAD_KMS_CONTEXT] = plan.kms_context
        if plan.bucket_key:
            out[UPLOAD_BUCKET_KEY] = "true"
    return out


def upload_sse(marker: Mapping[str, str]) -> str | None:
    """The upload's encryption (``AES256``/``aws:kms``/``SSE-C``), None when its parts are not encrypted."""
    value = envelope.lookup(marker, UPLOAD_SSE)
    return value if value in envelope.KINDS else None


def _upload_kms(marker: Mapping[str, str]) -> Encryption:
    """The SSE-KMS plan of an ``aws:kms`` upload (every part is encrypted with it)."""
    return envelope.kms(envelope.lookup(marker, UPLOAD_KMS_KEY_ID) or kms.DEFAULT_KEY,
                        envelope.lookup(marker, UPLOAD_KMS_CONTEXT) or None,
                        envelope.lookup(marker, UPLOAD_BUCKET_KEY) == "true")


def upload_reported(marker: Mapping[str, str]) -> Reported | None:
    """What CompleteMultipartUpload reports of the upload's encryption."""
    kind = upload_sse(marker)
    if kind == envelope.SSE_KMS:
        plan = _upload_kms(marker)
        return Reported(kind, plan.kms_key_id, bucket_key=plan.bucket_key)
    return Reported(kind) if kind is not None else None


def part_encryption(req: S3Request, marker: Mapping[str, str], key: bytes | None) -> Encryption | None:
    """How a part (UploadPart, UploadPartCopy) of the upload ``marker`` is encrypted: as the upload was
    created; an SSE-C upload needs the same key on every part (InvalidRequest otherwise)."""
    kind = upload_sse(marker)
    if kind == envelope.SSE_C:
        check = envelope.lookup(marker, UPLOAD_KEY_CHECK) or ""
        if key is None:
            raise S3Error("InvalidRequest", "The multipart upload initiate requested encryption. Subsequent part "
                          "requests must include the appropriate encryption parameters.")
        if not cipher.key_matches(key, check):
            raise S3Error("InvalidRequest", "The provided encryption parameters did not match the ones used "
                          "originally.")
        return envelope.customer(key)
    if key is not None:
        raise S3Error("InvalidRequest", "The multipart upload initiate did not request encryption with a "
                      "customer key: the encryption parameters are not applicable.")
    if kind == envelope.SSE_KMS:
        return _upload_kms(marker)
    return envelope.CLUSTER_KEY if kind == envelope.SSE_S3 else None


def manifest_headers(marker: Mapping[str, str]) -> dict[str, str]:
    """The envelope headers of a completed upload's manifest (its parts hold the ciphertext): reads of an
    SSE-C multipart object then need the upload's key, HEAD reports the encryption."""
    kind = upload_sse(marker)
    if kind is None:
        return {}
    out = {envelope.SSE: kind}
    check = envelope.lookup(marker, UPLOAD_KEY_CHECK)
    if kind == envelope.SSE_C and check:
        out[envelope.KEY_CHECK] = check
    if kind == envelope.SSE_KMS:
        out.update(envelope.kms_headers(_upload_kms(marker)))
    return out
