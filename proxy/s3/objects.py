"""PutObject, GetObject/HeadObject (Range, conditionals, response-* overrides, checksums), DeleteObject."""

from __future__ import annotations

import time
from typing import Any

from starlette.responses import Response

from proxy import expiry
from proxy.http import conditional
from proxy.http import ranges as http_ranges
from proxy.http.bodies import streamed
from proxy.s3 import headers as s3h
from proxy.s3 import object_lock, sse, versioning
from proxy.s3.acl.writes import object_write_sysmeta
from proxy.s3.bucket import require_bucket
from proxy.s3.conditional_write import condition_error, write_condition
from proxy.s3.context import S3Request
from proxy.s3.errors import S3Error, from_backend
from proxy.s3.lifecycle.expiration import expiration_headers, put_tags, stored_object_expiration
from proxy.s3.object_parts import requested_part
from proxy.s3.part_checksums import DEFAULT_MARK, FULL_OBJECT, default_algorithm, object_response_headers
from proxy.s3.quota import check_quota, written
from proxy.s3.reader import StoredObject, open_object
from proxy.s3.supersede import current_multipart, release_parts
from proxy.s3.upload import (
    checksum_response_headers,
    checksum_sysmeta,
    open_upload,
    storage_refusal,
    written_etag,
)
from proxy.s3.versioning import VERSION_HEADER
from proxy.versioning import engine

MAX_KEY_BYTES = 1024


def check_key(key: str) -> None:
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise S3Error("KeyTooLongError", MaxSizeAllowed=str(MAX_KEY_BYTES))


def requested_expiry(req: S3Request) -> dict[str, str]:
    """``X-Delete-At`` to store from a PutObject's ``X-Delete-At``/``X-Delete-After`` (Swift's expiry, which
    Swift's s3api passes on); ``InvalidArgument`` with Swift's message for a bad value."""
    try:
        value = expiry.delete_at(req.headers)
    except expiry.DeleteAtError as err:
        raise S3Error("InvalidArgument", str(err), ArgumentName=err.header,
                      ArgumentValue=req.headers.get(err.header) or "") from None
    return {"X-Delete-At": value} if value is not None else {}


async def put_object(req: S3Request) -> Response:
    key = req.key or ""
    check_key(key)
    bucket_info = await require_bucket(req)
    encryption = sse.requested(req, bucket_info)
    chosen_by_s3 = default_algorithm(req.headers)
    upload = open_upload(req, always=chosen_by_s3, md5_at_nodes=True)
    stored = s3h.object_put_headers(req.headers)
    stored.update(upload.storage_headers)
    if chosen_by_s3 is not None:
        stored.update(DEFAULT_MARK)
    stored.update(requested_expiry(req))
    stored.update(checksum_sysmeta(upload.header_checksums))
    stored.update(await object_write_sysmeta(req, bucket_info))
    stored.update(object_lock.write_sysmeta(req, bucket_info, needs_digest=True))
    condition = write_condition(req.headers)
    if upload.length == 0:
        await upload.body.check_empty()
    await check_quota(req, req.bucket or "", upload.length)
    replaced = await current_multipart(req, req.bucket or "", key, bucket_info)
    # checksums of trailers (or only computed, x-amz-sdk-checksum-algorithm) are known after the body
    late = (lambda: checksum_sysmeta(upload.body.checksums)) if upload.body.hashers else None
    storage = sse.client(req)

    async def write(version_sysmeta: dict, node_condition: dict[str, str] | None) -> Any:
        return await storage.put_object(req.account, req.bucket or "", key, {**stored, **version_sysmeta},
                                        upload.body, upload.length, footer=late, condition=node_condition,
                                        encryption=encryption, stamp_at_commit=True)  # S3: the last to complete wins

    # versioned: the current version archived, then replaced only if still current (versioning.guarded_write)
    resp, version_id, kept = await versioning.guarded_write(req, req.bucket or "", key, bucket_info, condition,
                                                            write)
    if upload.body.error is not None:
        raise upload.body.error
    if resp.status not in (201, 202):
        raise (condition_error(resp, condition, key) or storage_refusal(resp, upload)
               or from_backend(resp.status, req.bucket, key))
    written(req, req.bucket or "")
    if not kept:  # a replaced multipart object kept as a version keeps its parts
        await release_parts(req, req.bucket or "", key, replaced)
    stored_sse = sse.written_sse(encryption, storage)
    etag = written_etag(resp, upload.body)
    out = {"ETag": f'"{etag}"'}
    if version_id is not None and version_id != "null":
        out[VERSION_HEADER] = version_id
    sums = checksum_response_headers(upload.body, upload.header_checksums)
    out.update(sums)
    if sums:
        out["x-amz-checksum-type"] = FULL_OBJECT
    out.update(sse.response_headers(stored_sse, req.headers))
    out.update(expiration_headers(req, bucket_info, key, upload.body.length, put_tags(req.headers), time.time()))
    return Response(b"", 200, headers=out)


