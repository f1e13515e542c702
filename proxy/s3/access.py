"""Authorization of S3 requests, once per request, from the actions of the resolved operation.

Each action (``s3:GetObject``, ``s3:PutObject``, ``s3:ListBucket``...) is asked as the Swift access it
amounts to: ``s3:Get…``/``s3:List…`` read, everything else writes, on the action's target (the account,
the bucket, the addressed object, any object of the bucket for DeleteObjects, the copy source). The
decision itself is ``proxy.auth.authorize.check_access``, shared with the Swift API: owners (TempAuth
``.admin``, Keystone ``admin``/``member``) read and write their account, readers (Keystone ``reader``)
only read it, everyone else goes by the bucket's container ACLs (bucket-level writes stay the owner's).
Bucket ACLs and policies will plug in here, by action name.
"""

from __future__ import annotations

from proxy.auth.authorize import check_access
from proxy.auth.resellers import resellers_of
from proxy.s3.context import S3Request
from proxy.s3.copy import parse_copy_source
from proxy.s3.errors import S3Error
from proxy.s3.operations import COPY_SOURCE_HEADER, Action, Operation, Target

ANY_OBJECT = ""  # a write to some object of the bucket: what a container write ACL grants
READ, WRITE = "GET", "PUT"  # the Swift verbs check_access is asked with


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
        bucket, key = action_target(req, action)
        await _require(req, bucket, key, swift_access(action))


async def _require(req: S3Request, bucket: str | None, key: str | None, method: str) -> None:
    if await check_access(req.state, req.identity, req.account, bucket, key, method,
                          resellers=resellers_of(req.state.conf)) is not None:
        raise S3Error("AccessDenied")
