"""CopyObject and UploadPartCopy: stream the source (plain or large) into a new object or part.

Authorization: the operation table (proxy/s3/operations.py) asks ``s3:PutObject`` on the destination and
``s3:GetObject`` on the copy source (``Target.COPY_SOURCE``) before the handler runs; a large source's
segments are then read with the caller's rights too (``proxy.s3.reader``), and a forbidden segment met
mid-copy (a nested manifest's) fails the storage PUT and answers AccessDenied: nothing is written.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from starlette.responses import Response

from proxy.http import conditional
from proxy.large_objects.access import WatchedBody
from proxy.s3 import checksums, object_lock, part_checksums, sse, tagset, versioning, xml
from proxy.s3 import headers as s3h
from proxy.s3.acl.writes import object_write_sysmeta
from proxy.s3.bucket import require_bucket, segments_container
from proxy.s3.conditional_write import condition_error, write_condition
from proxy.s3.context import S3Request
from proxy.s3.errors import S3Error, from_backend
from proxy.s3.lifecycle.expiration import expiration_headers
from proxy.s3.multipart import MAX_PART_SIZE, _upload_headers, part_name, part_number
from proxy.s3.namespace import owner_account
from proxy.s3.objects import check_key
from proxy.s3.quota import check_quota, written
from proxy.s3.reader import StoredObject, open_object
from proxy.s3.supersede import current_multipart, release_parts
from proxy.s3.upload import checksum_sysmeta, written_etag
from stackstore.lifecycle import object_tags
from stackstore.numbers import is_ascii_digits

MAX_COPY_SIZE = 5 * 1024**3
COPY_CONDITIONS = {
    "x-amz-copy-source-if-match": "if-match",
    "x-amz-copy-source-if-none-match": "if-none-match",
    "x-amz-copy-source-if-modified-since": "if-modified-since",
    "x-amz-copy-source-if-unmodified-since": "if-unmodified-since",
}


def parse_copy_source(value: str) -> tuple[str, str]:
    """``[/]bucket/key[?versionId=...]`` (URL-encoded) → (bucket, key)."""
    path, _, query = value.partition("?")
    path = unquote(path)
    if path.startswith("/"):
        path = path[1:]
    bucket, _, key = path.partition("/")
    if not bucket or not key or "\x00" in path:
        raise S3Error("InvalidArgument", "Copy Source must mention the source bucket and key: "
                      "sourcebucket/sourcekey", ArgumentName="x-amz-copy-source", ArgumentValue=value)
    for param in query.split("&") if query else ():
        name, _, version = param.partition("=")
        if name != "versionId":  # the only parameter a copy source takes
            raise S3Error("InvalidArgument", "Unsupported copy source parameter.",
                          ArgumentName="x-amz-copy-source", ArgumentValue=value)
    return bucket, key


def copy_source_version(value: str) -> str | None:
    """The ``versionId`` a copy source names (None: the current version)."""
    _path, _, query = value.partition("?")
    for param in query.split("&") if query else ():
        name, _, version = param.partition("=")
        if name == "versionId" and version:
            return unquote(version)
    return None


def check_source_conditions(req: S3Request, src: StoredObject) -> None:
    mapped = {ours: req.headers[theirs] for theirs, ours in COPY_CONDITIONS.items() if theirs in req.headers}
    if mapped and conditional.evaluate("GET", mapped, src.etag, src.last_modified) is not None:
        raise S3Error("PreconditionFailed", Condition=",".join(
            k for k in COPY_CONDITIONS if k in req.headers))


async def source_request(req: S3Request, bucket: str) -> S3Request:
    """``req`` pointed at the account holding the copy source's bucket (its registered owner's)."""
    account = await owner_account(req.state, bucket) or req.credential.account
    if account == req.account:
        return req
    return dataclasses.replace(req, extras={**req.extras, "bucket_account": account})


async def _open_source(req: S3Request) -> StoredObject:
    """The copy source, decrypted (with the ``x-amz-copy-source-server-side-encryption-customer-*`` key)."""
    sb, sk = parse_copy_source(req.headers["x-amz-copy-source"])
    key = sse.request_customer_key(req, sse.COPY_SOURCE_CUSTOMER)
    src_req = await source_request(req, sb)
    await require_bucket(src_req, sb)
    version = copy_source_version(req.headers["x-amz-copy-source"])
    found = None
    if version is not None:  # the version's stored location (current or in the versions container)
        found = await versioning.locate(src_req, sb, sk, version)
        sb, sk = found.container, found.obj
    src = await open_object(src_req, sb, sk, None, head=False, customer_key=key)
    versioning.show_written_at(found, src.headers)  # x-amz-copy-source-if-*-since compare with it
    try:
        sse.check_applicable(src.headers, key)
        check_source_conditions(req, src)
    except S3Error:
        await src.close()
        raise
    return src


def _iso_now(resp_headers: Mapping[str, str]) -> str:
    ts = s3h._get(resp_headers, "x-timestamp")
    return s3h.iso8601_whole_second(float(ts) if ts else time.time())


async def copy_object(req: S3Request) -> Response:
    key = req.key or ""
    check_key(key)
    bucket_info = await require_bucket(req)
    encryption = sse.requested(req, bucket_info)
    directive = (req.headers.get("x-amz-metadata-directive") or "COPY").upper()
    if directive not in ("COPY", "REPLACE"):
        raise S3Error("InvalidArgument", "Unknown metadata directive.", ArgumentName="x-amz-metadata-directive",
                      ArgumentValue=directive)
    tag_directive = tagset.tagging_directive(req.headers)
    s3h.check_storage_class(req.headers)
    condition = write_condition(req.headers)  # on the destination, decided where the copy commits
    src = await _open_source(req)
    try:
        same = (src.bucket, src.key) == (req.bucket, key)
        if same and directive == "COPY" and not req.headers.get("x-amz-storage-class") and encryption is None \
                and tag_directive == "COPY" and s3h.WEBSITE_REDIRECT not in req.headers:
            raise S3Error("InvalidRequest", "This copy request is illegal because it is trying to copy an object "
                          "to itself without changing the object's metadata, storage class, website redirect "
                          "location or encryption attributes.")
        if src.size > MAX_COPY_SIZE:
            raise S3Error("InvalidRequest", "The specified copy source is larger than the maximum allowable "
                          "size for a copy source: 5368709120")
        if directive == "REPLACE":
            headers = s3h.object_put_headers(req.headers)
        else:
            headers = {k: v for k, v in src.headers.items()
                       if k.lower() in s3h.ENTITY or k.lower().startswith("x-object-meta-")}
            # as AWS, an object's website redirect is never copied; the copy may be given its own
            headers.update(s3h.website_redirect_sysmeta(req.headers))
        headers.pop(s3h.SYSMETA_TAGGING, None)
        tags = tagset.copied_tagging(req.headers, s3h._get(src.headers, s3h.SYSMETA_TAGGING))
        if tags:
            headers[s3h.SYSMETA_TAGGING] = tags
        algorithm = part_checksums.copy_algorithm(req.headers, src.headers)  # recomputed while copying
        client_chosen = part_checksums.copy_chosen_by_client(req.headers, src.headers)
        if not client_chosen:
            headers.update(part_checksums.DEFAULT_MARK)
        headers.update(await object_write_sysmeta(req, bucket_info))
        headers.update(object_lock.write_sysmeta(req, bucket_info))
        await check_quota(req, req.bucket or "", src.size)
        source = WatchedBody(src.stream(0, src.size))
        body = checksums.VerifiedBody(aiter(source), compute={algorithm}, md5=False)  # the nodes' ETag

        def late() -> dict[str, str]:  # the checksum is known once the copy is through
            return {**checksum_sysmeta(body.checksums), **part_checksums.part_record_sysmeta(body.checksums)}

        replaced = await current_multipart(req, req.bucket or "", key, bucket_info)
        storage = sse.client(req)

        async def write(version_sysmeta: dict, node_condition: dict[str, str] | None) -> Any:
            return await storage.put_object(req.account, req.bucket or "", key, {**headers, **version_sysmeta},
                                            body, src.size, footer=late, encryption=encryption,
                                            condition=node_condition)

        resp, version_id, kept = await versioning.guarded_write(req, req.bucket or "", key, bucket_info,
                                                                condition, write)
    finally:
        await src.close()
    if source.forbidden is not None:
        raise S3Error("AccessDenied")
    if resp.status // 100 != 2:
        raise condition_error(resp, condition, key) or from_backend(resp.status, req.bucket, key)
    written(req, req.bucket or "")
    if not kept:  # a replaced multipart object kept as a version keeps its parts
        await release_parts(req, req.bucket or "", key, replaced)
    stored_sse = sse.written_sse(encryption, storage)
    etag = written_etag(resp, body)
    doc = xml.root("CopyObjectResult")
    xml.add(doc, "LastModified", _iso_now(resp.headers))
    xml.add(doc, "ETag", f'"{etag}"')
    if client_chosen:
        for alg, value in body.checksums.items():
            xml.add(doc, part_checksums.element_name(alg), value)
        if body.checksums:
            xml.add(doc, "ChecksumType", part_checksums.FULL_OBJECT)
    out = sse.response_headers(stored_sse, req.headers)
    out.update(expiration_headers(req, bucket_info, key, src.size, object_tags(headers), time.time()))
    if version_id is not None and version_id != "null":
        out[versioning.VERSION_HEADER] = version_id
    source_version = copy_source_version(req.headers["x-amz-copy-source"])
    if source_version is not None:
        out["x-amz-copy-source-version-id"] = source_version
    return xml.xml_response(doc, headers=out)


def _copy_range(value: str | None, size: int) -> tuple[int, int]:
    """``bytes=a-b`` of x-amz-copy-source-range → [a, b+1); the whole object when absent."""
    if value is None:
        return 0, size
    unit, _, spec = value.strip().partition("=")
    first, _, last = spec.partition("-")
    if unit != "bytes" or not is_ascii_digits(first) or not is_ascii_digits(last) or int(last) < int(first):
        raise S3Error("InvalidArgument", "The x-amz-copy-source-range value must be of the form bytes=first-last "
                      "where first and last are the zero-based offsets of the first and last bytes to copy",
                      ArgumentName="x-amz-copy-source-range", ArgumentValue=value)
    if int(last) >= size:
        raise S3Error("InvalidRange", RangeRequested=value, ActualObjectSize=str(size))
    return int(first), int(last) + 1


async def upload_part_copy(req: S3Request) -> Response:
    number = part_number(req)
    await require_bucket(req)
    upload_id = req.query["uploadId"]
    marker = await _upload_headers(req, upload_id)
    encryption = sse.part_encryption(req, marker, sse.request_customer_key(req))
    checksum = part_checksums.of_marker(marker)
    src = await _open_source(req)
    try:
        start, end = _copy_range(req.headers.get("x-amz-copy-source-range"), src.size)
        if end - start > MAX_PART_SIZE:
            raise S3Error("EntityTooLarge")
        await check_quota(req, None, end - start)
        if src.resp is not None and src.resp_range != (start, end):
            await src.close()
        source = WatchedBody(src.stream(start, end))
        body = checksums.VerifiedBody(aiter(source), compute={(checksum or part_checksums.IMPLICIT).algorithm},
                                      md5=False)  # the nodes' ETag

        def late() -> dict[str, str]:  # the checksum is known once the copy is through
            return {**checksum_sysmeta(body.checksums), **part_checksums.part_record_sysmeta(body.checksums)}

        storage = sse.client(req)
        resp = await storage.put_object(req.account, segments_container(req.bucket or ""),
                                        part_name(req.key or "", upload_id, number),
                                        {"Content-Type": "application/octet-stream"}, body, end - start,
                                        footer=late, encryption=encryption)
    finally:
        await src.close()
    if source.forbidden is not None:
        raise S3Error("AccessDenied")
    if resp.status // 100 != 2:
        raise from_backend(resp.status, req.bucket)
    written(req, segments_container(req.bucket or ""))
    stored_sse = sse.written_sse(encryption, storage)
    etag = written_etag(resp, body)
    doc = xml.root("CopyPartResult")
    xml.add(doc, "LastModified", _iso_now(resp.headers))
    xml.add(doc, "ETag", f'"{etag}"')
    if checksum is not None:  # the upload's own algorithm, not the default of an upload created without one
        for alg, value in body.checksums.items():
            xml.add(doc, part_checksums.element_name(alg), value)
    return xml.xml_response(doc, headers=sse.response_headers(stored_sse, req.headers))
