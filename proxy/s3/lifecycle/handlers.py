"""Get/Put/DeleteBucketLifecycleConfiguration: the rules live in the bucket's container sysmeta.

Storing them there puts them in the proxy's cached container info (so ``x-amz-expiration`` costs no
extra request) and in every container replica, where the storage nodes' lifecycle task reads them.
"""

from __future__ import annotations

import base64
import hashlib

from starlette.responses import Response

from proxy.s3 import xml
from proxy.s3.bucket import require_bucket
from proxy.s3.context import S3Request
from proxy.s3.errors import S3Error, from_backend
from proxy.s3.lifecycle.config_xml import parse_configuration, render_configuration
from proxy.s3.upload import content_md5, request_body
from stackstore.lifecycle import ConfigurationTooLarge, from_info_sysmeta, to_sysmeta


async def _store(req: S3Request, headers: dict[str, str]) -> None:
    bucket = req.bucket or ""
    resp = await req.client.post_container(req.account, bucket, headers)
    req.state.invalidate_info(req.account, bucket)
    if resp.status // 100 != 2:
        raise from_backend(resp.status, bucket)


async def get_lifecycle(req: S3Request) -> Response:
    """GetBucketLifecycleConfiguration: the stored rules, or NoSuchLifecycleConfiguration (404)."""
    info = await require_bucket(req)
    rules = from_info_sysmeta(info.get("sysmeta", {}))
    if not rules:
        raise S3Error("NoSuchLifecycleConfiguration", BucketName=req.bucket)
    return xml.xml_response(render_configuration(rules))


async def put_lifecycle(req: S3Request) -> Response:
    """PutBucketLifecycleConfiguration (and the legacy PutBucketLifecycle): validate, then replace."""
    await require_bucket(req)
    md5 = content_md5(req.headers.get("content-md5"))
    body = await xml.read_body(request_body(req))
    if md5 is not None and base64.b64encode(hashlib.md5(body).digest()).decode() != md5:
        raise S3Error("BadDigest", "The Content-MD5 you specified did not match what we received.")
    rules = parse_configuration(body)
    try:
        headers = to_sysmeta(rules)
    except ConfigurationTooLarge:
        raise S3Error("InvalidRequest", "The lifecycle configuration is too large") from None
    await _store(req, headers)
    return Response(b"", 200)


async def delete_lifecycle(req: S3Request) -> Response:
    """DeleteBucketLifecycle: remove the rules (204 whether or not there were any)."""
    await require_bucket(req)
    await _store(req, to_sysmeta(None))
    return Response(status_code=204)
