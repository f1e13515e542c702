"""Handlers: Get/PutBucketAcl, Get/PutObjectAcl, Get/Put/DeleteBucketOwnershipControls,
Get/Put/DeletePublicAccessBlock."""

from __future__ import annotations

from starlette.responses import Response

from proxy.s3 import xml
from proxy.s3.acl.model import Acl, document, to_json
from proxy.s3.acl.request import GRANT_HEADERS, from_document, from_headers
from proxy.s3.acl.stored import (
    BUCKET_ACL,
    OBJECT_ACL,
    OWNER_ENFORCED,
    OWNERSHIP,
    OWNERSHIP_VALUES,
    PAB_FLAGS,
    PUBLIC_ACCESS_BLOCK,
    BucketAccess,
    PublicAccessBlock,
    bucket_access_from,
    object_acl,
    pab_to_json,
)
from proxy.s3.acl.writes import refuse_public, refuse_when_enforced
from proxy.s3.bucket import require_bucket
from proxy.s3.context import S3Request
from proxy.s3.errors import S3Error, from_backend
from proxy.s3.owners import Owner
from proxy.s3.upload import request_body
from proxy.s3.version_target import kept_on_post, stored_version


async def _bucket(req: S3Request) -> BucketAccess:
    info = await require_bucket(req)
    return bucket_access_from(info, req.extras["bucket_owner"])


async def _set_bucket_sysmeta(req: S3Request, headers: dict[str, str]) -> None:
    resp = await req.client.post_container(req.account, req.bucket or "", headers)
    req.state.invalidate_info(req.account, req.bucket or "")
    if resp.status // 100 != 2:
        raise from_backend(resp.status, req.bucket)


async def _requested_acl(req: S3Request, owner: Owner, bucket: BucketAccess, for_bucket: bool) -> Acl:
    """The ACL a PutBucketAcl/PutObjectAcl asks for: headers or an XML body (not both); ``owner`` is the
    resource's owner, kept in the new ACL."""
    body = await xml.read_body(request_body(req))
    by_header = "x-amz-acl" in req.headers or any(h in req.headers for h in GRANT_HEADERS)
    if by_header and body.strip():
        raise S3Error("UnexpectedContent", "This request does not support content", status=400)
    if by_header:
        acl = await from_headers(req.state, req.headers, owner, bucket.owner, for_bucket)
        assert acl is not None
        return acl
    if not body.strip():
        raise S3Error("MissingSecurityHeader", "Your request was missing a required header",
                      MissingHeaderName="x-amz-acl")
    return await from_document(req.state, body, owner)


async def get_bucket_acl(req: S3Request) -> Response:
    """GetBucketAcl: the stored ACL (default: the owner with FULL_CONTROL)."""
    access = await _bucket(req)
    return xml.xml_response(document(access.acl))


async def put_bucket_acl(req: S3Request) -> Response:
    """PutBucketAcl: canned, grant headers or an AccessControlPolicy document."""
    access = await _bucket(req)
    acl = await _requested_acl(req, access.owner, access, for_bucket=True)
    if not access.acls_enabled and not acl.only_owner():
        raise S3Error("AccessControlListNotSupported", "The bucket does not allow ACLs", status=400)
    refuse_public(access, acl)
    await _set_bucket_sysmeta(req, {BUCKET_ACL: to_json(acl)})
    return Response(b"", 200)


async def get_object_acl(req: S3Request) -> Response:
    """GetObjectAcl: the version's stored ACL (default: the bucket owner with FULL_CONTROL); an object's ACL
    is read without its SSE-C key, as S3 does."""
    access = await _bucket(req)
    stored = await stored_version(req)
    out = xml.xml_response(document(object_acl(stored.headers, access)))
    if stored.version_id:
        out.headers["x-amz-version-id"] = stored.version_id
    return out


async def put_object_acl(req: S3Request) -> Response:
    """PutObjectAcl: replace an existing version's ACL (its owner stays)."""
    access = await _bucket(req)
    stored = await stored_version(req)
    current = object_acl(stored.headers, access)
    acl = await _requested_acl(req, current.owner, access, for_bucket=False)
    refuse_when_enforced(access, acl)
    refuse_public(access, acl)
    headers = kept_on_post(stored.headers)
    headers[OBJECT_ACL] = to_json(acl)
    resp = await req.client.post_object(req.account, stored.container, stored.name, headers, keep_listing_row=True)
    if resp.status // 100 != 2:
        raise from_backend(resp.status, req.bucket, req.key)
    return Response(b"", 200, headers={"x-amz-version-id": stored.version_id} if stored.version_id else None)


# -- ownership controls ----------------------------------------------------------------------------
async def get_ownership_controls(req: S3Request) -> Response:
    access = await _bucket(req)
    if access.ownership is None:
        raise S3Error("OwnershipControlsNotFoundError", BucketName=req.bucket)
    doc = xml.root("OwnershipControls")
    xml.add(xml.add(doc, "Rule"), "ObjectOwnership", access.ownership)
    return xml.xml_response(doc)


async def put_ownership_controls(req: S3Request) -> Response:
    access = await _bucket(req)
    doc = xml.parse(await xml.read_body(request_body(req)), "OwnershipControls")
    rules = xml.children(doc, "Rule")
    if len(rules) != 1:
        raise S3Error("MalformedXML")
    value = (xml.child_text(rules[0], "ObjectOwnership") or "").strip()
    if value not in OWNERSHIP_VALUES:
        raise S3Error("MalformedXML")
    if value == OWNER_ENFORCED and not access.acl.only_owner():
        raise S3Error("InvalidBucketAclWithObjectOwnership", "Bucket cannot have ACLs set with "
                      "ObjectOwnership's BucketOwnerEnforced setting", status=400)
    await _set_bucket_sysmeta(req, {OWNERSHIP: value})
    return Response(b"", 200)


async def delete_ownership_controls(req: S3Request) -> Response:
    await _bucket(req)
    await _set_bucket_sysmeta(req, {OWNERSHIP: ""})
    return Response(status_code=204)


# -- public access block ---------------------------------------------------------------------------
async def get_public_access_block(req: S3Request) -> Response:
    access = await _bucket(req)
    if access.public_access_block is None:
        raise S3Error("NoSuchPublicAccessBlockConfiguration", BucketName=req.bucket)
    doc = xml.root("PublicAccessBlockConfiguration")
    for flag, value in zip(PAB_FLAGS, access.public_access_block.flags(), strict=True):
        xml.add(doc, flag, value)
    return xml.xml_response(doc)


def _flag(text: str | None) -> bool:
    if text is None:
        return False
    value = text.strip().lower()
    if value not in ("true", "false"):
        raise S3Error("MalformedXML")
    return value == "true"


async def put_public_access_block(req: S3Request) -> Response:
    await _bucket(req)
    doc = xml.parse(await xml.read_body(request_body(req)), "PublicAccessBlockConfiguration")
    pab = PublicAccessBlock(*(_flag(xml.child_text(doc, flag)) for flag in PAB_FLAGS))
    await _set_bucket_sysmeta(req, {PUBLIC_ACCESS_BLOCK: pab_to_json(pab)})
    return Response(b"", 200)


async def delete_public_access_block(req: S3Request) -> Response:
    await _bucket(req)
    await _set_bucket_sysmeta(req, {PUBLIC_ACCESS_BLOCK: ""})
    return Response(status_code=204)

