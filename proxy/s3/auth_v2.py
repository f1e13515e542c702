"""AWS Signature Version 2 (HMAC-SHA1): ``Authorization: AWS AK:sig`` and presigned
``?AWSAccessKeyId=&Expires=&Signature=`` (boto3's default presign for AWS region names)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence
from urllib.parse import unquote

from proxy.http.conditional import parse_http_date
from proxy.s3 import auth_v4
from proxy.s3.auth_v4 import MAX_EXPIRES, MAX_SKEW
from proxy.s3.context import AuthInfo
from proxy.s3.credentials import CredentialStore
from proxy.s3.errors import S3Error
from stackstore.numbers import is_ascii_digits

MAX_EPOCH = 2 ** 32  # an Expires at or beyond it is no date (seconds since 1970 in 32 bits: until 2106)

SUBRESOURCES = frozenset({
    "accelerate", "acl", "cors", "defaultObjectAcl", "location", "logging", "partNumber", "policy",
    "requestPayment", "torrent", "versioning", "versionId", "versions", "website", "uploads", "uploadId",
    "response-content-type", "response-content-language", "response-expires", "response-cache-control",
    "response-content-disposition", "response-content-encoding", "delete", "lifecycle", "tagging",
    "restore", "storageClass", "notification", "replication", "analytics", "metrics", "inventory",
    "select", "select-type", "object-lock",
})


def canonical_resource(raw_path: str, raw_query: str, vhost_bucket: str | None) -> str:
    """Path as sent (bucket prepended for virtual-host requests) plus sorted sub-resources."""
    buf = (f"/{vhost_bucket}" + raw_path) if vhost_bucket else raw_path
    params = []
    for part in raw_query.split("&"):
        if not part:
            continue
        name, sep, value = part.partition("=")
        if name in SUBRESOURCES:
            params.append((name, f"{name}={unquote(value)}" if sep else name))
    if params:
        params.sort(key=lambda p: p[0])
        buf += "?" + "&".join(p[1] for p in params)
    return buf


def string_to_sign(method: str, headers: Mapping[str, list[str]], date: str, resource: str) -> str:
    def first(name: str) -> str:
        vals = headers.get(name)
        return vals[0].strip() if vals else ""

    lines = [method.upper(), first("content-md5"), first("content-type"), date]
    amz = sorted((k, ",".join(v.strip() for v in vals)) for k, vals in headers.items() if k.startswith("x-amz-"))
    lines += [f"{k}:{v}" for k, v in amz]
    return "\n".join(lines) + "\n" + resource


def sign(secret: str, text: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


async def verify(method: str, raw_path: str, raw_query: str, raw_headers: Sequence[tuple[bytes, bytes]],
                 query: dict[str, str], store: CredentialStore, vhost_bucket: str | None,
                 now: float | None = None) -> AuthInfo:
    now = time.time() if now is None else now
    headers: dict[str, list[str]] = {}
    for k, v in raw_headers:
        headers.setdefault(k.decode("latin-1").lower(), []).append(v.decode("latin-1"))
    presigned = "Signature" in query and "AWSAccessKeyId" in query
    if presigned:
        access_key, signature = query["AWSAccessKeyId"], query["Signature"]
        expires = query.get("Expires", "")
        if not is_ascii_digits(expires):
            raise S3Error("AccessDenied", "Query-string authentication requires the Signature, Expires and "
                                          "AWSAccessKeyId parameters")
        if int(expires) >= MAX_EPOCH:  # not a date a 32-bit epoch can hold: as AWS, an invalid date
            raise S3Error("AccessDenied", f"Invalid date (should be seconds since epoch): {expires}")
        if now > int(expires):
            raise S3Error("AccessDenied", "Request has expired", Expires=expires)
        if int(expires) - now > MAX_EXPIRES:  # a week at most, as for SigV4 presigned URLs
            raise S3Error("AccessDenied", "Query-string authentication requires an Expires date less than "
                                          "a week (604800 seconds) in the future", Expires=expires)
        for name in ("content-type", "content-md5"):
            if name in query and name not in headers:
                headers[name] = [query[name]]
        for name, value in query.items():
            if name.lower().startswith("x-amz-") and name.lower() not in headers:
                headers[name.lower()] = [value]
        dates = [expires]
    else:
        auth = (headers.get("authorization") or [""])[0]
        access_key, sep, signature = auth[4:].strip().rpartition(":")
        if not sep or not access_key:  # AWS: a malformed header is the client's argument error, 400
            raise S3Error("InvalidArgument", "AWS authorization header is invalid.  Expected "
                          "AwsAccessKeyId:signature", ArgumentName="Authorization", ArgumentValue=auth)
        amz_date = (headers.get("x-amz-date") or [""])[0]
        date = (headers.get("date") or [""])[0]
        when = parse_http_date(amz_date or date)
        # a present but empty x-amz-date, an unparsable date and one before the epoch are all refused
        if when is None or when < 0 or ("x-amz-date" in headers and not amz_date.strip()):
            raise S3Error("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header")
        if abs(now - when) > MAX_SKEW:
            raise S3Error("RequestTimeTooSkewed", RequestTime=amz_date or date, MaxAllowedSkewMilliseconds="900000")
        dates = ["", date] if amz_date else [date]
    cred = await store.lookup(access_key)
    if cred is None:
        raise S3Error("InvalidAccessKeyId", AWSAccessKeyId=access_key)
    resources = [canonical_resource(raw_path, raw_query, vhost_bucket)]
    if not vhost_bucket and raw_path.count("/") == 1 and len(raw_path) > 1:  # bucket: "/b" signed as "/b/"
        resources.append(canonical_resource(raw_path + "/", raw_query, None))
    sts = ""
    for resource in resources:
        for date in dates:
            sts = string_to_sign(method, headers, date, resource)
            if hmac.compare_digest(sign(cred.secret, sts), signature):
                # every x-amz-* header is in the string to sign, so x-amz-content-sha256 is bound
                payload = (headers.get("x-amz-content-sha256") or [auth_v4.UNSIGNED_PAYLOAD])[0].strip()
                return AuthInfo(cred, 2, auth_v4.check_payload_mode(payload), presigned=presigned)
    raise S3Error("SignatureDoesNotMatch", AWSAccessKeyId=access_key, StringToSign=sts,
                  SignatureProvided=signature)
