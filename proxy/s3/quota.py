"""S3 writes respect the Swift account and container quotas (proxy/quotas.py): never a way around them.

AWS has no such limit, so the answer is Ceph RGW's: 403 ``QuotaExceeded``. PutObject and CopyObject
count against the bucket's container quotas and the account's; UploadPart / UploadPartCopy against
the account's (parts live in the ``+segments`` container, whose quotas the bucket's do not govern,
as with Swift's s3api).
"""

from __future__ import annotations

from proxy.quotas import account_has_quota, container_has_quota, upload_refused
from proxy.s3.context import S3Request
from proxy.s3.errors import S3Error


async def check_quota(req: S3Request, container: str | None, size: int | None) -> None:
    """Raise ``QuotaExceeded`` when writing one object of ``size`` bytes (None: unknown, counted as 0
    as Swift counts a chunked upload) to ``container`` of the request's account goes past a quota."""
    # whether any quota counts this write (``written`` needs to know too); without one nothing can be exceeded
    counted = account_has_quota(await req.state.account_info(req.account))
    if container is not None:
        counted = counted or container_has_quota(await req.state.container_info(req.account, container))
    req.extras[_QUOTA_COUNTED] = counted
    if not counted:
        return
    refused = await upload_refused(req.state, req.identity, req.account, container, max(0, size or 0))
    if refused is not None:
        raise S3Error("QuotaExceeded", refused)


_QUOTA_COUNTED = "quota_counted"


def written(req: S3Request, container: str) -> None:
    """After a write: forget the cached usage of ``container`` and the account where a quota counts it,
    so the next check sees it (without a quota the cache stays: refetching both infos after every write
    cost small PUTs a HEAD of the account and of the container each)."""
    if req.extras.get(_QUOTA_COUNTED, True):
        req.state.invalidate_info(req.account, container)
