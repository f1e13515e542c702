"""Handlers of bucket and object sub-resources: tagging, "none configured" answers (ACLs: proxy/s3/acl/).

Clients such as Cyberduck probe ``?versioning``, ``?acl``, ``?ownershipControls``, ``?lifecycle``,
``?logging`` before uploading: each gets a valid minimal document or a ``NoSuch…`` 404 (never a 500).
Which sub-resource names which operation, and which operations are not implemented (501), is the
operation table's business (``proxy.s3.operations``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl, urlencode

from starlette.responses import Response

from proxy.s3 import headers as s3h
from proxy.s3 import xml
from proxy.s3.bucket import require_bucket
from proxy.s3.context import S3Request
from proxy.s3.errors import S3Error, from_backend
from proxy.s3.upload import request_body

Handler = Callable[[S3Request], Awaitable[Response]]

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


async def get_object_tagging(req: S3Request) -> Response:
    """GetObjectTagging: the tag set kept in the object's sysmeta."""
    await require_bucket(req)
    stored = await _object_headers(req)
    doc = xml.root("Tagging")
    tagset = xml.add(doc, "TagSet")
    for key, value in parse_qsl(s3h._get(stored, s3h.SYSMETA_TAGGING) or "", keep_blank_values=True):
        tag = xml.add(tagset, "Tag")
        xml.add(tag, "Key", key)
        xml.add(tag, "Value", value)
    return xml.xml_response(doc)


async def put_object_tagging(req: S3Request) -> Response:
    """PutObjectTagging: replace the tag set (metadata kept)."""
    await require_bucket(req)
    stored = await _object_headers(req)
    tags = _parse_tagging(await xml.read_body(request_body(req)))
    await _set_tagging(req, stored, urlencode(tags))
    return Response(b"", 200)


async def delete_object_tagging(req: S3Request) -> Response:
    """DeleteObjectTagging: remove the tag set (metadata kept)."""
    await require_bucket(req)
    stored = await _object_headers(req)
    await _set_tagging(req, stored, "")
    return Response(status_code=204)


async def no_object_lock(req: S3Request) -> Response:
    """GetObjectRetention / GetObjectLegalHold: objects carry no Object Lock configuration."""
    await require_bucket(req)
    raise S3Error("NoSuchObjectLockConfiguration", "The specified object does not have a ObjectLock "
                  "configuration", status=404)
