"""Multipart uploads as Swift segments plus an SLO manifest.

Layout, in the hidden container ``<bucket>+segments``:
- upload marker ``<key>/<upload_id>`` (content type UPLOAD_TYPE), carrying the object's future
  metadata (user meta, tagging, the real content type in sysmeta);
- parts ``<key>/<upload_id>/<part number, 5 digits>``.
Complete writes an SLO manifest at ``<bucket>/<key>`` (``X-Static-Large-Object: True``, the stored
manifest format of ``proxy/large_objects/slo_manifest.py``) with the S3 ETag
``"<md5 of the binary part md5s>-N"`` in ``X-Object-Sysmeta-S3-Etag``; Swift clients GET it as an SLO.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, unquote
from xml.etree.ElementTree import Element

from starlette.responses import Response

from objclient.crypto import envelope
from proxy.large_objects.slo_manifest import SYSMETA_ETAG as SLO_ETAG
from proxy.large_objects.slo_manifest import SYSMETA_SIZE as SLO_SIZE
from proxy.large_objects.slo_manifest import slo_etag
from proxy.s3 import headers as s3h
from proxy.s3 import object_lock, part_checksums, sse, versioning, xml
from proxy.s3.acl.writes import carried_acl, object_write_sysmeta
from proxy.s3.bucket import owner, require_bucket, segments_container
from proxy.s3.conditional_write import condition_error, write_condition
from proxy.s3.context import S3Request
from proxy.s3.errors import S3Error, from_backend
from proxy.s3.headers import iso_from_swift
from proxy.s3.lifecycle.expiration import expiration_headers
from proxy.s3.objects import check_key
from proxy.s3.owners import canonical_id, owner_of
from proxy.s3.quota import check_quota, written
from proxy.s3.supersede import current_multipart, flag_bucket, release_parts
from proxy.s3.upload import (
    checksum_response_headers,
    checksum_sysmeta,
    open_upload,
    request_body,
    storage_refusal,
    written_etag,
)
from stackstore import wire
from stackstore.lifecycle import object_tags
from stackstore.numbers import is_ascii_digits

UPLOAD_TYPE = "application/x-stackstore-s3-upload"
SYSMETA_CTYPE = "X-Object-Sysmeta-S3-Content-Type"
MIN_PART_SIZE = 5 * 1024 * 1024
MAX_PART_SIZE = 5 * 1024**3
MAX_PARTS = 10000
PAGE = 10000
MAX_PARTS_LISTING = 1000  # ListParts' max-parts ceiling
# UploadPart and AbortMultipartUpload answer with an empty body; Swift's s3api (and so Swift's functional suite)
# labels such answers "text/html; charset=UTF-8", its framework's default, and clients read nothing from it.
EMPTY_ANSWER_TYPE = "text/html; charset=UTF-8"
CARRIED = ("content-encoding", "content-disposition", "content-language", "cache-control", "expires")


def marker_name(key: str, upload_id: str) -> str:
    return f"{key}/{upload_id}"


def part_name(key: str, upload_id: str, number: int) -> str:
    return f"{key}/{upload_id}/{number:05d}"


async def _empty() -> AsyncIterator[bytes]:
    if False:  # pragma: no cover
        yield b""


async def _ensure_segments_container(req: S3Request) -> str:
    seg = segments_container(req.bucket or "")
    info = await req.state.container_info(req.account, seg)
    if info.get("status") == 404:
        resp = await req.client.put_container(req.account, seg, {})
        req.state.invalidate_info(req.account, seg)
        if resp.status // 100 != 2:
            raise from_backend(resp.status, req.bucket)
    return seg


async def _upload_headers(req: S3Request, upload_id: str) -> dict[str, str]:
    """The marker's headers; NoSuchUpload when the upload is unknown (completed or aborted). Read from the
    marker's newest copy: a replica that missed an abort or a completion would let a part into an upload that
    is gone (docs/durability.md "Reads that decide: the newest copy")."""
    if not upload_id or "/" in upload_id:
        raise S3Error("NoSuchUpload", UploadId=upload_id)
    resp = await req.client.head_object(req.account, segments_container(req.bucket or ""),
                                        marker_name(req.key or "", upload_id), wire.READ_NEWEST)
    if resp.status == 404:
        raise S3Error("NoSuchUpload", UploadId=upload_id)
    if resp.status // 100 != 2:
        raise from_backend(resp.status, req.bucket)
    return dict(resp.headers.items())


def _marker_type(req: S3Request) -> str:
    """The upload marker's content type: UPLOAD_TYPE with the initiating account as a parameter, so that
    ListMultipartUploads names the initiator from the listing row alone."""
    initiator = owner_of(req.identity)
    if initiator is None:
        return UPLOAD_TYPE
    return f"{UPLOAD_TYPE};initiator={quote(initiator.account, safe='')};name={quote(initiator.display_name, safe='')}"


def _initiator(content_type: str) -> tuple[str, str] | None:
    """(account, display name) a marker's content type names (None for markers made before it did)."""
    params = dict(p.strip().partition("=")[::2] for p in content_type.split(";")[1:])
    account = unquote(params.get("initiator", ""))
    return (account, unquote(params.get("name", "")) or account) if account else None


