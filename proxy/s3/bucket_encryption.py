"""Get/Put/DeleteBucketEncryption: a bucket's default encryption (SSE-S3), kept in container sysmeta.

A bucket with the default set encrypts every new object written without SSE headers with the cluster
key (``proxy.s3.sse.requested``). ``aws:kms`` answers ``NotImplemented`` (no KMS is configured). With
``[proxy] encryption`` on, every bucket reports the SSE-S3 default, as AWS buckets do since 2023.
"""

from __future__ import annotations

from starlette.responses import Response

from proxy.s3 import sse, xml
from proxy.s3.bucket import require_bucket
from proxy.s3.context import S3Request
from proxy.s3.errors import S3Error, from_backend
from proxy.s3.upload import request_body


async def get_bucket_encryption(req: S3Request) -> Response:
    """The bucket's ``ServerSideEncryptionConfiguration``; 404 ServerSideEncryptionConfigurationNotFoundError."""
    info = await require_bucket(req)
    if not sse.bucket_default(info) and not sse.client(req).encrypt_all:
        raise S3Error("ServerSideEncryptionConfigurationNotFoundError", BucketName=req.bucket)
    doc = xml.root("ServerSideEncryptionConfiguration")
    rule = xml.add(doc, "Rule")
    xml.add(xml.add(rule, "ApplyServerSideEncryptionByDefault"), "SSEAlgorithm", sse.ALGORITHM)
    xml.add(rule, "BucketKeyEnabled", False)
    return xml.xml_response(doc)


def _parse(body: bytes) -> str:
    """The one rule's SSEAlgorithm; MalformedXML for anything AWS would not accept."""
    doc = xml.parse(body, "ServerSideEncryptionConfiguration")
    rules = xml.children(doc, "Rule")
    if len(rules) != 1:
        raise S3Error("MalformedXML")
    defaults = xml.children(rules[0], "ApplyServerSideEncryptionByDefault")
    if len(defaults) != 1:
        raise S3Error("MalformedXML")
    algorithm = (xml.child_text(defaults[0], "SSEAlgorithm") or "").strip()
    if algorithm in sse.KMS:
        raise S3Error("NotImplemented", "Server-side encryption with AWS KMS keys (aws:kms) is not available: "
                      "no KMS is configured. Use AES256.")
    if algorithm != sse.ALGORITHM:
        raise S3Error("MalformedXML")
    if xml.child_text(defaults[0], "KMSMasterKeyID") is not None:
        raise S3Error("InvalidArgument", "a KMSMasterKeyID is only allowed with aws:kms",
                      ArgumentName="KMSMasterKeyID")
    return algorithm


async def _set_default(req: S3Request, value: str) -> None:
    bucket = req.bucket or ""
    resp = await req.client.post_container(req.account, bucket, {sse.BUCKET_DEFAULT: value})
    req.state.invalidate_info(req.account, bucket)
    if resp.status // 100 != 2:
        raise from_backend(resp.status, bucket)


async def put_bucket_encryption(req: S3Request) -> Response:
    """Set the bucket's default encryption (``AES256``)."""
    await require_bucket(req)
    algorithm = _parse(await xml.read_body(request_body(req)))
    await _set_default(req, algorithm)
    return Response(b"", 200)


async def delete_bucket_encryption(req: S3Request) -> Response:
    """Remove the bucket's default encryption (existing objects stay as they are); 204."""
    await require_bucket(req)
    await _set_default(req, "")
    return Response(status_code=204)
