"""``acl_allows``: whether a bucket's or object's ACL grants an action to the caller.

Permissions as AWS maps them (S3 user guide, "Access control list (ACL) overview"): on a bucket READ
lists it (``s3:ListBucket``, ``s3:ListBucketVersions``, ``s3:ListBucketMultipartUploads``), WRITE
creates, overwrites and deletes any of its objects (``s3:PutObject``, ``s3:DeleteObject`` and the
multipart actions), READ_ACP / WRITE_ACP read and write its ACL; on an object READ reads it
(``s3:GetObject``), READ_ACP / WRITE_ACP its ACL; FULL_CONTROL is all of them. Other actions are never
granted by an ACL.

Who a grant reaches: ``AllUsers`` everyone, anonymous included; ``AuthenticatedUsers`` every signed
request; a canonical user the owner-level identities of that account (TempAuth ``.admin``, Keystone
``admin``/``member``) and, for reads only, its Keystone readers. A Keystone ``reader`` never writes,
whatever is granted. With ``BucketOwnerEnforced`` ACLs grant nothing; ``IgnorePublicAcls`` drops
the ``AllUsers``/``AuthenticatedUsers`` grants.
"""

from __future__ import annotations

from objclient.crypto.client import metadata_view
from proxy.context import Identity
from proxy.s3.acl.model import (
    ALL_USERS,
    AUTHENTICATED_USERS,
    FULL_CONTROL,
    GROUP,
    READ,
    READ_ACP,
    WRITE,
    WRITE_ACP,
    Acl,
)
from proxy.s3.acl.stored import BucketAccess, bucket_access, object_acl
from proxy.s3.context import S3Request
from proxy.s3.namespace import owner_account
from proxy.s3.owners import canonical_id
from stackstore import wire

BUCKET_PERMISSIONS = {
    "s3:ListBucket": READ,
    "s3:ListBucketVersions": READ,
    "s3:ListBucketMultipartUploads": READ,
    "s3:PutObject": WRITE,
    "s3:DeleteObject": WRITE,
    "s3:DeleteObjectVersion": WRITE,
    "s3:AbortMultipartUpload": WRITE,
    "s3:ListMultipartUploadParts": WRITE,
    "s3:GetBucketAcl": READ_ACP,
    "s3:PutBucketAcl": WRITE_ACP,
}
OBJECT_PERMISSIONS = {
    "s3:GetObject": READ,
    "s3:GetObjectVersion": READ,
    "s3:GetObjectTorrent": READ,
    "s3:GetObjectAcl": READ_ACP,
    "s3:GetObjectVersionAcl": READ_ACP,
    "s3:PutObjectAcl": WRITE_ACP,
    "s3:PutObjectVersionAcl": WRITE_ACP,
}
WRITES = (WRITE, WRITE_ACP)


def grantee_matches(identity: Identity, kind: str, grantee: str, permission: str) -> bool:
    """Whether a grant's grantee covers the caller for ``permission``."""
    if identity.is_reader and permission in WRITES:
        return False
    if kind == GROUP:
        return grantee == ALL_USERS or (grantee == AUTHENTICATED_USERS and not identity.is_anonymous)
    if identity.is_anonymous or not identity.account or grantee != canonical_id(identity.account):
        return False
    return identity.is_admin or (identity.is_reader and permission not in WRITES)


def grants(acl: Acl, identity: Identity, permission: str, ignore_public: bool) -> bool:
    """Whether ``acl`` grants ``permission`` (or FULL_CONTROL) to the caller."""
    for g in acl.grants:
        if g.permission not in (permission, FULL_CONTROL) or (ignore_public and g.public):
            continue
        if grantee_matches(identity, g.kind, g.grantee, permission):
            return True
    return False


async def _object_allows(req: S3Request, access: BucketAccess, account: str, bucket: str, key: str,
                         permission: str) -> bool:
    # an object's ACL is read without its SSE-C key, as S3 does, from its newest copy (X-Newest): a grant
    # revoked while a replica was down must not be honoured by that replica
    resp = await metadata_view(req.client).head_object(account, bucket, key, wire.READ_NEWEST)
    await resp.close()
    if resp.status == 404:  # a missing key: NoSuchKey to whoever may list the bucket, else AccessDenied
        return grants(access.acl, req.identity, READ, access.ignore_public_acls)
    if resp.status // 100 != 2:
        return False
    acl = object_acl(dict(resp.headers.items()), access)
    return grants(acl, req.identity, permission, access.ignore_public_acls)


async def acl_allows(req: S3Request, action_name: str, bucket: str | None, key: str | None) -> bool:
    """Whether the ACLs of ``bucket`` (and of object ``key`` for object actions) grant ``action_name``."""
    permission = OBJECT_PERMISSIONS.get(action_name) if key else None
    permission = permission or BUCKET_PERMISSIONS.get(action_name)
    if bucket is None or permission is None or (req.identity.is_reader and permission in WRITES):
        return False
    account = await owner_account(req.state, bucket) or req.credential.account
    access = await bucket_access(req.state, account, bucket)
    if access is None or not access.acls_enabled:
        return False
    if action_name in OBJECT_PERMISSIONS and key:
        return await _object_allows(req, access, account, bucket, key, permission)
    return grants(access.acl, req.identity, permission, access.ignore_public_acls)
