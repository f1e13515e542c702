"""ListObjects (v1), ListObjectsV2 over the container listing; ListObjectVersions over the versioning engine.

The storage listing returns exactly ``limit`` rows whenever more exist, so asking for
``max-keys + 1`` rows tells exactly whether the answer is truncated. Keys and prefixes count
together against ``max-keys``; a marker inside an already returned common prefix skips the rest of
that prefix.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import quote
from xml.etree.ElementTree import Element

from starlette.responses import Response

from proxy.s3 import xml
from proxy.s3.bucket import owner, require_bucket
from proxy.s3.context import S3Request
from proxy.s3.errors import S3Error, from_backend
from proxy.s3.headers import iso_from_swift
from proxy.versioning import engine
from proxy.versioning.listing import VersionsQuery, list_versions
from stackstore import versioning_names as names
from stackstore.numbers import parse_int

MAX_KEYS = 1000
PREFIX_END = "\U0010ffff"


@dataclass
class Page:
    contents: list[dict]
    prefixes: list[str]
    truncated: bool
    last: str | None  # last key or common prefix returned


def listing_etag(row_hash: str) -> str:
    """The S3 ETag from a listing row hash (``<slo etag>; s3_etag=<etag>`` for multipart uploads; a
    Swift SLO's ``<manifest md5>; slo_etag=<etag>`` gives the SLO's ETag, as its GET does)."""
    value = str(row_hash or "")
    params = {}
    for param in value.split(";")[1:]:
        name, _, v = param.strip().partition("=")
        params[name] = v.strip('"')
    return params.get("s3_etag") or params.get("slo_etag") or value.split(";")[0].strip().strip('"')


def _max_keys(req: S3Request) -> int:
    raw = req.query.get("max-keys")
    if raw is None or raw == "":
        return MAX_KEYS
    value = parse_int(raw)
    if value is None:
        raise S3Error("InvalidArgument", "Provided max-keys not an integer or within integer range",
                      ArgumentName="max-keys", ArgumentValue=raw)
    if value < 0:
        raise S3Error("InvalidArgument", "Argument maxKeys must be an integer between 0 and 2147483647",
                      ArgumentName="max-keys", ArgumentValue=raw)
    return min(value, MAX_KEYS)


def _backend_marker(marker: str | None, prefix: str, delimiter: str | None) -> str | None:
    """Skip the rest of a common prefix the marker falls into (it was returned already)."""
    if not marker or not delimiter or not marker.startswith(prefix):
        return marker
    rest = marker[len(prefix):]
    idx = rest.find(delimiter)
    if idx < 0:
        return marker
    return prefix + rest[: idx + len(delimiter)] + PREFIX_END


async def list_page(req: S3Request, container: str, prefix: str, delimiter: str | None, marker: str | None,
                    max_keys: int) -> Page:
    """One S3 page (keys + common prefixes ≤ max_keys) after ``marker``."""
    if max_keys == 0:
        return Page([], [], False, None)
    resp, rows = await req.client.list_container(
        req.account, container, prefix=prefix or None, delimiter=delimiter or None,
        marker=_backend_marker(marker, prefix, delimiter), limit=max_keys + 1)
    if resp.status == 404:
        raise S3Error("NoSuchBucket", BucketName=container)
    if resp.status // 100 != 2:
        raise from_backend(resp.status, container)
    truncated = len(rows) > max_keys
    rows = rows[:max_keys]
    contents, prefixes, last = [], [], None
    for row in rows:
        if "subdir" in row:
            prefixes.append(row["subdir"])
            last = row["subdir"]
        elif "name" in row:
            contents.append(row)
            last = row["name"]
    return Page(contents, prefixes, truncated, last)


def _enc(value: str | None, url: bool) -> str | None:
    if value is None:
        return None
    return quote(value, safe="/") if url else value


def _contents(req: S3Request, parent: Element, page: Page, url: bool, with_owner: bool, tag: str = "Contents",
              version: bool = False) -> None:
    for row in page.contents:
        el = xml.add(parent, tag)
        xml.add(el, "Key", _enc(row["name"], url))
        if version:
            xml.add(el, "VersionId", "null")
            xml.add(el, "IsLatest", True)
        xml.add(el, "LastModified", iso_from_swift(row.get("last_modified", "")))
        xml.add(el, "ETag", f'"{listing_etag(row.get("hash", ""))}"')
        xml.add(el, "Size", int(row.get("bytes") or 0))
        if with_owner:  # before StorageClass, in the order Swift's s3api schema validates
            owner(req, el)
        xml.add(el, "StorageClass", "STANDARD")
    for p in page.prefixes:
        xml.add(xml.add(parent, "CommonPrefixes"), "Prefix", _enc(p, url))


def _params(req: S3Request) -> tuple[str, str | None, bool]:
    prefix = req.query.get("prefix") or ""
    delimiter = req.query.get("delimiter") or None  # rclone sends delimiter= for recursive listings
    encoding = req.query.get("encoding-type")
    if encoding is not None and encoding != "url":
        raise S3Error("InvalidArgument", "Invalid Encoding Method specified in Request",
                      ArgumentName="encoding-type", ArgumentValue=encoding)
    return prefix, delimiter, encoding == "url"


async def list_objects_v1(req: S3Request) -> Response:
    await require_bucket(req)
    prefix, delimiter, url = _params(req)
    max_keys = _max_keys(req)
    marker = req.query.get("marker") or None
    page = await list_page(req, req.bucket or "", prefix, delimiter, marker, max_keys)
    doc = xml.root("ListBucketResult")
    xml.add(doc, "Name", req.bucket)
    xml.add(doc, "Prefix", prefix)  # never url-encoded in v1, as AWS (botocore decodes it only in v2)
    xml.add(doc, "Marker", _enc(marker or "", url))
    if page.truncated and delimiter:
        xml.add(doc, "NextMarker", _enc(page.last, url))
    xml.add(doc, "MaxKeys", max_keys)
    if delimiter:
        xml.add(doc, "Delimiter", _enc(delimiter, url))
    if url:
        xml.add(doc, "EncodingType", "url")
    xml.add(doc, "IsTruncated", page.truncated)
    _contents(req, doc, page, url, with_owner=True)
    return xml.xml_response(doc)


def continuation_token(name: str) -> str:
    """The opaque continuation token of a listing that goes on after ``name`` (ListObjectsV2, ListBuckets)."""
    return base64.urlsafe_b64encode(name.encode("utf-8")).decode()


def token_marker(token: str) -> str:
    """The name a ``continuation_token`` stands for; InvalidArgument for a token this proxy did not make."""
    try:
        return base64.urlsafe_b64decode(token.encode() + b"=" * (-len(token) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise S3Error("InvalidArgument", "The continuation token provided is incorrect",
                      ArgumentName="continuation-token") from None


async def list_objects_v2(req: S3Request) -> Response:
    await require_bucket(req)
    prefix, delimiter, url = _params(req)
    max_keys = _max_keys(req)
    token = req.query.get("continuation-token")
    start_after = req.query.get("start-after") or None
    marker = token_marker(token) if token else start_after
    page = await list_page(req, req.bucket or "", prefix, delimiter, marker, max_keys)
    doc = xml.root("ListBucketResult")
    xml.add(doc, "Name", req.bucket)
    xml.add(doc, "Prefix", _enc(prefix, url))
    if "start-after" in req.query:  # echoed when given, even empty, as S3 does
        xml.add(doc, "StartAfter", _enc(start_after or "", url))
    if token is not None:  # echoed when given, even empty, as S3 does
        xml.add(doc, "ContinuationToken", token)
    if page.truncated and page.last:
        xml.add(doc, "NextContinuationToken", continuation_token(page.last))
    xml.add(doc, "KeyCount", len(page.contents) + len(page.prefixes))
    xml.add(doc, "MaxKeys", max_keys)
    if delimiter:
        xml.add(doc, "Delimiter", _enc(delimiter, url))
    if url:
        xml.add(doc, "EncodingType", "url")
    xml.add(doc, "IsTruncated", page.truncated)
    _contents(req, doc, page, url, with_owner=req.query.get("fetch-owner") == "true")
    return xml.xml_response(doc)


async def list_object_versions(req: S3Request) -> Response:
    """ListObjectVersions over the versioning engine's all-versions listing (proxy/versioning/listing.py):
    keys ascending, each key's versions newest first, delete markers among them; a never-versioned
    bucket lists each key once as its ``null`` version."""
    info = await require_bucket(req)
    prefix, delimiter, url = _params(req)
    max_keys = _max_keys(req)
    key_marker = req.query.get("key-marker") or ""
    version_marker = req.query.get("version-id-marker") or ""
    if version_marker and not key_marker:
        raise S3Error("InvalidArgument", "A version-id marker cannot be specified without a key marker.",
                      ArgumentName="version-id-marker", ArgumentValue=version_marker)
    if version_marker and not names.valid_version_id(version_marker):
        raise S3Error("InvalidArgument", "Invalid version id specified", ArgumentName="version-id-marker",
                      ArgumentValue=version_marker)
    rows: list[dict] = []
    if max_keys:
        marker = key_marker if version_marker else (_backend_marker(key_marker, prefix, delimiter) or "")
        rows = await list_versions(req, req.account, req.bucket or "", VersionsQuery(
            prefix=prefix, delimiter=delimiter, marker=marker, version_marker=version_marker, limit=max_keys + 1,
            null_ids=True))
    truncated = len(rows) > max_keys
    rows = rows[:max_keys]
    versioned = engine.state_of(info) is not None
    doc = xml.root("ListVersionsResult")
    xml.add(doc, "Name", req.bucket)
    xml.add(doc, "Prefix", _enc(prefix, url))
    xml.add(doc, "KeyMarker", _enc(key_marker, url))
    xml.add(doc, "VersionIdMarker", version_marker)
    if truncated and rows:
        last = rows[-1]
        if "subdir" in last:
            xml.add(doc, "NextKeyMarker", _enc(last["subdir"], url))
        else:
            xml.add(doc, "NextKeyMarker", _enc(last["name"], url))
            xml.add(doc, "NextVersionIdMarker", last["version_id"] if versioned else "null")
    xml.add(doc, "MaxKeys", max_keys)
    if delimiter or "delimiter" in req.query:  # ListObjectVersions echoes a given delimiter, even empty
        xml.add(doc, "Delimiter", _enc(delimiter or "", url))
    if url:
        xml.add(doc, "EncodingType", "url")
    xml.add(doc, "IsTruncated", truncated)
    for row in rows:
        if "subdir" in row:
            continue
        is_marker = engine.is_delete_marker(row)
        el = xml.add(doc, "DeleteMarker" if is_marker else "Version")
        xml.add(el, "Key", _enc(row["name"], url))
        xml.add(el, "VersionId", row["version_id"] if versioned else "null")
        xml.add(el, "IsLatest", bool(row.get("is_latest")))
        xml.add(el, "LastModified", iso_from_swift(row.get("last_modified", "")))
        if not is_marker:
            xml.add(el, "ETag", f'"{listing_etag(row.get("hash", ""))}"')
            xml.add(el, "Size", int(row.get("bytes") or 0))
        owner(req, el)
        if not is_marker:
            xml.add(el, "StorageClass", "STANDARD")
    for row in rows:
        if "subdir" in row:
            xml.add(xml.add(doc, "CommonPrefixes"), "Prefix", _enc(row["subdir"], url))
    return xml.xml_response(doc)
