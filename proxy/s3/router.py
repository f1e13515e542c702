"""Dispatch: resolve the request's operation from the table, authorize it once, run its handler."""

from __future__ import annotations

from typing import NoReturn

from starlette.responses import Response

from proxy.s3.access import authorize
from proxy.s3.bucket import check_addressable_bucket_name, require_bucket
from proxy.s3.context import S3Request
from proxy.s3.errors import S3Error
from proxy.s3.operations import SERVICE, Operation, resolve_request


async def dispatch(req: S3Request) -> Response:
    """Answer an authenticated request: MethodNotAllowed, AccessDenied, NotImplemented or the handler's."""
    operation = resolve_request(req)
    req.extras["operation"] = operation
    await authorize(req, operation)
    if req.bucket is not None:  # after authorizing: names are no business of other callers
        check_addressable_bucket_name(req.bucket)
    handler = operation.handler
    if handler is None:
        await not_implemented(req, operation)
    return await handler(req)


async def not_implemented(req: S3Request, operation: Operation) -> NoReturn:
    """Raise S3's NotImplemented (501) for a known operation without a handler (NoSuchBucket first)."""
    if operation.level != SERVICE:
        await require_bucket(req)
    raise S3Error("NotImplemented", f"{operation.name} is not implemented")
