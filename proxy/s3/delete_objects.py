"""DeleteObjects (``POST /b?delete``): up to 1000 keys; Content-MD5 accepted but never required."""

from __future__ import annotations

import asyncio
import hashlib

from starlette.responses import Response

from proxy.s3 import checksums, xml
from proxy.s3.bucket import require_bucket
from proxy.s3.context import S3Request
from proxy.s3.errors import S3Error
from proxy.s3.objects import delete_key
from proxy.s3.policy import policy_decision
from proxy.s3.upload import content_md5, request_body

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

    async def one(key: str, version: str | None) -> tuple[str, str | None, str | None]:
        if version not in (None, "", "null"):
            return key, "NoSuchVersion", "The specified version does not exist."
        async with sem:
            try:
                # the request passed the bucket-wide check; a policy may still deny some keys (AWS decides
                # s3:DeleteObject per key: that key's entry is AccessDenied, the others are deleted)
                if await policy_decision(req, "s3:DeleteObject", req.bucket or "", key) == "deny":
                    return key, "AccessDenied", "Access Denied"
                await delete_key(req, req.bucket or "", key, bucket_info)
            except S3Error as err:
                return key, err.code, err.message
        return key, None, None

    results = await asyncio.gather(*(one(k, v) for k, v in keys))
    out = xml.root("DeleteResult")
    for key, code, message in results:
        if code is None:
            if not quiet:
                xml.add(xml.add(out, "Deleted"), "Key", key)
        else:
            el = xml.add(out, "Error")
            xml.add_all(el, [("Key", key), ("Code", code), ("Message", message)])
    return xml.xml_response(out)
