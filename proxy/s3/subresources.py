"""Handlers of bucket and object sub-resources: minimal ACLs, "none configured" answers (tagging: ``proxy.s3.tagging``).

Clients such as Cyberduck probe ``?versioning``, ``?acl``, ``?ownershipControls``, ``?lifecycle``,
``?logging`` before uploading: each gets a valid minimal document or a ``NoSuch…`` 404 (never a 500).
Which sub-resource names which operation, and which operations are not implemented (501), is the
operation table's business (``proxy.s3.operations``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.responses import Response

from proxy.crypto.client import metadata_view
from proxy.s3 import xml
from proxy.s3.bucket import require_bucket
from proxy.s3.context import S3Request
from proxy.s3.errors import S3Error, from_backend
from proxy.s3.upload import request_body

Handler = Callable[[S3Request], Awaitable[Response]]

XSI = "http://www.w3.org/2001/XMLSchema-instance"


def acl_document(req: S3Request) -> Response:
    """The caller as owner with FULL_CONTROL: the ACL every bucket and object has."""
    doc = xml.root("AccessControlPolicy")
    owner = xml.add(doc, "Owner")
    xml.add(owner, "ID", req.credential.user)
    xml.add(owner, "DisplayName", req.credential.user)
    grant = xml.add(xml.add(doc, "AccessControlList"), "Grant")
    grantee = xml.add(grant, "Grantee")
    grantee.set("xmlns:xsi", XSI)
    grantee.set("xsi:type", "CanonicalUser")
    xml.add(grantee, "ID", req.credential.user)
    xml.add(grantee, "DisplayName", req.credential.user)
    xml.add(grant, "Permission", "FULL_CONTROL")
    return xml.xml_response(doc)


async def _put_acl(req: S3Request) -> Response:
    canned = (req.headers.get("x-amz-acl") or "private").lower()
    await xml.read_body(request_body(req))
    if canned != "private" or any(h.startswith("x-amz-grant-") for h in req.headers):
        raise S3Error("NotImplemented", "Only the canned private ACL is supported")
    return Response(b"", 200)


async def get_bucket_acl(req: S3Request) -> Response:
    """GetBucketAcl: the owner with FULL_CONTROL (the only ACL there is)."""
    await require_bucket(req)
    return acl_document(req)


async def put_bucket_acl(req: S3Request) -> Response:
    """PutBucketAcl: the canned ``private`` ACL is accepted, anything else is NotImplemented."""
    await require_bucket(req)
    return await _put_acl(req)


def empty_document(root: str, **children: str) -> Handler:
    """A handler answering the bucket's configuration as an empty ``<root>`` document (with ``children``)."""

    async def handler(req: S3Request) -> Response:
        await require_bucket(req)
        doc = xml.root(root)
        for name, text in children.items():
            xml.add(doc, name, text)
        return xml.xml_response(doc)

    return handler


def none_configured(code: str) -> Handler:
    """A handler answering that the bucket has no such configuration (the ``code`` 404)."""

    async def handler(req: S3Request) -> Response:
        await require_bucket(req)
        raise S3Error(code, BucketName=req.bucket)

    return handler


async def nothing_to_delete(req: S3Request) -> Response:
    """Delete of a configuration that is never set: 204, as for a deleted one."""
    await require_bucket(req)
    return Response(status_code=204)


async def _object_headers(req: S3Request) -> dict[str, str]:
    # tags and ACLs of an SSE-C object are read and set without its key (as S3 does)
    resp = await metadata_view(req.client).head_object(req.account, req.bucket or "", req.key or "")
    if resp.status == 404:
        raise S3Error("NoSuchKey", Key=req.key)
    if resp.status // 100 != 2:
        raise from_backend(resp.status, req.bucket, req.key)
    return dict(resp.headers.items())


async def get_object_acl(req: S3Request) -> Response:
    """GetObjectAcl: the owner with FULL_CONTROL, for an existing object."""
    await require_bucket(req)
    await _object_headers(req)
    return acl_document(req)


async def put_object_acl(req: S3Request) -> Response:
    """PutObjectAcl: the canned ``private`` ACL is accepted on an existing object."""
    await require_bucket(req)
    await _object_headers(req)
    return await _put_acl(req)


async def no_object_lock(req: S3Request) -> Response:
    """GetObjectRetention / GetObjectLegalHold: objects carry no Object Lock configuration."""
    await require_bucket(req)
    raise S3Error("NoSuchObjectLockConfiguration", "The specified object does not have a ObjectLock "
                  "configuration", status=404)
