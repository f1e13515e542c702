"""ListBuckets: the caller's buckets, paged (``max-buckets``, ``continuation-token``) and filtered (``prefix``).

A bucket's ``CreationDate`` is its container's put timestamp from the account listing; the hidden
``<bucket>+segments`` containers are never listed. Without ``max-buckets`` every bucket is answered in
one document, as AWS does for accounts under its default limit.
"""

from __future__ import annotations

from starlette.responses import Response

from proxy.s3 import namespace, xml
from proxy.s3.bucket import SEGMENTS_SUFFIX, owner
from proxy.s3.context import S3Request
from proxy.s3.errors import S3Error, from_backend
from proxy.s3.headers import iso_from_swift
from proxy.s3.listing import continuation_token, token_marker
from stackstore.numbers import is_ascii_digits
from stackstore.versioning_names import is_reserved

PAGE = 10000
MAX_BUCKETS = 10000


def _max_buckets(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not is_ascii_digits(raw) or not 1 <= int(raw) <= MAX_BUCKETS:
        raise S3Error("InvalidArgument", f"max-buckets must be an integer between 1 and {MAX_BUCKETS}",
                      ArgumentName="max-buckets", ArgumentValue=raw)
    return int(raw)


async def list_buckets(req: S3Request) -> Response:
    """ListBuckets (GET /): Owner, Buckets (Name, CreationDate, BucketRegion), ContinuationToken, Prefix."""
    limit = _max_buckets(req.query.get("max-buckets"))
    prefix = req.query.get("prefix") or None
    token = req.query.get("continuation-token")
    marker = token_marker(token) if token else None
    rows: list[dict] = []
    truncated = False
    while not truncated:
        resp, page = await req.client.list_account(req.account, prefix=prefix, marker=marker, limit=PAGE)
        if resp.status == 404:
            break
        if resp.status // 100 != 2:
            raise from_backend(resp.status)
        # a Swift container whose name another account holds as a bucket is not this account's bucket
        hidden = await namespace.registered_elsewhere(req.state, req.account, [r.get("name", "") for r in page])
        for row in page:
            name = row.get("name")
            if not name or name.endswith(SEGMENTS_SUFFIX) or name in hidden or is_reserved(name):
                continue
            if limit is not None and len(rows) == limit:
                truncated = True
                break
            rows.append(row)
        if len(page) < PAGE:
            break
        marker = page[-1]["name"]
    doc = xml.root("ListAllMyBucketsResult")
    owner(req, doc)
    buckets = xml.add(doc, "Buckets")
    for row in rows:
        b = xml.add(buckets, "Bucket")
        xml.add(b, "Name", row["name"])
        xml.add(b, "CreationDate", iso_from_swift(row.get("last_modified", "")))
        xml.add(b, "BucketRegion", req.region)
    if truncated and rows:
        xml.add(doc, "ContinuationToken", continuation_token(rows[-1]["name"]))
    if prefix is not None:
        xml.add(doc, "Prefix", prefix)
    if req.method == "HEAD":
        return Response(b"", 200, media_type="application/xml")
    return xml.xml_response(doc)
