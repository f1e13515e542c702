"""The access sysmeta a write stores: CreateBucket's ACL and ownership, an object's owner and ACL.

Called by the write handlers (CreateBucket; PutObject, CopyObject and CreateMultipartUpload, whose upload
marker carries it to CompleteMultipartUpload's object). Enforces, before anything is written: ownership
controls (``BucketOwnerEnforced``: only ACLs giving the bucket owner full control, else
AccessControlListNotSupported; ``BucketOwnerPreferred``: ``bucket-owner-full-control`` hands the object
to the bucket owner) and the public access block (``BlockPublicAcls``: a public ACL is AccessDenied).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from proxy.s3.acl.model import Acl, private, to_json
from proxy.s3.acl.request import from_headers
from proxy.s3.acl.stored import (
    BUCKET_ACL,
    OBJECT_ACL,
    OWNER_ENFORCED,
    OWNER_PREFERRED,
    OWNERSHIP,
    OWNERSHIP_VALUES,
    BucketAccess,
    bucket_access_from,
)
from proxy.s3.context import S3Request
from proxy.s3.errors import S3Error
from proxy.s3.owners import Owner, owner_of

OWNERSHIP_HEADER = "x-amz-object-ownership"


def acl_not_supported() -> S3Error:
    return S3Error("AccessControlListNotSupported", "The bucket does not allow ACLs", status=400)


def refuse_public(access: BucketAccess, acl: Acl | None) -> None:
    """AccessDenied for a public ACL on a bucket that blocks public ACLs."""
    if acl is not None and acl.public and access.block_public_acls:
        raise S3Error("AccessDenied")


def refuse_when_enforced(access: BucketAccess, acl: Acl | None) -> None:
    """AccessControlListNotSupported for an ACL granting anyone but the bucket owner, ACLs disabled."""
    if acl is not None and not access.acls_enabled and not all(
            g.kind == "CanonicalUser" and g.grantee == access.owner.id for g in acl.grants):
        raise acl_not_supported()


async def bucket_creation_sysmeta(req: S3Request, owner: Owner) -> dict[str, str]:
    """CreateBucket's ``x-amz-acl``/``x-amz-grant-*`` and ``x-amz-object-ownership`` as container sysmeta."""
    ownership = req.headers.get(OWNERSHIP_HEADER)
    if ownership is not None and ownership not in OWNERSHIP_VALUES:
        raise S3Error("InvalidArgument", "Invalid x-amz-object-ownership header", ArgumentName=OWNERSHIP_HEADER,
                      ArgumentValue=ownership)
    acl = await from_headers(req.state, req.headers, owner, None, for_bucket=True)
    if ownership == OWNER_ENFORCED and acl is not None and not acl.only_owner():
        raise S3Error("InvalidBucketAclWithObjectOwnership", "Bucket cannot have ACLs set with ObjectOwnership's "
                      "BucketOwnerEnforced setting", status=400)
    out = {}
    if acl is not None:
        out[BUCKET_ACL] = to_json(acl)
    if ownership is not None:
        out[OWNERSHIP] = ownership
    return out


async def object_write_sysmeta(req: S3Request, bucket_info: Mapping[str, Any]) -> dict[str, str]:
    """The ACL sysmeta of an object the request writes into the bucket of ``bucket_info`` ({} for the
    default: private, owned by the bucket's owner)."""
    bucket_owner: Owner | None = req.extras.get("bucket_owner")
    if bucket_owner is None:
        raise S3Error("AccessDenied")
    access = bucket_access_from(bucket_info, bucket_owner)
    writer = owner_of(req.identity, req.credential.email) or bucket_owner
    canned = (req.headers.get("x-amz-acl") or "").strip()
    if not access.acls_enabled or (access.ownership == OWNER_PREFERRED and canned == "bucket-owner-full-control"):
        writer = bucket_owner
    acl = await from_headers(req.state, req.headers, writer, bucket_owner, for_bucket=False)
    refuse_when_enforced(access, acl)
    refuse_public(access, acl)
    if acl is None:
        if writer.id == bucket_owner.id:
            return {}
        acl = private(writer)
    if acl.owner.id == bucket_owner.id and acl == private(bucket_owner):
        return {}
    return {OBJECT_ACL: to_json(acl)}


def carried_acl(stored: Mapping[str, str]) -> dict[str, str]:
    """The ACL sysmeta of an upload marker, for the object CompleteMultipartUpload writes."""
    for name, value in stored.items():
        if name.lower() == OBJECT_ACL.lower():
            return {OBJECT_ACL: value}
    return {}