def is_upload_marker(content_type: str | None) -> bool:
    """Whether a segments-container row is an upload's marker (its type, parameters aside)."""
    return (content_type or "").partition(";")[0].strip() == UPLOAD_TYPE


async def create(req: S3Request) -> Response:
    key = req.key or ""
    check_key(key)
    bucket_info = await require_bucket(req)
    encryption = sse.requested(req, bucket_info)
    await flag_bucket(req, bucket_info)
    acl = await object_write_sysmeta(req, bucket_info)
    seg = await _ensure_segments_container(req)
    upload_id = secrets.token_urlsafe(24)
    headers = s3h.object_put_headers(req.headers)
    headers.update(acl)
    headers.update(object_lock.write_sysmeta(req, bucket_info))
    headers[SYSMETA_CTYPE] = headers.pop("Content-Type")
    headers["Content-Type"] = _marker_type(req)
    checksum = part_checksums.requested(req.headers)
    headers.update(part_checksums.marker_sysmeta(checksum))
    storage = sse.client(req)
    headers.update(sse.upload_marker_headers(encryption, storage))
    resp = await storage.put_object(req.account, seg, marker_name(key, upload_id), headers, _empty(), 0,
                                    encryption=envelope.PLAINTEXT)
    if resp.status // 100 != 2:
        raise from_backend(resp.status, req.bucket)
    doc = xml.root("InitiateMultipartUploadResult")
    xml.add_all(doc, [("Bucket", req.bucket), ("Key", key), ("UploadId", upload_id)])
    out = part_checksums.response_headers(checksum)
    out.update(sse.response_headers(sse.written_sse(encryption, storage), req.headers))
    return xml.xml_response(doc, headers=out)


def part_number(req: S3Request) -> int:
    raw = req.query.get("partNumber", "")
    if not is_ascii_digits(raw) or not 1 <= int(raw) <= MAX_PARTS:
        raise S3Error("InvalidArgument", f"Part number must be an integer between 1 and {MAX_PARTS}, inclusive",
                      ArgumentName="partNumber", ArgumentValue=raw)
    return int(raw)


async def upload_part(req: S3Request) -> Response:
    number = part_number(req)
    await require_bucket(req)
    upload_id = req.query["uploadId"]
    marker = await _upload_headers(req, upload_id)
    encryption = sse.part_encryption(req, marker, sse.request_customer_key(req))
    checksum = part_checksums.of_marker(marker)
    part_checksums.check_part_request(checksum, req.headers)
    upload = open_upload(req, MAX_PART_SIZE, always=(checksum or part_checksums.IMPLICIT).algorithm,
                         md5_at_nodes=True)
    headers = {"Content-Type": "application/octet-stream", **checksum_sysmeta(upload.header_checksums),
               **upload.storage_headers}
    if upload.length == 0:
        await upload.body.check_empty()
    await check_quota(req, None, upload.length)
    # checksums of trailers (or computed only) are known after the body: stored from the footer
    late = (lambda: {**checksum_sysmeta(upload.body.checksums),
                     **part_checksums.part_record_sysmeta(upload.body.checksums)}) if upload.body.hashers else None
    storage = sse.client(req)
    resp = await storage.put_object(req.account, segments_container(req.bucket or ""),
                                    part_name(req.key or "", upload_id, number), headers, upload.body,
                                    upload.length, footer=late, encryption=encryption)
    if upload.body.error is not None:
        raise upload.body.error
    if resp.status // 100 != 2:
        raise storage_refusal(resp, upload) or from_backend(resp.status, req.bucket)
    written(req, segments_container(req.bucket or ""))
    stored_sse = sse.written_sse(encryption, storage)
    etag = written_etag(resp, upload.body)
    out = {"ETag": f'"{etag}"', "Content-Type": EMPTY_ANSWER_TYPE}
    out.update(checksum_response_headers(upload.body, upload.header_checksums))
    out.update(sse.response_headers(stored_sse, req.headers))
    return Response(b"", 200, headers=out)


