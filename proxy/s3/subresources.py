"""Bucket and object sub-resources: minimal ACLs and tagging, graceful answers for everything else.

Clients such as Cyberduck probe ``?versioning``, ``?acl``, ``?ownershipControls``, ``?lifecycle``,
``?logging`` before uploading: each gets a valid minimal document, a ``NoSuch…`` 404 or
NotImplemented 501 (never a 500).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from starlette.responses import Response

from proxy.s3 import headers as s3h
from proxy.s3 import xml
from proxy.s3.bucket import require_bucket
from proxy.s3.context import S3Request
from proxy.s3.errors import S3Error, from_backend
from proxy.s3.upload import request_body

XSI = "http://www.w3.org/2001/XMLSchema-instance"
# GET answer: a root element name (empty document) or an error code
BUCKET_GET: dict[str, str] = {
    "versioning": "VersioningConfiguration",
    "logging": "BucketLoggingStatus",
    "notification": "NotificationConfiguration",
    "accelerate": "AccelerateConfiguration",
    "requestPayment": "RequestPaymentConfiguration",
    "lifecycle": "NoSuchLifecycleConfiguration",
    "ownershipControls": "OwnershipControlsNotFoundError",
    "cors": "NoSuchCORSConfiguration",
    "policy": "NoSuchBucketPolicy",
    "policyStatus": "NoSuchBucketPolicy",
    "tagging": "NoSuchTagSet",
    "website": "NoSuchWebsiteConfiguration",
    "encryption": "ServerSideEncryptionConfigurationNotFoundError",
    "object-lock": "ObjectLockConfigurationNotFoundError",
    "publicAccessBlock": "NoSuchPublicAccessBlockConfiguration",
    "replication": "ReplicationConfigurationNotFoundError",
    "acl": "",
    "analytics": "NotImplemented",
    "metrics": "NotImplemented",
    "inventory": "NotImplemented",
    "intelligent-tiering": "NotImplemented",
}
OBJECT_SUBRESOURCES = ("acl", "tagging", "retention", "legal-hold", "restore", "attributes", "torrent",
                       "select")


def bucket_subresource(query: dict[str, str]) -> str | None:
    for name in BUCKET_GET:
        if name in query:
            return name
    return None


def object_subresource(query: dict[str, str]) -> str | None:
    for name in OBJECT_SUBRESOURCES:
        if name in query:
            return name
    return None


def acl_document(req: S3Request) -> Response:
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


async def handle_bucket(req: S3Request, sub: str) -> Response:
    await require_bucket(req)
    method = req.method
    if sub == "acl":
        if method in ("GET", "HEAD"):
            return acl_document(req)
        if method == "PUT":
            return await _put_acl(req)
    answer = BUCKET_GET[sub]
    if method in ("GET", "HEAD"):
        if answer and answer[0].isupper() and not answer.startswith(("No", "NotImpl")) \
                and not answer.endswith("Error"):
            doc = xml.root(answer)
            if sub == "requestPayment":
                xml.add(doc, "Payer", "BucketOwner")
            return xml.xml_response(doc)
        raise S3Error(answer, BucketName=req.bucket)
    if method == "DELETE" and answer.startswith(("No", "ServerSide", "Ownership", "ObjectLock", "Replication")):
        return Response(status_code=204)
    raise S3Error("NotImplemented", f"The {sub} sub-resource cannot be changed here")


def _parse_tagging(body: bytes) -> list[tuple[str, str]]:
    doc = xml.parse(body, "Tagging")
    tagset = xml.children(doc, "TagSet")
    if len(tagset) != 1:
        raise S3Error("MalformedXML")
    tags = []
    for tag in xml.children(tagset[0], "Tag"):
        key, value = xml.child_text(tag, "Key"), xml.child_text(tag, "Value")
        if key is None or value is None:
            raise S3Error("MalformedXML")
        if len(key) > 128 or len(value) > 256:
            raise S3Error("InvalidTag", "The TagKey or TagValue you have provided is too long", status=400)
        tags.append((key, value))
    if len(tags) > 10:
        raise S3Error("BadRequest", "Object tags cannot be greater than 10", status=400)
    if len({k for k, _ in tags}) != len(tags):
        raise S3Error("InvalidTag", "Cannot provide multiple Tags with the same key", status=400)
    return tags


async def _object_headers(req: S3Request) -> dict[str, str]:
    resp = await req.client.head_object(req.account, req.bucket or "", req.key or "")
    if resp.status == 404:
        raise S3Error("NoSuchKey", Key=req.key)
    if resp.status // 100 != 2:
        raise from_backend(resp.status, req.bucket, req.key)
    return dict(resp.headers.items())


async def _set_tagging(req: S3Request, stored: dict[str, str], value: str) -> None:
    """POST the object's metadata back unchanged, with the tag set in sysmeta (empty removes it)."""
    headers = {k: v for k, v in stored.items() if k.lower().startswith("x-object-meta-")}
    ctype = s3h._get(stored, "content-type")
    if ctype:
        headers["Content-Type"] = ctype
    headers[s3h.SYSMETA_TAGGING] = value
    resp = await req.client.post_object(req.account, req.bucket or "", req.key or "", headers)
    if resp.status // 100 != 2:
        raise from_backend(resp.status, req.bucket, req.key)


async def handle_object(req: S3Request, sub: str) -> Response:
    await require_bucket(req)
    method = req.method
    if sub == "acl":
        await _object_headers(req)
        if method in ("GET", "HEAD"):
            return acl_document(req)
        if method == "PUT":
            return await _put_acl(req)
    if sub == "tagging":
        stored = await _object_headers(req)
        if method in ("GET", "HEAD"):
            doc = xml.root("Tagging")
            tagset = xml.add(doc, "TagSet")
            for key, value in parse_qsl(s3h._get(stored, s3h.SYSMETA_TAGGING) or "", keep_blank_values=True):
                tag = xml.add(tagset, "Tag")
                xml.add(tag, "Key", key)
                xml.add(tag, "Value", value)
            return xml.xml_response(doc)
        if method == "PUT":
            tags = _parse_tagging(await xml.read_body(request_body(req)))
            await _set_tagging(req, stored, urlencode(tags))
            return Response(b"", 200)
        if method == "DELETE":
            await _set_tagging(req, stored, "")
            return Response(status_code=204)
    if sub in ("retention", "legal-hold") and method == "GET":
        raise S3Error("NoSuchObjectLockConfiguration", "The specified object does not have a ObjectLock "
                      "configuration", status=404)
    raise S3Error("NotImplemented", f"The {sub} sub-resource is not implemented")
