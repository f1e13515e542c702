"""Get/Put/DeleteBucketPolicy and GetBucketPolicyStatus."""

from __future__ import annotations

import ipaddress

from starlette.responses import Response

from proxy.s3 import xml
from proxy.s3.bucket import require_bucket
from proxy.s3.context import S3Request
from proxy.s3.errors import S3Error
from proxy.s3.policy import storage
from proxy.s3.policy.document import MAX_POLICY_BYTES, Condition, Policy, Statement, malformed, parse_policy
from proxy.s3.policy.principals import ANYONE
from proxy.s3.upload import request_body

# condition keys that, with fixed values, limit an Allow to known callers (AWS's "non-public" test)
_RESTRICTING_KEYS = {"aws:sourceip", "aws:sourcearn", "aws:sourcevpc", "aws:sourcevpce", "aws:sourceaccount",
                     "aws:sourceowner", "aws:principalaccount", "aws:principalarn", "aws:principalorgid",
                     "aws:userid", "s3:x-amz-server-side-encryption-aws-kms-key-id"}


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

    parse_policy(body, req.bucket or "", known_actions())
    await storage.save(req, req.account, req.bucket or "", body)
    return Response(status_code=204)


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


def _restricts(cond: Condition) -> bool:
    if cond.key not in _RESTRICTING_KEYS or cond.if_exists or cond.operator.startswith(("Not", "StringNot")):
        return False
    if any("*" in v or "?" in v for v in cond.values):
        return False
    if cond.operator == "IpAddress":
        return all(ipaddress.ip_network(v, strict=False).prefixlen >= 8 for v in cond.values)
    return True


def _public(stmt: Statement) -> bool:
    everyone = stmt.principals is not None and ANYONE in stmt.principals
    return stmt.effect == "Allow" and everyone and not any(_restricts(c) for c in stmt.conditions)


def is_public(policy: Policy) -> bool:
    """AWS's test: some Allow names everyone without a condition fixing who or where the caller is."""
    return any(_public(s) for s in policy.statements)


async def get_bucket_policy_status(req: S3Request) -> Response:
    """GetBucketPolicyStatus: ``IsPublic`` of the bucket's policy (NoSuchBucketPolicy without one)."""
    await require_bucket(req)
    policy = await storage.load_policy(req, req.account, req.bucket or "")
    if policy is None:
        raise S3Error("NoSuchBucketPolicy", BucketName=req.bucket)
    doc = xml.root("PolicyStatus")
    xml.add(doc, "IsPublic", "true" if is_public(policy) else "false")
    return xml.xml_response(doc)