async def list_part_rows(req: S3Request, upload_id: str, after: int = 0, limit: int | None = None) -> list[dict]:
    """Stored part rows (``number`` added), ascending, after part ``after``."""
    seg = segments_container(req.bucket or "")
    prefix = f"{req.key}/{upload_id}/"
    marker = part_name(req.key or "", upload_id, after) if after else None
    out: list[dict] = []
    while True:
        want = PAGE if limit is None else min(PAGE, limit - len(out))
        resp, rows = await req.client.list_container(req.account, seg, prefix=prefix, marker=marker, limit=want)
        if resp.status // 100 != 2:
            if resp.status == 404:
                return out
            raise from_backend(resp.status, req.bucket)
        for row in rows:
            suffix = row.get("name", "")[len(prefix):]
            if suffix.isdigit():
                out.append({**row, "number": int(suffix)})
        if len(rows) < want or (limit is not None and len(out) >= limit):
            return out
        marker = rows[-1]["name"]


async def list_parts(req: S3Request) -> Response:
    await require_bucket(req)
    upload_id = req.query["uploadId"]
    # an upload created without an algorithm has S3's default, a FULL_OBJECT CRC64NVME computed per part,
    # which the listing does not name (part_checksums.SYSMETA_DEFAULT)
    declared = part_checksums.of_marker(await _upload_headers(req, upload_id))
    raw_max = req.query.get("max-parts") or "1000"
    raw_marker = req.query.get("part-number-marker") or "0"
    if not is_ascii_digits(raw_max) or not is_ascii_digits(raw_marker):
        raise S3Error("InvalidArgument", "max-parts and part-number-marker must be integers")
    max_parts, after = min(int(raw_max), MAX_PARTS_LISTING), int(raw_marker)
    rows = await list_part_rows(req, upload_id, after, max_parts + 1)
    truncated = len(rows) > max_parts
    rows = rows[:max_parts]
    sums = {} if declared is None else await part_checksums.stored_part_checksums(
        req, segments_container(req.bucket or ""), [r["name"] for r in rows], declared.algorithm,
        {r["name"]: r for r in rows})
    doc = xml.root("ListPartsResult")
    xml.add_all(doc, [("Bucket", req.bucket), ("Key", req.key), ("UploadId", upload_id)])
    for tag in ("Initiator", "Owner"):
        owner(req, doc, tag)
    xml.add(doc, "StorageClass", "STANDARD")
    xml.add(doc, "PartNumberMarker", after)
    if rows:
        xml.add(doc, "NextPartNumberMarker", rows[-1]["number"])
    xml.add(doc, "MaxParts", max_parts)
    xml.add(doc, "IsTruncated", truncated)
    if declared is not None:
        xml.add(doc, "ChecksumAlgorithm", declared.algorithm.upper())
        xml.add(doc, "ChecksumType", declared.type)
    for row in rows:
        part = xml.add(doc, "Part")
        xml.add(part, "PartNumber", row["number"])
        xml.add(part, "LastModified", iso_from_swift(row.get("last_modified", "")))
        xml.add(part, "ETag", f'"{row.get("hash", "")}"')
        xml.add(part, "Size", int(row.get("bytes") or 0))
        if declared is not None and row["name"] in sums:
            xml.add(part, part_checksums.element_name(declared.algorithm), sums[row["name"]])
    return xml.xml_response(doc)