def _conditional_error(status: int, obj: StoredObject) -> S3Error:
    keep = {"ETag": f'"{obj.etag}"'}
    if obj.last_modified:
        keep["Last-Modified"] = obj.last_modified
    if status == 304:  # the validators, and Accept-Ranges as the 200 would say (as Swift's s3api)
        return S3Error("NotModified", "Not Modified", status=304, headers={**keep, "Accept-Ranges": "bytes"})
    return S3Error("PreconditionFailed", headers=keep, Condition="If-Match")


async def get_object(req: S3Request) -> Response:
    key = req.key or ""
    bucket_info = await require_bucket(req)
    container, name = req.bucket or "", key
    version = req.query.get("versionId")
    found = None
    if version is not None:  # the version's stored location (the current object or an archived one)
        found = await versioning.locate(req, container, key, version)
        container, name = found.container, found.obj
    head = req.method == "HEAD"
    range_header = req.headers.get("range")
    part = await requested_part(req, container, name)
    if part is not None:
        range_header = part.range_header
    sse.refuse_on_read(req)
    customer_key = sse.request_customer_key(req)
    try:
        obj = await open_object(req, container, name, range_header, head, customer_key)
    except S3Error as err:
        if err.code == "NoSuchKey" and version is None:  # a delete marker on top says so, as AWS
            err.headers.update(await versioning.latest_marker_headers(req, container, key, bucket_info))
        raise
    versioning.show_written_at(found, obj.headers)
    try:
        sse.check_applicable(obj.headers, customer_key)
        resp = await _answer(req, obj, head, range_header, bucket_info)
    except BaseException:
        await obj.close()
        raise
    if part is not None and part.parts_count is not None:
        resp.headers["x-amz-mp-parts-count"] = str(part.parts_count)
        resp.headers.update(part.checksum_headers)
    shown = version if version is not None else versioning.response_version(obj.headers, bucket_info)
    if shown is not None:
        resp.headers[VERSION_HEADER] = shown
    return resp


async def _answer(req: S3Request, obj: StoredObject, head: bool, range_header: str | None,
                  bucket_info: dict) -> Response:
    status = conditional.evaluate(req.method, req.headers, obj.etag, obj.last_modified)
    if status is not None:
        await obj.close()
        raise _conditional_error(status, obj)
    headers = s3h.s3_object_headers(obj.headers)
    headers.update(sse.response_headers(sse.stored_sse(obj.headers), req.headers))
    headers.update(stored_object_expiration(req, bucket_info, req.key or "", obj.size, obj.headers))
    headers.update(object_lock.response_headers(obj.headers))
    headers["ETag"] = f'"{obj.etag}"'
    headers["Accept-Ranges"] = "bytes"
    headers.setdefault("Content-Type", "binary/octet-stream")
    s3h.apply_overrides(headers, req.query)
    spec = http_ranges.parse_range(range_header)
    wanted = http_ranges.ranges_for_length(spec, obj.size) if spec is not None and len(spec) == 1 else None
    if wanted == []:
        await obj.close()
        raise S3Error("InvalidRange", headers={"Content-Range": http_ranges.unsatisfiable_range(obj.size)},
                      RangeRequested=range_header or "", ActualObjectSize=str(obj.size))
    if wanted is None:
        start, end, code = 0, obj.size, 200
        if (req.headers.get("x-amz-checksum-mode") or "").upper() == "ENABLED":
            headers.update(object_response_headers(obj.headers))
    else:
        (start, end), code = wanted[0], 206
        headers["Content-Range"] = http_ranges.content_range(start, end, obj.size)
    headers["Content-Length"] = str(end - start)
    if head:
        await obj.close()
        return Response(b"", code, headers=headers)
    if obj.resp is not None and obj.resp_range != (start, end):
        await obj.close()
    return streamed(obj.stream(start, end), code, headers, end - start)


async def delete_object(req: S3Request) -> Response:
    key = req.key or ""
    bucket_info = await require_bucket(req)
    headers = await delete_in_bucket(req, req.bucket or "", key, req.query.get("versionId"), bucket_info)
    return Response(status_code=204, headers=headers)


async def delete_in_bucket(req: S3Request, bucket: str, key: str, version: str | None,
                           bucket_info: dict) -> dict[str, str]:
    """DeleteObject's work for one key (and version): the response headers (version id, marker)."""
    state = versioning.state_of(bucket_info)
    if version is not None:
        versioning.check_version_id(version)
        if state is not None:
            return await versioning.delete_version(req, bucket, key, version)
        if version != "null":
            return {}
        await delete_key(req, bucket, key, bucket_info)
        return {VERSION_HEADER: "null"}
    if state is not None:
        return await versioning.delete_current(req, bucket, key, state or engine.ENABLED)
    await delete_key(req, bucket, key, bucket_info)
    return {}


async def delete_key(req: S3Request, bucket: str, key: str, bucket_info: dict | None = None) -> int:
    """Delete a key (and the parts of a completed multipart upload); the storage status (204/404).
    With ``bucket_info``, a bucket that never held a multipart upload skips the look for parts."""
    replaced = await current_multipart(req, bucket, key, bucket_info)
    resp = await req.client.delete_object(req.account, bucket, key)
    if resp.status // 100 != 2 and resp.status != 404:
        raise from_backend(resp.status, bucket, key)
    await release_parts(req, bucket, key, replaced)
    return resp.status
