"""Authorization of S3 requests: each operation is asked as the Swift request it amounts to.

The decision itself is ``proxy.auth.authorize.check_access``, shared with the Swift API: owners
(TempAuth ``.admin``, Keystone ``admin``/``member``) read and write their account, readers (Keystone
``reader``) only read it, everyone else goes by the bucket's container ACLs. Reads are GET/HEAD
(listings, object GETs, ``?acl``/``?location``/``?versioning``/``?uploads``/``?uploadId`` GETs); every
other verb writes. DeleteObjects writes objects of the bucket (Swift ACLs are per container), and a
copy also reads its source.
"""

from __future__ import annotations

from proxy.auth.authorize import READ_METHODS, check_access
from proxy.s3.context import S3Request
from proxy.s3.copy import parse_copy_source
from proxy.s3.errors import S3Error

ANY_OBJECT = ""  # a write to some object of the bucket: what a container write ACL grants


async def authorize(req: S3Request) -> None:
    """Raise AccessDenied unless the request's identity may perform it."""
    if req.bucket is None and req.method not in READ_METHODS:
        return  # not an operation: the router answers MethodNotAllowed
    obj = req.key
    if req.key is None and req.method == "POST" and "delete" in req.query:
        obj = ANY_OBJECT
    await _require(req, req.bucket, obj, req.method)
    source = req.headers.get("x-amz-copy-source")
    if source and req.key is not None and req.method == "PUT":
        src_bucket, src_key = parse_copy_source(source)
        await _require(req, src_bucket, src_key, "GET")


async def _require(req: S3Request, bucket: str | None, key: str | None, method: str) -> None:
    conf = req.state.conf.get("tempauth", {}) if hasattr(req.state.conf, "get") else {}
    prefix = conf.get("reseller_prefix", "AUTH_")
    if await check_access(req.state, req.identity, req.account, bucket, key, method,
                          reseller_prefix=prefix) is not None:
        raise S3Error("AccessDenied")
