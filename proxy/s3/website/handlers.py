"""Put/Get/DeleteBucketWebsite: the configuration kept in the bucket's sysmeta (``proxy.s3.policy.storage``,
blob ``website``), where the website endpoint finds it in the container info the proxy caches."""

from __future__ import annotations

from starlette.responses import Response

from proxy.s3 import xml
from proxy.s3.bucket import require_bucket
from proxy.s3.context import S3Request
from proxy.s3.errors import S3Error
from proxy.s3.policy import storage
from proxy.s3.upload import request_body
from proxy.s3.website.config import MAX_CONFIG_BYTES, WebsiteConfig, parse_website, render_website, stored_website

WEBSITE = "website"  # the blob name in the bucket's sysmeta


async def put_bucket_website(req: S3Request) -> Response:
    """PutBucketWebsite: validate and store the configuration, replacing any (200)."""
    await require_bucket(req)
    body = await xml.read_body(request_body(req), MAX_CONFIG_BYTES)
    config = parse_website(body)
    try:
        await storage.save(req, req.account, req.bucket or "", render_website(config), WEBSITE)
    except S3Error as err:
        if err.code == "MalformedPolicy":  # too large to store even compressed
            raise S3Error("InvalidRequest", "The website configuration is too large") from None
        raise
    return Response(b"", 200)


async def get_bucket_website(req: S3Request) -> Response:
    """GetBucketWebsite: the configuration (NoSuchWebsiteConfiguration when none)."""
    await require_bucket(req)
    text = await storage.load_text(req, req.account, req.bucket or "", WEBSITE)
    if text is None:
        raise S3Error("NoSuchWebsiteConfiguration", BucketName=req.bucket)
    return Response(text, 200, media_type="application/xml")


async def delete_bucket_website(req: S3Request) -> Response:
    """DeleteBucketWebsite: remove the configuration (204, whether or not there was one)."""
    await require_bucket(req)
    await storage.save(req, req.account, req.bucket or "", None, WEBSITE)
    return Response(status_code=204)


async def bucket_website(req: S3Request, account: str, bucket: str) -> WebsiteConfig | None:
    """The bucket's website configuration (None: none, or no such bucket)."""
    text = await storage.load_text(req, account, bucket, WEBSITE)
    return None if text is None else stored_website(text)