def _parse_complete(body: bytes) -> list[tuple[int, str]]:
    doc = xml.parse(body, "CompleteMultipartUpload")
    parts = []
    for el in xml.children(doc, "Part"):
        number, etag = xml.child_text(el, "PartNumber"), xml.child_text(el, "ETag")
        if number is None or etag is None or not is_ascii_digits(number.strip()):
            raise S3Error("MalformedXML")
        parts.append((int(number.strip()), etag.strip().strip('"').lower()))
    if not parts:
        raise S3Error("MalformedXML", "The XML you provided was not well-formed or did not validate against "
                                      "our published schema: at least one part is required")
    return parts


def multipart_etag(md5_hexes: list[str]) -> str:
    """``<md5 of the concatenated binary part md5s>-<N>``."""
    md5 = hashlib.md5()
    for h in md5_hexes:
        md5.update(bytes.fromhex(h))
    return f"{md5.hexdigest()}-{len(md5_hexes)}"


async def complete(req: S3Request) -> Response:
    bucket_info = await require_bucket(req)
    bucket, key, upload_id = req.bucket or "", req.key or "", req.query["uploadId"]
    condition = write_condition(req.headers)
    try:
        marker = await _upload_headers(req, upload_id)
    except S3Error as err:
        if err.code != "NoSuchUpload":
            raise
        return await _completed_again(req, bucket_info, err)
    body_xml = await xml.read_body(request_body(req, body_checksums=False))
    requested = _parse_complete(body_xml)
    numbers = [n for n, _ in requested]
    if any(b <= a for a, b in zip(numbers, numbers[1:], strict=False)):
        raise S3Error("InvalidPartOrder", UploadId=upload_id)
    stored = {row["number"]: row for row in await list_part_rows(req, upload_id)}
    seg = segments_container(bucket)
    entries, md5s = [], []
    for index, (number, etag) in enumerate(requested):
        row = stored.get(number)
        if row is None or str(row.get("hash", "")).lower() != etag:
            raise S3Error("InvalidPart", UploadId=upload_id, PartNumber=str(number), ETag=etag)
        size = int(row.get("bytes") or 0)
        if size < MIN_PART_SIZE and index != len(requested) - 1:
            raise S3Error("EntityTooSmall", ProposedSize=str(size), MinSizeAllowed=str(MIN_PART_SIZE),
                          PartNumber=str(number), ETag=etag)
        entries.append({"name": f"/{seg}/{row['name']}", "bytes": size, "hash": row["hash"],
                        "content_type": part_checksums.row_content_type(row),
                        "last_modified": row.get("last_modified", "")})
        md5s.append(row["hash"])
    declared = part_checksums.of_marker(marker)
    checksum, object_checksum = await part_checksums.complete_checksum(req, declared, requested, entries, body_xml,
                                                                       {r["name"]: r for r in stored.values()})
    part_checksums.check_complete_request(declared, checksum, req.headers, object_checksum)
    s3_etag = multipart_etag(md5s)
    total = sum(e["bytes"] for e in entries)
    manifest = json.dumps(entries).encode()
    headers = _manifest_headers(marker, slo_etag(entries), s3_etag, total)
    headers.update(carried_acl(marker))
    headers.update(object_lock.carried(marker))
    headers[s3h.SYSMETA_PARTS] = ",".join(str(e["bytes"]) for e in entries)[:8000]
    headers[s3h.SYSMETA_UPLOAD_ID] = upload_id
    headers.update(sse.manifest_headers(marker))
    if checksum and object_checksum:
        headers.update(part_checksums.stored_object_checksum(checksum, object_checksum))
        if declared is None:
            headers.update(part_checksums.DEFAULT_MARK)

    async def body() -> AsyncIterator[bytes]:
        yield manifest

    replaced = await current_multipart(req, bucket, key, bucket_info)

    async def write(version_sysmeta: dict, node_condition: dict[str, str] | None) -> Any:
        # the manifest lists the parts (each encrypted as the upload asked); the envelope headers mark it
        return await sse.client(req).put_object(req.account, bucket, key, {**headers, **version_sysmeta}, body(),
                                                len(manifest), condition=node_condition, stamp_at_commit=True,
                                                encryption=envelope.PLAINTEXT)

    resp, version_id, kept = await versioning.guarded_write(req, bucket, key, bucket_info, condition, write)
    if resp.status // 100 != 2:
        raise condition_error(resp, condition, key) or from_backend(resp.status, bucket, key)
    if not kept:  # a replaced multipart object kept as a version keeps its parts
        await release_parts(req, bucket, key, replaced)
    used = {row["name"] for n, row in stored.items() if n in set(numbers)}
    await _delete_many(req, seg, [r["name"] for r in stored.values() if r["name"] not in used]
                       + [marker_name(key, upload_id)])
    doc = _complete_result(req, bucket, key, s3_etag)
    if declared is not None:  # an upload created without an algorithm has S3's default, not named here
        part_checksums.add_elements(doc, checksum, object_checksum)
    out = sse.response_headers(sse.upload_reported(marker), req.headers)
    out.update(expiration_headers(req, bucket_info, key, total, object_tags(headers), time.time()))
    if version_id is not None and version_id != "null":
        out[versioning.VERSION_HEADER] = version_id
    return xml.xml_response(doc, headers=out)


