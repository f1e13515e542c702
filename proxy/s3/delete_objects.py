"""DeleteObjects (``POST /b?delete``): up to 1000 keys; Content-MD5 accepted but never required."""

from __future__ import annotations

import asyncio
import hashlib

from starlette.responses import Response

from proxy.s3 import checksums, xml
from proxy.s3.bucket import require_bucket
from proxy.s3.context import S3Request
from proxy.s3.errors import S3Error
from proxy.s3.objects import delete_in_bucket
from proxy.s3.policy import policy_decision
from proxy.s3.upload import content_md5, request_body
from proxy.s3.versioning import DELETE_MARKER_HEADER, VERSION_HEADER

MAX_KEYS = 1000
CONCURRENCY = 10


async def delete_objects(req: S3Request) -> Response:
    bucket_info = await require_bucket(req)
    body = await xml.read_body(request_body(req))
    md5 = content_md5(req.headers.get("content-md5"))
    if md5 is not None and checksums.b64(hashlib.md5(body).digest()) != md5:
        raise S3Error("BadDigest")
    for alg, value in checksums.requested_checksums(req.headers).items():
        if checksums.checksum_of(alg, body) != value:
            raise S3Error("BadDigest")
    doc = xml.parse(body, "Delete")
    quiet = (xml.child_text(doc, "Quiet") or "").strip().lower() == "true"
    keys = []
    for el in xml.children(doc, "Object"):
        key = xml.child_text(el, "Key")
        if key is None:
            raise S3Error("MalformedXML")
        if not key:
            raise S3Error("UserKeyMustBeSpecified")
        keys.append((key, xml.child_text(el, "VersionId")))
    if not keys:  # a Delete names at least one Object (S3's schema)
        raise S3Error("MalformedXML")
    if len(keys) > MAX_KEYS:
        raise S3Error("MalformedXML", f"The request must contain no more than {MAX_KEYS} objects")
    sem = asyncio.Semaphore(CONCURRENCY)

    async def one(key: str, version: str | None) -> tuple[str, str | None, dict[str, str], str | None, str | None]:
        async with sem:
            try:
                # the request passed the bucket-wide check; a policy may still deny some keys (AWS decides
                # s3:DeleteObject per key: that key's entry is AccessDenied, the others are deleted)
                action = "s3:DeleteObjectVersion" if version else "s3:DeleteObject"
                if await policy_decision(req, action, req.bucket or "", key) == "deny":
                    return key, version, {}, "AccessDenied", "Access Denied"
                headers = await delete_in_bucket(req, req.bucket or "", key, version or None, bucket_info)
            except S3Error as err:
                return key, version, {}, err.code, err.message
        return key, version, headers, None, None

    # one key's entries run one after another (each may change which version is current), keys in parallel
    by_key: dict[str, list[int]] = {}
    for index, (key, _version) in enumerate(keys):
        by_key.setdefault(key, []).append(index)
    answers: dict[int, tuple] = {}

    async def in_order(indexes: list[int]) -> None:
        for index in indexes:
            answers[index] = await one(*keys[index])

    await asyncio.gather(*(in_order(indexes) for indexes in by_key.values()))
    results = [answers[index] for index in range(len(keys))]
    out = xml.root("DeleteResult")
    for key, version, headers, code, message in results:
        if code is None:
            if not quiet:
                el = xml.add(out, "Deleted")
                xml.add(el, "Key", key)
                if version:
                    xml.add(el, "VersionId", version)
                if headers.get(DELETE_MARKER_HEADER) == "true":
                    xml.add(el, "DeleteMarker", "true")
                    xml.add(el, "DeleteMarkerVersionId", headers.get(VERSION_HEADER, ""))
        else:
            el = xml.add(out, "Error")
            xml.add_all(el, [("Key", key), *([("VersionId", version)] if version else []), ("Code", code),
                             ("Message", message)])
    return xml.xml_response(out)
