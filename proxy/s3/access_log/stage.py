"""The per-request access-log stage: ``prepare`` after the S3 answer is made, ``send_logged`` while it is sent.

For a bucket without logging the stage costs one lookup in the container info the S3 layer already loaded
(cached): ``prepare`` answers None and the response is sent untouched. For a logging bucket the response's
``send`` is wrapped to count the body bytes and time the last one, then the record is queued for delivery
(``proxy.s3.access_log.delivery``); the request never waits for it. Every S3 request addressing an existing
bucket is logged, refused ones (403, 404 NoSuchKey...) included; Swift requests are not (AWS logs S3 only).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from proxy.context import ProxyState
from proxy.http.relay import SPLICED_BYTES
from proxy.s3.access_log.config import DELIVERY_TIME, LoggingConfig, stored_config
from proxy.s3.access_log.delivery import BatchKey, delivery_of, key_prefix
from proxy.s3.access_log.record import AccessRecord, operation_name, request_uri
from proxy.s3.bucket import check_addressable_bucket_name
from proxy.s3.context import S3Request
from proxy.s3.copy import parse_copy_source
from proxy.s3.errors import S3Error
from proxy.s3.namespace import owner_account
from proxy.s3.operations import COPY_SOURCE_HEADER, level_of, operation_of
from proxy.s3.owners import canonical_id

log = logging.getLogger("stackstore.proxy.s3.access_log")

SCOPE_KEY = "stackstore.s3_access_log"  # the request's list of PendingRecord, when any bucket logs it
COPY_OPERATIONS = frozenset({"CopyObject", "UploadPartCopy"})
COPY_SOURCE_OPERATION = "REST.COPY.OBJECT_GET"
PREFLIGHT_OPERATION = "REST.OPTIONS.PREFLIGHT"  # a CORS preflight, as AWS names it


@dataclass
class PendingRecord:
    """A record waiting for its response to be sent (bytes sent and total time are known only then)."""

    record: AccessRecord
    started: float  # monotonic time the request arrived
    batch: BatchKey
    partition_at_delivery: bool  # PartitionedPrefix by DeliveryTime: the date path is added when written
    state: ProxyState
    counts_bytes: bool = True  # the response's body bytes are this record's (not a copy source's record)


CONFIG_KEY = "access_log"  # req.extras: (bucket account, configuration) or None, noted by the router
_NOT_NOTED = object()


async def note_bucket_config(req: S3Request) -> None:
    """Note whether the addressed bucket logs (``req.extras``), from the container info the S3 layer loads
    anyway (cached); called by the router once the bucket's owner is known, before authorizing, so refused
    requests are logged too and a write that drops the cached info costs no second fetch."""
    account = req.extras.get("bucket_account") or (req.credential.account if req.auth is not None else "")
    if req.bucket is None or not account or not is_addressable(req.bucket):
        return
    req.extras[CONFIG_KEY] = await _config_of(req, account)


def is_addressable(bucket: str) -> bool:
    """A name some bucket can have (never a ``+segments`` container, never a malformed name)."""
    if "+" in bucket:
        return False
    try:
        check_addressable_bucket_name(bucket)
    except S3Error:
        return False
    return True


async def _config_of(req: S3Request, account: str, bucket: str | None = None) -> tuple[str, LoggingConfig] | None:
    info = await req.state.container_info(account, bucket or req.bucket or "")
    if not 200 <= info.get("status", 404) < 300:
        return None
    config = stored_config(info.get("sysmeta", {}))
    return None if config is None else (account, config)


async def prepare(req: S3Request | None, resp: Response, error_code: str, started: float) -> None:
    """Note the records of this request in its scope when its bucket (or a copy's source bucket) logs (see
    ``send_logged``)."""
    if req is None or req.bucket is None:
        return
    found = req.extras.get(CONFIG_KEY, _NOT_NOTED)
    operation = req.extras.get("operation")
    copying = operation is not None and operation.name in COPY_OPERATIONS
    if found is None and not copying:  # the common case: a routed request to a bucket that does not log
        return
    try:
        if found is _NOT_NOTED:  # refused before routing (a bad signature): only errors are looked up
            found = None
            if error_code and is_addressable(req.bucket):
                account = await owner_account(req.state, req.bucket)
                found = None if account is None else await _config_of(req, account)
        pending = []
        if found is not None:
            pending.append(_pending(req, resp, error_code, started, *found))
        if copying:
            pending += await _copy_source_record(req, resp, error_code, started)
        if pending:
            req.request.scope[SCOPE_KEY] = pending
    except Exception:  # logging must never break the answer
        log.warning("S3 access log: no record for %s %s", req.method, req.resource, exc_info=True)


async def _copy_source_record(req: S3Request, resp: Response, error_code: str,
                              started: float) -> list[PendingRecord]:
    """AWS's second record of a copy, ``REST.COPY.OBJECT_GET`` in the source bucket's log (when it logs)."""
    try:
        bucket, key = parse_copy_source(req.headers.get(COPY_SOURCE_HEADER, ""))
    except S3Error:
        return []
    if not is_addressable(bucket):
        return []
    account = await owner_account(req.state, bucket)
    found = None if account is None else await _config_of(req, account, bucket)
    if found is None:
        return []
    return [_pending(req, resp, error_code, started, *found, source=(bucket, key))]


def _pending(req: S3Request, resp: Response, error_code: str, started: float, account: str,
             config: LoggingConfig, source: tuple[str, str] | None = None) -> PendingRecord:
    """The record of ``req`` for the log of its bucket (``source``: of a copy's source bucket and key)."""
    scope = req.request.scope
    headers = req.headers
    operation = operation_of(req)
    level = level_of(req.bucket, req.key)
    subresource = operation.subresource if operation is not None else None
    auth = req.auth
    requester = "-"
    if auth is not None and not auth.credential.identity.is_anonymous and auth.credential.account:
        requester = canonical_id(auth.credential.account)
    signature, auth_type = _signature(req)
    client = scope.get("client")
    turnaround = time.monotonic() - started
    received = time.time() - turnaround  # AWS's time field: when the request was received
    region = req.region
    bucket, key = source or (req.bucket or "", req.key)
    name = operation_name(req.method, operation.name if operation else None, subresource, level)
    if req.method == "OPTIONS":
        name = PREFLIGHT_OPERATION
    elif req.extras.get("website"):  # a read through the website endpoint (proxy/s3/website)
        name = "WEBSITE." + name.partition(".")[2]
    version_id = resp.headers.get("x-amz-version-id", "") or req.query.get("versionId", "")
    if source is not None:  # what AWS logs in the source bucket's log for the read a copy makes
        name, version_id = COPY_SOURCE_OPERATION, resp.headers.get("x-amz-copy-source-version-id", "")
    record = AccessRecord(
        bucket_owner=canonical_id(account), bucket=bucket, time=received,
        remote_ip=client[0] if client else "", requester=requester, request_id=req.trans_id,
        operation=name, key=key, request_uri=request_uri(req.method, req.raw_path, req.raw_query,
                                             str(scope.get("http_version", "1.1"))),
        status=resp.status_code, error_code=error_code, bytes_sent=0,
        object_size=_object_size(req, resp) if source is None else None,
        total_ms=0, turnaround_ms=int(turnaround * 1000), referer=headers.get("referer", ""),
        user_agent=headers.get("user-agent", ""),
        version_id=version_id,
        host_id=resp.headers.get("x-amz-id-2", req.trans_id), signature_version=signature,
        cipher_suite="", auth_type=auth_type, host=headers.get("host", ""),
        tls_version="TLSv1.2" if scope.get("scheme") == "https" else "", source_region=region)
    account_id = req.state.resellers.account_id(account) or account
    prefix = key_prefix(config, account_id, region, bucket, received)
    by_delivery = config.partitioned and config.date_source == DELIVERY_TIME
    return PendingRecord(record, started, BatchKey(account, config.target_bucket, prefix), by_delivery, req.state,
                         counts_bytes=source is None)


def _signature(req: S3Request) -> tuple[str, str]:
    """``(signature version, authentication type)`` of the request as sent (a refused signature too)."""
    header = req.headers.get("authorization", "")
    if header.startswith("AWS4-"):
        return "SigV4", "AuthHeader"
    if header.startswith("AWS "):
        return "SigV2", "AuthHeader"
    if "X-Amz-Algorithm" in req.query:
        return "SigV4", "QueryString"
    if "Signature" in req.query and "AWSAccessKeyId" in req.query:
        return "SigV2", "QueryString"
    return "", ""


def _object_size(req: S3Request, resp: Response) -> int | None:
    """The object's size for object reads and writes (None: not an object request)."""
    if req.key is None:
        return None
    if req.method in ("GET", "HEAD") and resp.status_code < 300:
        total = resp.headers.get("content-range", "").rpartition("/")[2]
        length = total if total.isdigit() else resp.headers.get("content-length", "")
        return int(length) if length.isdigit() else None
    if req.method == "PUT":
        length = req.headers.get("x-amz-decoded-content-length") or req.headers.get("content-length", "")
        return int(length) if length.isdigit() else None
    return None


async def send_logged(pending: list[PendingRecord], response: Response, scope: Scope, receive: Receive,
                      send: Send) -> None:
    """Send ``response`` counting its body bytes, then queue the completed records."""
    sent = 0

    async def counting_send(message: Message) -> None:
        nonlocal sent
        if message["type"] == "http.response.body":
            sent += len(message.get("body", b"")) + message.get(SPLICED_BYTES, 0)
        await send(message)

    try:
        await response(scope, receive, counting_send)
    finally:
        for one in pending:
            record = one.record
            record.bytes_sent = sent if one.counts_bytes else 0
            record.total_ms = int((time.monotonic() - one.started) * 1000)
            try:
                delivery_of(one.state).add(one.batch, record.line(), one.partition_at_delivery)
            except Exception:
                log.warning("S3 access log: record of %s dropped", record.request_id, exc_info=True)
