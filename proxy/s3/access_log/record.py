"""One request as a line of AWS's server access log format ("Amazon S3 server access log format").

Fields, space separated, ``-`` when unknown or not applicable: bucket owner (canonical id), bucket, time
``[06/Feb/2019:00:00:38 +0000]``, remote IP, requester (canonical id, ``-`` anonymous), request id,
operation (``REST.GET.OBJECT``...), key (URL-encoded), ``"Request-URI"``, HTTP status, error code,
bytes sent, object size, total time (ms), turn-around time (ms), ``"Referer"``, ``"User-Agent"``,
version id, host id, signature version (SigV2/SigV4), cipher suite, authentication type
(AuthHeader/QueryString), Host header, TLS version, access point ARN, ACL required, source region.

Secrets are never written: the Authorization header is not a field, and the values of the signature
query parameters of presigned URLs (``X-Amz-Signature``, SigV2 ``Signature``, ``X-Amz-Security-Token``)
are redacted in the Request-URI, as AWS redacts ``X-Amz-Signature``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import quote

# query parameters whose values are credentials (compared lower-cased)
SECRET_PARAMS = frozenset({"x-amz-signature", "signature", "x-amz-security-token"})
REDACTED = "REDACTED"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# AWS's resource word of an operation, where it is not the sub-resource's own name upper-cased
RESOURCE_OF_OPERATION = {
    "ListObjects": "BUCKET", "ListObjectsV2": "BUCKET", "HeadBucket": "BUCKET", "CreateBucket": "BUCKET",
    "DeleteBucket": "BUCKET", "ListBuckets": "SERVICE", "PostObject": "OBJECT",
    "GetBucketLogging": "LOGGING_STATUS", "PutBucketLogging": "LOGGING_STATUS",
    "GetBucketPolicy": "BUCKETPOLICY", "PutBucketPolicy": "BUCKETPOLICY", "DeleteBucketPolicy": "BUCKETPOLICY",
    "GetBucketPolicyStatus": "BUCKETPOLICYSTATUS", "ListObjectVersions": "BUCKETVERSIONS",
    "DeleteObjects": "MULTI_OBJECT_DELETE", "CreateMultipartUpload": "UPLOADS", "ListMultipartUploads": "UPLOADS",
    "UploadPart": "PART", "UploadPartCopy": "PART", "CompleteMultipartUpload": "UPLOAD",
    "AbortMultipartUpload": "UPLOAD", "ListParts": "UPLOAD",
    "GetObjectTagging": "OBJECT_TAGGING", "PutObjectTagging": "OBJECT_TAGGING",
    "DeleteObjectTagging": "OBJECT_TAGGING",
}


def operation_name(method: str, operation: str | None, subresource: str | None, level: str) -> str:
    """``REST.<METHOD>.<RESOURCE>`` as AWS logs it (``REST.COPY.OBJECT``/``REST.COPY.PART`` for copies)."""
    if operation is None:  # refused before the operation was known (a bad signature)
        resource = "OBJECT" if level == "object" else "BUCKET"
    else:
        resource = RESOURCE_OF_OPERATION.get(operation) or (
            subresource.upper().replace("-", "_") if subresource else level.upper())
    if operation in ("CopyObject", "UploadPartCopy"):
        method = "COPY"
    return f"REST.{method}.{resource}"


def log_time(epoch: float) -> str:
    """``[06/Feb/2019:00:00:38 +0000]``."""
    t = time.gmtime(epoch)
    return f"[{t.tm_mday:02d}/{MONTHS[t.tm_mon - 1]}/{t.tm_year}:{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000]"


def redacted_query(raw_query: str) -> str:
    """The query as sent, the values of credential parameters replaced by ``REDACTED``."""
    if not raw_query:
        return ""
    parts = []
    for pair in raw_query.split("&"):
        name, sep, _ = pair.partition("=")
        parts.append(f"{name}={REDACTED}" if sep and name.lower() in SECRET_PARAMS else pair)
    return "&".join(parts)


def request_uri(method: str, raw_path: str, raw_query: str, http_version: str) -> str:
    query = redacted_query(raw_query)
    return f"{method} {raw_path}{'?' + query if query else ''} HTTP/{http_version}"


def _quoted(text: str) -> str:
    """A quoted field: ``"..."``, double quotes and control characters escaped so one record stays one line."""
    if not text:
        return '"-"'
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(ch if ch >= " " and ch != "\x7f" else f"\\x{ord(ch):02x}" for ch in escaped) + '"'


def _plain(value: object) -> str:
    """A bare field: ``-`` when empty; spaces (never in the values written here) replaced to keep the columns."""
    text = "" if value is None else str(value)
    return text.replace(" ", "%20").replace("\n", "%0A") if text else "-"


@dataclass
class AccessRecord:
    """The fields of one log record; ``line()`` formats them."""

    bucket_owner: str
    bucket: str
    time: float
    remote_ip: str
    requester: str
    request_id: str
    operation: str
    key: str | None
    request_uri: str
    status: int
    error_code: str
    bytes_sent: int
    object_size: int | None
    total_ms: int
    turnaround_ms: int
    referer: str
    user_agent: str
    version_id: str
    host_id: str
    signature_version: str
    cipher_suite: str
    auth_type: str
    host: str
    tls_version: str
    source_region: str

    def line(self) -> str:
        """The record as one line of the log file (newline included)."""
        fields = [
            _plain(self.bucket_owner), _plain(self.bucket), log_time(self.time), _plain(self.remote_ip),
            _plain(self.requester), _plain(self.request_id), _plain(self.operation),
            _plain(quote(self.key, safe="/") if self.key is not None else ""), _quoted(self.request_uri),
            str(self.status), _plain(self.error_code), _plain(self.bytes_sent or ""),
            _plain(self.object_size if self.object_size is not None else ""), str(self.total_ms),
            _plain(self.turnaround_ms), _quoted(self.referer), _quoted(self.user_agent), _plain(self.version_id),
            _plain(self.host_id), _plain(self.signature_version), _plain(self.cipher_suite),
            _plain(self.auth_type), _plain(self.host), _plain(self.tls_version), "-", "-",
            _plain(self.source_region),
        ]
        return " ".join(fields) + "\n"
