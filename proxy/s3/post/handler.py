"""PostObject: a browser form upload, authenticated by the form's signed policy, stored like PutObject.

SigV4 fields (``x-amz-algorithm``, ``x-amz-credential``, ``x-amz-date``, ``x-amz-signature``: the
signature is the HMAC of the base64 policy with the SigV4 signing key) or SigV2 fields
(``AWSAccessKeyId``, ``signature``: HMAC-SHA1 of the base64 policy). The caller then needs
``s3:PutObject`` on the key, as for PutObject. ``success_action_redirect`` answers 303 to it with
``bucket``, ``key`` and ``etag``; ``success_action_status`` 200/201 (201: a ``PostResponse``
document); otherwise 204.

The upload is a new version like PutObject's: in a versioned bucket the current version is kept (the
answer carries ``x-amz-version-id``), and in an Object Lock bucket the form's ``x-amz-object-lock-*`` fields
set (and are checked as) PutObject's headers, else the bucket's default retention applies.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any
from urllib.parse import quote, urlencode
from xml.etree.ElementTree import Element

from starlette.requests import Request
from starlette.responses import Response

from proxy.s3 import auth_v4, checksums, object_lock, sse, tagset, versioning, xml
from proxy.s3 import headers as s3h
from proxy.s3.acl.writes import object_write_sysmeta
from proxy.s3.bucket import require_bucket
from proxy.s3.checksums import VerifiedBody
from proxy.s3.context import AuthInfo, S3Request, anonymous_auth
from proxy.s3.errors import S3Error, from_backend
from proxy.s3.objects import check_key
from proxy.s3.post import policy as post_policy
from proxy.s3.post.form import FormReader, boundary_of
from proxy.s3.quota import written
from proxy.s3.supersede import current_multipart, release_parts
from proxy.s3.upload import MAX_PUT_SIZE, _client_stream, checksum_sysmeta


def is_post_object(req: S3Request) -> bool:
    """An unsigned multipart/form-data POST to a bucket: a browser form upload."""
    return (req.method == "POST" and req.bucket is not None and req.key is None
            and not req.headers.get("authorization")
            and (req.headers.get("content-type") or "").lower().startswith("multipart/form-data"))


def _missing(name: str) -> S3Error:
    return S3Error("InvalidArgument", f"Bucket POST must contain a field named '{name}'.  If it is specified, "
                   "please check the order of the fields.", ArgumentName=name, ArgumentValue="")


async def _authenticate(req: S3Request, fields: dict[str, str]) -> AuthInfo:
    from proxy.s3.app import credential_store  # the app imports this module

    policy_b64 = fields.get("policy")
    if "x-amz-signature" in fields or "x-amz-credential" in fields:
        if fields.get("x-amz-algorithm") != auth_v4.ALGORITHM:
            raise S3Error("InvalidArgument", "Only AWS4-HMAC-SHA256 is supported", ArgumentName="x-amz-algorithm",
                          ArgumentValue=fields.get("x-amz-algorithm", ""))
        for name in ("x-amz-credential", "x-amz-date", "x-amz-signature", "policy"):
            if not fields.get(name):
                raise _missing(name)
        parts = fields["x-amz-credential"].split("/")
        if len(parts) != 5 or parts[3] != "s3" or parts[4] != "aws4_request":
            raise S3Error("InvalidArgument", "Invalid credential", ArgumentName="x-amz-credential",
                          ArgumentValue=fields["x-amz-credential"])
        cred = await credential_store(req.state).lookup(parts[0])
        if cred is None:
            raise S3Error("InvalidAccessKeyId", AWSAccessKeyId=parts[0])
        key = auth_v4.signing_key(cred.secret, parts[1], parts[2])
        expected = hmac.new(key, (policy_b64 or "").encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, fields["x-amz-signature"].lower()):
            raise S3Error("SignatureDoesNotMatch", AWSAccessKeyId=parts[0])
        version = 4
    elif "awsaccesskeyid" in fields:
        for name in ("signature", "policy"):
            if not fields.get(name):
                raise _missing(name.capitalize() if name == "signature" else name)
        cred = await credential_store(req.state).lookup(fields["awsaccesskeyid"])
        if cred is None:
            raise S3Error("InvalidAccessKeyId", AWSAccessKeyId=fields["awsaccesskeyid"])
        digest = hmac.new(cred.secret.encode(), (policy_b64 or "").encode(), hashlib.sha1).digest()
        if not hmac.compare_digest(base64.b64encode(digest).decode(), fields["signature"]):
            raise S3Error("SignatureDoesNotMatch", AWSAccessKeyId=fields["awsaccesskeyid"])
        version = 2
    else:  # an anonymous form upload: allowed exactly where a grant or the bucket policy reaches everyone
        return anonymous_auth()
    if not cred.active:
        raise S3Error("AccessDenied")
    return AuthInfo(cred, version)


async def _bounded(source: AsyncIterable[bytes], low: int, high: int) -> AsyncIterator[bytes]:
    """The file, refused as it passes ``high`` or at its end when under ``low`` (content-length-range)."""
    total = 0
    async for chunk in source:
        total += len(chunk)
        if total > high:
            raise S3Error("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size",
                          MaxSizeAllowed=str(high), ProposedSize=str(total))
        yield chunk
    if total < low:
        raise S3Error("EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size",
                      MinSizeAllowed=str(low), ProposedSize=str(total))


async def post_object(req: S3Request) -> Response:
    """Answer a browser form upload to ``req.bucket``."""
    from proxy.s3.access import authorize  # access imports the operation table, which imports handlers
    from proxy.s3.access_log import stage as access_log  # imports the operation table too
    from proxy.s3.operations import BY_NAME
    from proxy.s3.router import resolve_bucket_owner  # the router imports the operation table too

    reader = FormReader(_client_stream(req), boundary_of(req.headers.get("content-type", "")))
    raw_fields, filename, file_type = await reader.fields()
    fields = {k.lower(): v for k, v in raw_fields.items()}
    if "key" not in fields:
        raise _missing("key")
    key = fields["key"].replace("${filename}", filename or "")
    fields["key"] = key
    req.auth = await _authenticate(req, fields)
    check_key(key)
    # a signed form carries a policy (checked with it); an anonymous one may carry one too
    policy = post_policy.parse(fields["policy"]) if fields.get("policy") else None
    if policy is not None:
        post_policy.check(policy, fields, req.bucket or "")
    req.key = key
    await resolve_bucket_owner(req, BY_NAME["PutObject"])  # the bucket's registered owner's account
    req.extras["operation"] = BY_NAME["PostObject"]
    await access_log.note_bucket_config(req)  # logged whether it succeeds or not
    await authorize(req, BY_NAME["PutObject"])
    bucket_info = await require_bucket(req)
    options = _form_options(req, fields)
    acl = await object_write_sysmeta(options, bucket_info)
    meta = {k: v for k, v in fields.items() if k.startswith("x-amz-meta-") or k in (
        "cache-control", "content-disposition", "content-encoding", "expires", "x-amz-tagging",
        "x-amz-storage-class", "x-amz-website-redirect-location")}
    meta["content-type"] = fields.get("content-type") or file_type or "binary/octet-stream"
    if fields.get("tagging"):  # the form's XML tag set (AWS's field), stored as x-amz-tagging's
        meta["x-amz-tagging"] = tagset.form_tagging(fields["tagging"])
    stored = s3h.object_put_headers(meta)
    stored.update(acl)
    # the form's lock fields as PutObject's headers (a form carries no body digest: none is required)
    stored.update(object_lock.write_sysmeta(options, bucket_info))
    low, high = (policy.length_range if policy is not None else None) or (0, MAX_PUT_SIZE)
    # an x-amz-checksum-<alg> field is checked against the file and kept, as that PutObject header is
    named = {name.lower(): value for name, value in fields.items()}  # field names are case-insensitive
    expected = checksums.validate_headers(named)
    stored.update(checksum_sysmeta(expected))
    body = VerifiedBody(_bounded(reader.file(), low, min(high, MAX_PUT_SIZE)), expected=expected)
    bucket = req.bucket or ""
    replaced = await current_multipart(req, bucket, key, bucket_info)
    encryption = sse.requested(options, bucket_info)  # the bucket's default applies to form uploads too

    async def write(version_sysmeta: dict, node_condition: dict[str, str] | None) -> Any:
        return await sse.client(options).put_object(req.account, bucket, key, {**stored, **version_sysmeta}, body,
                                                    None, encryption=encryption, condition=node_condition)

    resp, version_id, kept = await versioning.guarded_write(req, bucket, key, bucket_info, None, write)
    if body.error is not None:
        raise body.error
    if resp.status not in (201, 202):
        raise from_backend(resp.status, req.bucket, key)
    written(req, bucket)
    if not kept:  # a replaced multipart object kept as a version keeps its parts
        await release_parts(req, bucket, key, replaced)
    etag = f'"{body.etag}"'
    answer = _success(req, fields, key, etag)
    if version_id is not None and version_id != "null":
        answer.headers[versioning.VERSION_HEADER] = version_id
    answer.headers.update(sse.response_headers(sse.written_sse(encryption, sse.client(options)), options.headers))
    return answer


# form fields that stand for a PutObject's option headers (AWS's POST Object fields)
_OPTION_FIELDS = {"acl": "x-amz-acl", **{name: name for name in (
    "x-amz-server-side-encryption", "x-amz-server-side-encryption-customer-algorithm",
    "x-amz-server-side-encryption-customer-key", "x-amz-server-side-encryption-customer-key-md5",
    sse.KMS_KEY_HEADER, sse.KMS_CONTEXT_HEADER, sse.BUCKET_KEY_HEADER,
    object_lock.MODE_HEADER, object_lock.UNTIL_HEADER, object_lock.HOLD_HEADER)}}


def _form_options(req: S3Request, fields: dict[str, str]) -> S3Request:
    """``req`` seen with the form's option fields (``acl``, SSE, Object Lock) as its headers: the ACL, encryption
    and Object Lock code reads a write's options from headers. Only headers differ; the body is still read
    from ``req``."""
    pairs = [(header.encode("latin-1"), fields[name].encode("latin-1", "replace"))
             for name, header in _OPTION_FIELDS.items() if fields.get(name)]
    scope = {**req.request.scope, "headers": pairs}
    return dataclasses.replace(req, request=Request(scope))


def _success(req: S3Request, fields: dict[str, str], key: str, etag: str) -> Response:
    redirect = fields.get("success_action_redirect") or fields.get("redirect")
    location = f"/{req.bucket}/{quote(key)}"
    if redirect:
        query = urlencode({"bucket": req.bucket, "key": key, "etag": etag})
        return Response(b"", 303, headers={"Location": redirect + ("&" if "?" in redirect else "?") + query,
                                           "ETag": etag})
    status = fields.get("success_action_status")
    if status == "201":
        doc = Element("PostResponse")  # no namespace, as AWS's (clients read it with plain find("Key"))
        xml.add(doc, "Location", location)
        xml.add(doc, "Bucket", req.bucket or "")
        xml.add(doc, "Key", key)
        xml.add(doc, "ETag", etag)
        return xml.xml_response(doc, 201, headers={"ETag": etag, "Location": location})
    if status == "200":
        return Response(b"", 200, headers={"ETag": etag, "Location": location})
    return Response(status_code=204, headers={"ETag": etag, "Location": location})
