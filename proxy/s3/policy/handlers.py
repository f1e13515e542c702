"""Get/Put/DeleteBucketPolicy and GetBucketPolicyStatus."""

from __future__ import annotations

from starlette.responses import Response

from proxy.s3 import xml
from proxy.s3.bucket import require_bucket
from proxy.s3.context import S3Request
from proxy.s3.errors import S3Error
from proxy.s3.policy import storage
from proxy.s3.policy.document import MAX_POLICY_BYTES, malformed, parse_policy
from proxy.s3.policy.public import is_public
from proxy.s3.upload import request_body


async def _read_policy_body(req: S3Request) -> bytes:
    body = bytearray()
    async for chunk in request_body(req):
        body += chunk
        if len(body) > MAX_POLICY_BYTES:
            raise malformed("Policies must be no more than 20 KB")
    return bytes(body)


async def put_bucket_policy(req: S3Request) -> Response:
    """PutBucketPolicy: validate the JSON policy for this bucket and store it (204)."""
    await require_bucket(req)
    body = await _read_policy_body(req)
    from proxy.s3.policy.actions import known_actions  # it reads the operation table, which imports us

    policy = parse_policy(body, req.bucket or "", known_actions())
    if is_public(policy) and await _blocks_public_policies(req):
        raise S3Error("AccessDenied", "Access Denied: the bucket's public access block (BlockPublicPolicy) "
                      "refuses a public policy")
    await storage.save(req, req.account, req.bucket or "", body)
    return Response(status_code=204)


async def _blocks_public_policies(req: S3Request) -> bool:
    from proxy.s3.acl.stored import bucket_access  # the ACL package reads policies' neighbours too

    access = await bucket_access(req.state, req.account, req.bucket or "")
    pab = access.public_access_block if access is not None else None
    return bool(pab and pab.block_public_policy)


async def get_bucket_policy(req: S3Request) -> Response:
    """GetBucketPolicy: the policy as it was put (NoSuchBucketPolicy when there is none)."""
    await require_bucket(req)
    text = await storage.load_text(req, req.account, req.bucket or "")
    if text is None:
        raise S3Error("NoSuchBucketPolicy", BucketName=req.bucket)
    return Response(text, 200, media_type="application/json")


async def delete_bucket_policy(req: S3Request) -> Response:
    """DeleteBucketPolicy: remove the policy (204, also when there was none)."""
    await require_bucket(req)
    await storage.save(req, req.account, req.bucket or "", None)
    return Response(status_code=204)


async def get_bucket_policy_status(req: S3Request) -> Response:
    """GetBucketPolicyStatus: ``IsPublic`` of the bucket's policy (NoSuchBucketPolicy without one)."""
    await require_bucket(req)
    policy = await storage.load_policy(req, req.account, req.bucket or "")
    if policy is None:
        raise S3Error("NoSuchBucketPolicy", BucketName=req.bucket)
    doc = xml.root("PolicyStatus")
    xml.add(doc, "IsPublic", "true" if is_public(policy) else "false")
    return xml.xml_response(doc)
