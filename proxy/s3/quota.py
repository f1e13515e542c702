"""S3 writes respect the Swift account and container quotas (proxy/quotas.py): never a way around them.

AWS has no such limit, so the answer is Ceph RGW's: 403 ``QuotaExceeded``. PutObject and CopyObject
count against the bucket's container quotas and the account's; UploadPart / UploadPartCopy against
the account's (parts live in the ``+segments`` container, whose quotas the bucket's do not govern,
as with Swift's s3api).
"""

from __future__ import annotations

from proxy.quotas import upload_refused
from proxy.s3.context import S3Request
from proxy.s3.errors import S3Error


async def check_quota(req: S3Request, container: str | None, size: int | None) -> None:
    """Raise ``QuotaExceeded`` when writing one object of ``size`` bytes (None: unknown, counted as 0
    as Swift counts a chunked upload) to ``container`` of the request's account goes past a quota."""
    refused = await upload_refused(req.state, req.identity, req.account, container, max(0, size or 0))
    if refused is not None:
        raise S3Error("QuotaExceeded", refused)


def written(req: S3Request, container: str) -> None:
    """Forget the cached usage of ``container`` and the account after a write, so the next check counts it."""
    req.state.invalidate_info(req.account, container)
