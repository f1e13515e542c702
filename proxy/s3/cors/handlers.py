"""Put/Get/DeleteBucketCors: the configuration kept in the bucket's sysmeta (``proxy.s3.policy.storage``)."""

from __future__ import annotations

from starlette.responses import Response

from proxy.s3.bucket import require_bucket
from proxy.s3.context import S3Request
from proxy.s3.cors.config import MAX_CONFIG_BYTES, CorsRule, parse_cors
from proxy.s3.errors import S3Error
from proxy.s3.policy import storage
from proxy.s3.upload import request_body

CORS = "cors"  # the blob name in the bucket's sysmeta


async def put_bucket_cors(req: S3Request) -> Response:
    """PutBucketCors: validate and store the configuration (200)."""
    await require_bucket(req)
    body = bytearray()
    async for chunk in request_body(req):
        body += chunk
        if len(body) > MAX_CONFIG_BYTES:
            raise S3Error("MalformedXML", "The CORS configuration must be no more than 64 KB")
    parse_cors(bytes(body))
    try:
        await storage.save(req, req.account, req.bucket or "", bytes(body), CORS)
    except S3Error as err:
        if err.code == "MalformedPolicy":  # too large to store even compressed
            raise S3Error("InvalidRequest", "The CORS configuration is too large") from None
        raise
    return Response(b"", 200)


async def get_bucket_cors(req: S3Request) -> Response:
    """GetBucketCors: the configuration as put (NoSuchCORSConfiguration when none)."""
    await require_bucket(req)
    text = await storage.load_text(req, req.account, req.bucket or "", CORS)
    if text is None:
        raise S3Error("NoSuchCORSConfiguration", BucketName=req.bucket)
    return Response(text, 200, media_type="application/xml")


async def delete_bucket_cors(req: S3Request) -> Response:
    """DeleteBucketCors: remove the configuration (204)."""
    await require_bucket(req)
    await storage.save(req, req.account, req.bucket or "", None, CORS)
    return Response(status_code=204)


async def bucket_rules(req: S3Request, account: str, bucket: str) -> tuple[CorsRule, ...] | None:
    """The bucket's CORS rules (None: no configuration, or no such bucket)."""
    text = await storage.load_text(req, account, bucket, CORS)
    return None if text is None else parse_cors(text)