def _complete_result(req: S3Request, bucket: str, key: str, s3_etag: str) -> Element:
    doc = xml.root("CompleteMultipartUploadResult")
    location = f"{req.request.url.scheme}://{req.headers.get('host', '')}/{quote(bucket)}/{quote(key)}"
    xml.add_all(doc, [("Location", location), ("Bucket", bucket), ("Key", key), ("ETag", f'"{s3_etag}"')])
    return doc


async def _completed_again(req: S3Request, bucket_info: dict, unknown: S3Error) -> Response:
    """A Complete repeated after it succeeded (a client retrying a lost answer) gets the same success, as
    AWS and Swift's s3api answer, when the key's current object is the one this upload made from the same
    parts; ``unknown`` (NoSuchUpload) otherwise."""
    bucket, key, upload_id = req.bucket or "", req.key or "", req.query["uploadId"]
    # the newest copy: a replica that missed the completion would answer NoSuchUpload for an upload that is done
    resp = await req.client.head_object(req.account, bucket, key, wire.READ_NEWEST)
    await resp.close()
    stored = dict(resp.headers.items()) if resp.status // 100 == 2 else {}
    if s3h._get(stored, s3h.SYSMETA_UPLOAD_ID) != upload_id:
        raise unknown  # no such upload, whatever the body says (it is not read)
    requested = _parse_complete(await xml.read_body(request_body(req, body_checksums=False)))
    if not all(re.fullmatch(r"[0-9a-f]{32}", etag) for _, etag in requested):
        raise unknown
    s3_etag = s3h._get(stored, s3h.SYSMETA_ETAG)
    if s3_etag != multipart_etag([etag for _, etag in requested]):
        raise unknown
    out = {}
    shown = versioning.response_version(stored, bucket_info)
    if shown is not None and shown != "null":
        out[versioning.VERSION_HEADER] = shown
    return xml.xml_response(_complete_result(req, bucket, key, s3_etag or ""), headers=out)


def _manifest_headers(marker: dict[str, str], slo_hash: str, s3_etag: str, total: int) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in marker.items():
        low = name.lower()
        if low.startswith("x-object-meta-") or low in CARRIED:
            out[name] = value
    ctype = s3h._get(marker, SYSMETA_CTYPE)
    out["Content-Type"] = ctype or "binary/octet-stream"
    for carried in (s3h.SYSMETA_TAGGING, s3h.SYSMETA_WEBSITE_REDIRECT):
        kept = s3h._get(marker, carried)
        if kept:
            out[carried] = kept
    out.update({
        "X-Static-Large-Object": "True",
        SLO_ETAG: slo_hash,
        SLO_SIZE: str(total),
        s3h.SYSMETA_ETAG: s3_etag,
        "X-Object-Sysmeta-Container-Update-Override-Etag": f"{slo_hash}; s3_etag={s3_etag}",
        "X-Object-Sysmeta-Container-Update-Override-Size": str(total),
    })
    return out


