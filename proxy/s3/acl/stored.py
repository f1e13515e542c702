"""Where S3 access settings live: container sysmeta for buckets, object sysmeta for objects.

Bucket: ``X-Container-Sysmeta-S3-Acl`` (the ACL), ``-S3-Ownership`` (ownership controls), ``-S3-Pab``
(public access block). Object: ``X-Object-Sysmeta-S3-Acl``. An absent ACL is ``private`` owned by the
bucket's owner (so plain PutObjects by the owner store nothing extra); absent ownership controls or public
access block mean none is configured (ObjectWriter, nothing blocked), as for S3 buckets made before
AWS changed its defaults in 2023 and as Ceph RGW keeps them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from proxy.context import ProxyState
from proxy.s3.acl.model import Acl, from_json, private
from proxy.s3.namespace import lookup
from proxy.s3.owners import Owner, account_owner

BUCKET_ACL = "X-Container-Sysmeta-S3-Acl"
OWNERSHIP = "X-Container-Sysmeta-S3-Ownership"
PUBLIC_ACCESS_BLOCK = "X-Container-Sysmeta-S3-Pab"
OBJECT_ACL = "X-Object-Sysmeta-S3-Acl"

OBJECT_WRITER, OWNER_PREFERRED, OWNER_ENFORCED = "ObjectWriter", "BucketOwnerPreferred", "BucketOwnerEnforced"
OWNERSHIP_VALUES = (OBJECT_WRITER, OWNER_PREFERRED, OWNER_ENFORCED)
PAB_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


@dataclass(frozen=True)
class PublicAccessBlock:
    """A bucket's public access block (all False: none configured)."""

    block_public_acls: bool = False
    ignore_public_acls: bool = False
    block_public_policy: bool = False
    restrict_public_buckets: bool = False

    def flags(self) -> tuple[bool, bool, bool, bool]:
        return (self.block_public_acls, self.ignore_public_acls, self.block_public_policy,
                self.restrict_public_buckets)


@dataclass(frozen=True)
class BucketAccess:
    """What the authorization of one bucket reads: owner, ACL, ownership controls, public access block."""

    owner: Owner
    acl: Acl
    ownership: str | None  # None: not configured
    public_access_block: PublicAccessBlock | None  # None: not configured

    @property
    def acls_enabled(self) -> bool:
        return self.ownership != OWNER_ENFORCED

    @property
    def ignore_public_acls(self) -> bool:
        return bool(self.public_access_block and self.public_access_block.ignore_public_acls)

    @property
    def block_public_acls(self) -> bool:
        return bool(self.public_access_block and self.public_access_block.block_public_acls)


def pab_to_json(pab: PublicAccessBlock) -> str:
    return json.dumps(dict(zip(PAB_FLAGS, pab.flags(), strict=True)), separators=(",", ":"))


def pab_from_json(text: str | None) -> PublicAccessBlock | None:
    if not text:
        return None
    try:
        data = json.loads(text)
        return PublicAccessBlock(*(bool(data.get(flag, False)) for flag in PAB_FLAGS))
    except (ValueError, AttributeError):
        return None


async def bucket_owner(state: ProxyState, bucket: str, account: str) -> Owner:
    """The registered owner of ``bucket`` (else the owner of ``account``, where it lives)."""
    reg = await lookup(state, bucket)
    if reg is not None and reg.owner is not None and reg.owner.account == account:
        return reg.owner
    return account_owner(state, account)


def bucket_access_from(info: Mapping[str, Any], owner: Owner) -> BucketAccess:
    """The access settings in a bucket's container info (``state.container_info``)."""
    sysmeta = info.get("sysmeta", {})
    acl = from_json(sysmeta.get("s3-acl")) or private(owner)
    ownership = sysmeta.get("s3-ownership") or None
    return BucketAccess(owner, acl, ownership if ownership in OWNERSHIP_VALUES else None,
                        pab_from_json(sysmeta.get("s3-pab")))


async def bucket_access(state: ProxyState, account: str, bucket: str) -> BucketAccess | None:
    """The access settings of ``bucket`` in ``account`` (None when it does not exist)."""
    info = await state.container_info(account, bucket)
    if not 200 <= info.get("status", 404) < 300:
        return None
    return bucket_access_from(info, await bucket_owner(state, bucket, account))


def object_acl(headers: Mapping[str, str], bucket: BucketAccess) -> Acl:
    """An object's ACL from its stored headers (absent: private, owned by the bucket's owner)."""
    for name, value in headers.items():
        if name.lower() == OBJECT_ACL.lower():
            acl = from_json(value)
            if acl is not None:
                return acl
    return private(bucket.owner)
