"""Get/PutBucketLogging: the bucket's ``BucketLoggingStatus`` (``proxy.s3.access_log.config``).

PutBucketLogging (``s3:PutBucketLogging`` on the source, checked by the router) accepts a target bucket
that exists and belongs to the source bucket's owner (AWS: InvalidTargetBucketForLogging otherwise); a
target may itself log into the source, and a bucket may log into itself, as AWS allows.
"""

from __future__ import annotations

from starlette.responses import Response

from proxy.s3 import xml
from proxy.s3.access_log.config import BLOB, LoggingConfig, parse_status, stored_config, to_xml
from proxy.s3.bucket import require_bucket
from proxy.s3.context import S3Request
from proxy.s3.errors import S3Error
from proxy.s3.namespace import owner_account
from proxy.s3.policy import storage
from proxy.s3.upload import request_body


async def get_bucket_logging(req: S3Request) -> Response:
    """The bucket's ``BucketLoggingStatus`` (empty when logging is off)."""
    info = await require_bucket(req)
    return xml.xml_response(to_xml(stored_config(info.get("sysmeta", {}))))


async def put_bucket_logging(req: S3Request) -> Response:
    """Enable (``LoggingEnabled``) or disable (an empty status) access logging of the bucket; 200."""
    await require_bucket(req)
    config = parse_status(await xml.read_body(request_body(req)))
    if config is not None:
        await check_target(req, config)
    text = xml.to_bytes(to_xml(config)) if config is not None else None
    await storage.save(req, req.account, req.bucket or "", text, BLOB)
    return Response(b"", 200)


async def check_target(req: S3Request, config: LoggingConfig) -> None:
    """InvalidTargetBucketForLogging unless the target exists and is owned by the source bucket's owner."""
    target = config.target_bucket
    account = await owner_account(req.state, target)
    if account is None:
        info = await req.state.container_info(req.account, target)  # an unregistered container of the owner
        account = req.account if 200 <= info.get("status", 404) < 300 and "+" not in target else None
    if account is None:
        raise S3Error("InvalidTargetBucketForLogging", "The target bucket for logging does not exist",
                      TargetBucket=target)
    if account != req.account:
        raise S3Error("InvalidTargetBucketForLogging", "The owner for the bucket to be logged and the target "
                      "bucket must be the same.", TargetBucket=target)
    info = await req.state.container_info(account, target)
    if not 200 <= info.get("status", 404) < 300:
        raise S3Error("InvalidTargetBucketForLogging", "The target bucket for logging does not exist",
                      TargetBucket=target)