async def _delete_many(req: S3Request, container: str, names: list[str]) -> None:
    sem = asyncio.Semaphore(8)

    async def one(name: str) -> None:
        async with sem:
            await req.client.delete_object(req.account, container, name)

    await asyncio.gather(*(one(n) for n in names))


async def abort(req: S3Request) -> Response:
    await require_bucket(req)
    upload_id = req.query["uploadId"]
    await _upload_headers(req, upload_id)
    rows = await list_part_rows(req, upload_id)
    seg = segments_container(req.bucket or "")
    await _delete_many(req, seg, [r["name"] for r in rows])
    await req.client.delete_object(req.account, seg, marker_name(req.key or "", upload_id))
    return Response(status_code=204, headers={"Content-Type": EMPTY_ANSWER_TYPE, "Content-Length": "0"})


async def list_uploads(req: S3Request) -> Response:
    await require_bucket(req)
    prefix = req.query.get("prefix") or ""
    delimiter = req.query.get("delimiter") or None
    key_marker = req.query.get("key-marker") or ""
    id_marker = req.query.get("upload-id-marker") or ""
    raw_max = req.query.get("max-uploads") or "1000"
    if not is_ascii_digits(raw_max):
        raise S3Error("InvalidArgument", "max-uploads must be an integer", ArgumentName="max-uploads")
    max_uploads = min(int(raw_max), 1000)
    uploads: list[tuple[str, str, str, tuple[str, str] | None]] = []
    prefixes: list[str] = []
    truncated = False
    seg = segments_container(req.bucket or "")
    marker = None
    while not truncated:
        resp, rows = await req.client.list_container(req.account, seg, prefix=prefix or None, marker=marker,
                                                     limit=PAGE)
        if resp.status // 100 != 2:
            break
        for row in rows:
            if not is_upload_marker(row.get("content_type")):
                continue
            key, _, uid = row["name"].rpartition("/")
            if (key, uid) <= (key_marker, id_marker) and key_marker:
                continue
            if delimiter:
                rest = key[len(prefix):]
                idx = rest.find(delimiter)
                if idx >= 0:
                    common = prefix + rest[: idx + len(delimiter)]
                    if common not in prefixes and common > key_marker:
                        if len(uploads) + len(prefixes) >= max_uploads:
                            truncated = True
                            break
                        prefixes.append(common)
                    continue
            if len(uploads) + len(prefixes) >= max_uploads:
                truncated = True
                break
            uploads.append((key, uid, row.get("last_modified", ""), _initiator(row.get("content_type") or "")))
        if len(rows) < PAGE:
            break
        marker = rows[-1]["name"]
    doc = xml.root("ListMultipartUploadsResult")
    xml.add_all(doc, [("Bucket", req.bucket), ("KeyMarker", key_marker), ("UploadIdMarker", id_marker)])
    if uploads:
        xml.add(doc, "NextKeyMarker", uploads[-1][0])
        xml.add(doc, "NextUploadIdMarker", uploads[-1][1])
    xml.add(doc, "Prefix", prefix)
    if delimiter:
        xml.add(doc, "Delimiter", delimiter)
    xml.add(doc, "MaxUploads", max_uploads)
    xml.add(doc, "IsTruncated", truncated)
    for key, uid, initiated, initiator in uploads:
        el = xml.add(doc, "Upload")
        xml.add(el, "Key", key)
        xml.add(el, "UploadId", uid)
        for tag in ("Initiator", "Owner"):
            if initiator is None:  # an upload from before initiators were kept: the bucket's owner
                owner(req, el, tag)
            else:
                who = xml.add(el, tag)
                xml.add(who, "ID", canonical_id(initiator[0]))
                xml.add(who, "DisplayName", initiator[1])
        xml.add(el, "StorageClass", "STANDARD")
        xml.add(el, "Initiated", iso_from_swift(initiated))
    for p in prefixes:
        xml.add(xml.add(doc, "CommonPrefixes"), "Prefix", p)
    return xml.xml_response(doc)
