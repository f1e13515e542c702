"""Get/Put/DeleteBucketEncryption: a bucket's default encryption (SSE-S3 or SSE-KMS), kept in container sysmeta.

A bucket with the default set encrypts every new object written without SSE headers: with the cluster key
(``AES256``) or a key of the built-in KMS (``aws:kms``, its ``KMSMasterKeyID`` or the default key), see
``proxy.s3.sse.requested``. As AWS, a ``KMSMasterKeyID`` is not looked up here: a write with a key the KMS
does not have fails (400 ``KMS.NotFoundException``). With ``[proxy] encryption`` on, every bucket without
a default of its own reports the SSE-S3 default, as AWS buckets do since 2023.
"""

from __future__ import annotations

from starlette.responses import Response

from objclient.crypto import envelope
from proxy.s3 import sse, xml
from proxy.s3.bucket import require_bucket
from proxy.s3.context import S3Request
from proxy.s3.errors import S3Error, from_backend
from proxy.s3.upload import request_body


async def get_bucket_encryption(req: S3Request) -> Response:
    """The bucket's ``ServerSideEncryptionConfiguration``; 404 ServerSideEncryptionConfigurationNotFoundError."""
    info = await require_bucket(req)
    default = sse.bucket_default(info)
    if default is None and sse.client(req).encrypt_all:
        default = sse.BucketDefault(sse.ALGORITHM)
    if default is None:
        raise S3Error("ServerSideEncryptionConfigurationNotFoundError", BucketName=req.bucket)
    doc = xml.root("ServerSideEncryptionConfiguration")
    rule = xml.add(doc, "Rule")
    by_default = xml.add(rule, "ApplyServerSideEncryptionByDefault")
    xml.add(by_default, "SSEAlgorithm", default.algorithm)
    if default.kms_key_id:
        xml.add(by_default, "KMSMasterKeyID", default.kms_key_id)
    xml.add(rule, "BucketKeyEnabled", default.bucket_key)
    return xml.xml_response(doc)


def _parse(body: bytes) -> sse.BucketDefault:
    """The one rule's default; MalformedXML (or InvalidArgument, as AWS) for anything AWS would not accept."""
    doc = xml.parse(body, "ServerSideEncryptionConfiguration")
    rules = xml.children(doc, "Rule")
    if len(rules) != 1:
        raise S3Error("MalformedXML")
    defaults = xml.children(rules[0], "ApplyServerSideEncryptionByDefault")
    if len(defaults) != 1:
        raise S3Error("MalformedXML")
    algorithm = (xml.child_text(defaults[0], "SSEAlgorithm") or "").strip()
    if algorithm in sse.KMS and algorithm != envelope.SSE_KMS:
        raise S3Error("NotImplemented", "Dual-layer server-side encryption with AWS KMS keys (aws:kms:dsse) is "
                      "not available. Use aws:kms or AES256.")
    if algorithm not in (sse.ALGORITHM, envelope.SSE_KMS):
        raise S3Error("MalformedXML")
    key_id = xml.child_text(defaults[0], "KMSMasterKeyID")
    if key_id is not None and algorithm != envelope.SSE_KMS:
        raise S3Error("InvalidArgument", "a KMSMasterKeyID is not applicable if the default sse algorithm is "
                      "not aws:kms or aws:kms:dsse", ArgumentName="ApplyServerSideEncryptionByDefault")
    bucket_key = (xml.child_text(rules[0], "BucketKeyEnabled") or "false").strip().lower()
    if bucket_key not in ("true", "false"):
        raise S3Error("MalformedXML")
    return sse.BucketDefault(algorithm, (key_id or "").strip(), bucket_key == "true")


async def _set_default(req: S3Request, default: sse.BucketDefault | None) -> None:
    bucket = req.bucket or ""
    headers = {
        sse.BUCKET_DEFAULT: default.algorithm if default else "",
        sse.BUCKET_DEFAULT_KMS_KEY: default.kms_key_id if default else "",
        sse.BUCKET_DEFAULT_BUCKET_KEY: "true" if default and default.bucket_key else "",
    }
    resp = await req.client.post_container(req.account, bucket, headers)
    req.state.invalidate_info(req.account, bucket)
    if resp.status // 100 != 2:
        raise from_backend(resp.status, bucket)


async def put_bucket_encryption(req: S3Request) -> Response:
    """Set the bucket's default encryption (``AES256``, or ``aws:kms`` with an optional KMSMasterKeyID)."""
    await require_bucket(req)
    default = _parse(await xml.read_body(request_body(req)))
    await _set_default(req, default)
    return Response(b"", 200)


async def delete_bucket_encryption(req: S3Request) -> Response:
    """Remove the bucket's default encryption (existing objects stay as they are); 204."""
    await require_bucket(req)
    await _set_default(req, None)
    return Response(status_code=204)
