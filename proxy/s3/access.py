"""Authorization of S3 requests, once per request, from the actions of the resolved operation.

For each action of the operation (``s3:GetObject``, ``s3:PutObject``, ``s3:ListBucket``...), on its
target (the account, the bucket, the addressed object, any object of the bucket for DeleteObjects, the
copy source), in order:

1. the bucket policy (``proxy.s3.policy.policy_decision``): an explicit Deny → AccessDenied, even for the
   owner, except that the bucket owner's account may always Get/Put/DeleteBucketPolicy (AWS's lock-out
   guard);
2. allowed when the caller owns the resource (``proxy.auth.authorize.check_access``, shared with the
   Swift API: owners read and write their account, Keystone readers only read it; Swift container ACLs
   and account ACLs as there), or the bucket policy allows (a Keystone ``reader`` still never writes), or
   an S3 ACL grants it (``proxy.s3.acl.acl_allows``);
3. else AccessDenied.

The account checked is the one owning the target's bucket (``proxy.s3.namespace``), so another
account's bucket is authorized by its ACLs and policy, never answered as if it did not exist. Anonymous
requests (``identity.is_anonymous``) go through the same steps: only grants and policies reach them.
"""

from __future__ import annotations

from proxy.auth.authorize import check_access
from proxy.s3.acl import acl_allows
from proxy.s3.context import S3Request
from proxy.s3.copy import parse_copy_source
from proxy.s3.errors import S3Error
from proxy.s3.namespace import owner_account
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


async def target_account(req: S3Request, bucket: str | None) -> str:
    """The account an action's target lives in: the bucket's registered owner, else the caller's own."""
    if bucket is None:
        return req.credential.account
    if bucket == req.bucket:
        return req.account
    return await owner_account(req.state, bucket) or req.credential.account


async def authorize(req: S3Request, operation: Operation) -> None:
    """Raise AccessDenied unless the request's identity may perform every action of ``operation``."""
    for action in operation.actions:
        name = action.name_for(req.query)
        bucket, key = action_target(req, action)
        decision = await policy_decision(req, name, bucket, key) if bucket else "none"
        if decision == "deny" and not await _owner_manages_policy(req, name, bucket):
            raise S3Error("AccessDenied")
        if await owner_allows(req, bucket, key, swift_access(action), name):
            continue
        if decision == "allow" and not (req.identity.is_reader and action.writes):
            continue
        if await acl_allows(req, name, bucket, key):
            continue
        raise S3Error("AccessDenied")


async def _owner_manages_policy(req: S3Request, action_name: str, bucket: str | None) -> bool:
    """The bucket owner's account root may always read, replace and delete the bucket's policy."""
    identity = req.identity
    return (action_name in OWNER_POLICY_ACTIONS and bucket is not None and identity.is_admin
            and identity.account == await target_account(req, bucket))


# bucket-level reads a Swift container read ACL grants (AWS's bucket READ: listings); every other read of a
# bucket (its ACL, policy, CORS, lifecycle, encryption, tagging... configuration) is the owner's
LISTING_ACTIONS = frozenset({"s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads"})


async def owner_allows(req: S3Request, bucket: str | None, key: str | None, method: str,
                       action_name: str = "") -> bool:
    """The owner/reader/Swift-ACL decision of ``check_access`` on the target's account. A bucket's
    configuration is read only at account level (owners, readers, account ACLs), never through the
    container's read ACL, which grants listings."""
    account = await target_account(req, bucket)
    if not account:
        return False
    container = bucket
    if bucket is not None and key is None and method == READ and action_name not in LISTING_ACTIONS:
        container = None
    return await check_access(req.state, req.identity, account, container, key, method,
                              resellers=req.state.resellers) is None
