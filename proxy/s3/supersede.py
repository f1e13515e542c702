"""The parts of a completed multipart upload, released when its key is deleted or overwritten.

A completed upload is an SLO manifest whose segments live in ``<bucket>+segments``. Deleting the key,
or writing a new object over it (PutObject, CopyObject, CompleteMultipartUpload), leaves those parts
unreferenced, so they are deleted once the new state of the key is in place.

Looking at the old object costs a HEAD per write, so a bucket is flagged (container sysmeta) the
first time a multipart upload starts in it; writes to buckets without the flag skip the look.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

from objclient.crypto.client import stored_view
from proxy.large_objects import slo
from proxy.s3 import headers as s3h
from proxy.s3.bucket import segments_container
from proxy.s3.context import S3Request
from proxy.s3.errors import from_backend

MULTIPART_FLAG = "X-Container-Sysmeta-S3-Multipart"
_FLAG_KEY = "s3-multipart"  # as it appears in container info's ``sysmeta``
DELETE_CONCURRENCY = 8


@dataclass(frozen=True)
class MultipartObject:
    """A completed multipart upload stored at a key: its S3 ETag and its part paths (``/container/obj``)."""

    etag: str
    parts: tuple[str, ...]


async def flag_bucket(req: S3Request, bucket_info: dict) -> None:
    """Mark the bucket as holding multipart uploads (once; later writes then look for old parts)."""
    if bucket_info.get("sysmeta", {}).get(_FLAG_KEY):
        return
    bucket = req.bucket or ""
    resp = await req.client.post_container(req.account, bucket, {MULTIPART_FLAG: "1"})
    req.state.invalidate_info(req.account, bucket)
    if resp.status // 100 != 2:
        raise from_backend(resp.status, bucket)


async def current_multipart(req: S3Request, bucket: str, key: str, bucket_info: dict | None = None,
                            at: tuple[str, str] | None = None) -> MultipartObject | None:
    """The multipart object now at ``bucket/key`` (or stored at ``at``, (container, object): an archived
    version of it); None when there is none (or the bucket never had one)."""
    if bucket_info is not None and not bucket_info.get("sysmeta", {}).get(_FLAG_KEY):
        return None
    container, name = at or (bucket, key)
    client = stored_view(req.client)  # an SSE-C upload's manifest is plaintext, but needs a key to serve
    head = await client.head_object(req.account, container, name)
    etag = s3h._get(head.headers, s3h.SYSMETA_ETAG) if head.status == 200 else None
    if not etag or not slo.is_slo(head.headers):
        return None
    manifest = await client.get_object(req.account, container, name)
    try:
        entries = json.loads(await manifest.read()) if manifest.status == 200 else []
        prefix = f"/{segments_container(bucket)}/"
        parts = tuple(e["name"] for e in entries if str(e.get("name", "")).startswith(prefix))
    except (ValueError, TypeError, KeyError):
        return None
    return MultipartObject(etag, parts)


async def release_parts(req: S3Request, bucket: str, key: str, old: MultipartObject | None) -> None:
    """Delete ``old``'s parts unless ``bucket/key`` still is that object (a concurrent newer write of it)."""
    if old is None or not old.parts:
        return
    now = await current_multipart(req, bucket, key)
    if now is not None and now.etag == old.etag and set(now.parts) & set(old.parts):
        return
    sem = asyncio.Semaphore(DELETE_CONCURRENCY)

    async def one(path: str) -> None:
        container, _, obj = path[1:].partition("/")
        async with sem:
            await req.client.delete_object(req.account, container, obj)

    await asyncio.gather(*(one(p) for p in old.parts))
