"""Authorization of S3 requests, once per request, from the actions of the resolved operation.

Each action (``s3:GetObject``, ``s3:PutObject``, ``s3:ListBucket``...) is asked as the Swift access it
amounts to: ``s3:Get…``/``s3:List…`` read, everything else writes, on the action's target (the account,
the bucket, the addressed object, any object of the bucket for DeleteObjects, the copy source). The
decision itself is ``proxy.auth.authorize.check_access``, shared with the Swift API: owners (TempAuth
``.admin``, Keystone ``admin``/``member``) read and write their account, readers (Keystone ``reader``)
only read it, everyone else goes by the bucket's container ACLs (bucket-level writes stay the owner's).

Bucket policies come first, by action name (``proxy.s3.policy.policy_decision``): an explicit Deny
refuses, even the owner (except that the bucket owner's account may always Get/Put/DeleteBucketPolicy,
as in AWS); an Allow admits a caller the owner/ACL check would refuse (a Keystone ``reader`` still never
writes). ACL grants (``acl_allows``) will join the allow step.
"""

from __future__ import annotations

from proxy.auth.authorize import check_access
from proxy.s3.context import S3Request
from proxy.s3.copy import parse_copy_source
from proxy.s3.errors import S3Error
from proxy.s3.operations import COPY_SOURCE_HEADER, Action, Operation, Target
from proxy.s3.policy import policy_decision

ANY_OBJECT = ""  # a write to some object of the bucket: what a container write ACL grants
READ, WRITE = "GET", "PUT"  # the Swift verbs check_access is asked with
# what the bucket owner's account may always do, whatever its bucket policy denies (AWS's lock-out guard)
OWNER_POLICY_ACTIONS = frozenset({"s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"})


def swift_access(action: Action) -> str:
    """The Swift verb an action amounts to: GET for reads, PUT for writes."""
    return WRITE if action.writes else READ


def action_target(req: S3Request, action: Action) -> tuple[str | None, str | None]:
    """``(bucket, key)`` the action is checked on (key None: the bucket; both None: the account)."""
    if action.target is Target.ACCOUNT:
        return None, None
    if action.target is Target.BUCKET:
        return req.bucket, None
    if action.target is Target.EACH_KEY:
        return req.bucket, ANY_OBJECT  # Swift ACLs are per container: one check covers every key
    if action.target is Target.COPY_SOURCE:
        return parse_copy_source(req.headers.get(COPY_SOURCE_HEADER, ""))
    return req.bucket, req.key


async def authorize(req: S3Request, operation: Operation) -> None:
    """Raise AccessDenied unless the request's identity may perform every action of ``operation``."""
    for action in operation.actions:
        name = action.name_for(req.query)
        bucket, key = action_target(req, action)
        decision = await policy_decision(req, name, bucket, key) if bucket else "none"
        if decision == "deny" and not await _owner_manages_policy(req, name, bucket):
            raise S3Error("AccessDenied")
        if decision == "allow" and not (req.identity.is_reader and action.writes):
            continue
        await _require(req, bucket, key, swift_access(action))


async def target_account(req: S3Request, bucket: str | None) -> str:
    """The account an action's target lives in (today the caller's: bucket names are per account)."""
    return req.account


async def _owner_manages_policy(req: S3Request, action_name: str, bucket: str | None) -> bool:
    """The bucket owner's account root may always read, replace and delete the bucket's policy."""
    identity = req.identity
    return (action_name in OWNER_POLICY_ACTIONS and bucket is not None and identity.is_admin
            and identity.account == await target_account(req, bucket))


async def _require(req: S3Request, bucket: str | None, key: str | None, method: str) -> None:
    conf = req.state.conf.get("tempauth", {}) if hasattr(req.state.conf, "get") else {}
    prefix = conf.get("reseller_prefix", "AUTH_")
    if await check_access(req.state, req.identity, req.account, bucket, key, method,
                          reseller_prefix=prefix) is not None:
        raise S3Error("AccessDenied")
