"""Object and bucket tagging handlers (Get/Put/DeleteObjectTagging, Get/Put/DeleteBucketTagging).

An object's tag set is stored in ``X-Object-Sysmeta-S3-Tagging``, a bucket's in the container sysmeta
``X-Container-Sysmeta-S3-Tagging``, both in ``proxy.s3.tagset``'s stored form and validated by it.

Versioning hook: the object handlers answer for the current object; ``?versionId`` other than ``null``
is refused as every object operation refuses it today (``_check_version``), until versioned objects exist.
"""

from __future__ import annotations

from starlette.responses import Response

from proxy.s3 import headers as s3h
from proxy.s3 import xml
from proxy.s3.bucket import require_bucket
from proxy.s3.context import S3Request
from proxy.s3.errors import S3Error, from_backend
from proxy.s3.tagset import MAX_BUCKET_TAGS, MAX_OBJECT_TAGS, TagSet, decode, encode, parse_document
from proxy.s3.upload import request_body
from proxy.s3.version_target import StoredVersion, kept_on_post, stored_version

BUCKET_SYSMETA = "X-Container-Sysmeta-S3-Tagging"
_BUCKET_INFO_KEY = "s3-tagging"  # as it appears in container info's ``sysmeta``


def tagging_document(tags: TagSet) -> Response:
    doc = xml.root("Tagging")
    tagset = xml.add(doc, "TagSet")
    for key, value in tags:
        tag = xml.add(tagset, "Tag")
        xml.add(tag, "Key", key)
        xml.add(tag, "Value", value)
    return xml.xml_response(doc)


async def _set_object_tagging(req: S3Request, stored: StoredVersion, value: str) -> None:
    """POST the version's metadata back unchanged, with the tag set in sysmeta (empty removes it)."""
    headers = kept_on_post(stored.headers)  # its expiry too (it was dropped by a tag change)
    headers[s3h.SYSMETA_TAGGING] = value
    resp = await req.client.post_object(req.account, stored.container, stored.name, headers, keep_listing_row=True)
    if resp.status // 100 != 2:
        raise from_backend(resp.status, req.bucket, req.key)


def _version_header(stored: StoredVersion) -> dict[str, str]:
    return {"x-amz-version-id": stored.version_id} if stored.version_id else {}


async def get_object_tagging(req: S3Request) -> Response:
    """GetObjectTagging: the tag set kept in the object's sysmeta."""
    await require_bucket(req)
    stored = await stored_version(req)  # tags of an SSE-C object are read without its key, as S3 does
    out = tagging_document(decode(s3h._get(stored.headers, s3h.SYSMETA_TAGGING)))
    out.headers.update(_version_header(stored))
    return out


async def put_object_tagging(req: S3Request) -> Response:
    """PutObjectTagging: replace the tag set (metadata kept)."""
    await require_bucket(req)
    stored = await stored_version(req)
    tags = parse_document(await xml.read_body(request_body(req)), MAX_OBJECT_TAGS)
    await _set_object_tagging(req, stored, encode(tags))
    return Response(b"", 200, headers=_version_header(stored))


async def delete_object_tagging(req: S3Request) -> Response:
    """DeleteObjectTagging: remove the tag set (metadata kept)."""
    await require_bucket(req)
    stored = await stored_version(req)
    await _set_object_tagging(req, stored, "")
    return Response(status_code=204, headers=_version_header(stored))


async def _set_bucket_tagging(req: S3Request, value: str) -> None:
    bucket = req.bucket or ""
    resp = await req.client.post_container(req.account, bucket, {BUCKET_SYSMETA: value})
    req.state.invalidate_info(req.account, bucket)
    if resp.status // 100 != 2:
        raise from_backend(resp.status, bucket)


async def get_bucket_tagging(req: S3Request) -> Response:
    """GetBucketTagging: the bucket's tag set; ``NoSuchTagSet`` (404) when it has none."""
    info = await require_bucket(req)
    tags = decode(info.get("sysmeta", {}).get(_BUCKET_INFO_KEY))
    if not tags:
        raise S3Error("NoSuchTagSet", BucketName=req.bucket)
    return tagging_document(tags)


async def put_bucket_tagging(req: S3Request) -> Response:
    """PutBucketTagging: replace the bucket's tag set (at most 50 tags)."""
    await require_bucket(req)
    tags = parse_document(await xml.read_body(request_body(req)), MAX_BUCKET_TAGS)
    await _set_bucket_tagging(req, encode(tags))
    return Response(status_code=204)


async def delete_bucket_tagging(req: S3Request) -> Response:
    """DeleteBucketTagging: remove the bucket's tag set (204 whether or not it had one)."""
    await require_bucket(req)
    await _set_bucket_tagging(req, "")
    return Response(status_code=204)
