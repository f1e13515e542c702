"""Dispatch: resolve the request's operation from the table and the bucket's owner, authorize once, run
its handler."""

from __future__ import annotations

from typing import NoReturn

from starlette.responses import Response

from proxy.s3.access import authorize
from proxy.s3.access_log import stage as access_log
from proxy.s3.bucket import check_addressable_bucket_name, is_valid_name, require_bucket
from proxy.s3.context import S3Request
from proxy.s3.errors import S3Error
from proxy.s3.namespace import Registration, claim, lookup
from proxy.s3.operations import SERVICE, Operation, resolve_request
from proxy.s3.owners import Owner, account_owner, owner_of

OWN_ACCOUNT_OPERATIONS = ("CreateBucket",)  # act on the caller's account, whoever holds the name


async def dispatch(req: S3Request) -> Response:
    """Answer a request: MethodNotAllowed, NoSuchBucket, AccessDenied, NotImplemented or the handler's."""
    operation = resolve_request(req)
    req.extras["operation"] = operation
    if req.key is not None:
        check_key_characters(req.key)
    await resolve_bucket_owner(req, operation)
    if operation.name not in OWN_ACCOUNT_OPERATIONS:  # a bucket being created has no logging yet
        await access_log.note_bucket_config(req)  # before any refusal: refused requests are logged too
    check_expected_owner(req, operation)
    await authorize(req, operation)
    if req.bucket is not None:  # after authorizing: names are no business of other callers
        check_addressable_bucket_name(req.bucket)
    handler = operation.handler
    if handler is None:
        await not_implemented(req, operation)
    return await handler(req)


def check_key_characters(key: str) -> None:
    """A key with NUL is 400 ``InvalidURI``: NUL starts the reserved namespace (hidden containers, version
    names) that only the storage layer may use, and Swift refuses it in a path."""
    if "\x00" in key:
        raise S3Error("InvalidURI", "Couldn't parse the specified URI.")


EXPECTED_OWNER_HEADER = "x-amz-expected-bucket-owner"


def check_expected_owner(req: S3Request, operation: Operation) -> None:
    """``x-amz-expected-bucket-owner``: AccessDenied unless it names the addressed bucket's owner (its account
    id, ``test`` of ``AUTH_test``, or its canonical user id), as S3 guards against writing to a bucket that
    changed hands."""
    expected = req.headers.get(EXPECTED_OWNER_HEADER)
    if expected is None or req.bucket is None or operation.name in OWN_ACCOUNT_OPERATIONS:
        return
    owner: Owner | None = req.extras.get("bucket_owner")
    if owner is None:
        raise S3Error("AccessDenied")
    names = {owner.id, owner.account, req.state.resellers.account_id(owner.account)}
    if expected.strip() not in names:
        raise S3Error("AccessDenied")


async def resolve_bucket_owner(req: S3Request, operation: Operation) -> None:
    """Point the request at the account owning the addressed bucket (``req.account``) and note its owner
    (``req.extras["bucket_owner"]``): the registered one, else the caller's own account (a container of
    its own is registered on the way, ``adopt``); an anonymous request to an unregistered bucket is
    NoSuchBucket."""
    caller = owner_of(req.identity, req.credential.email)
    if caller is not None:
        req.extras["bucket_owner"] = caller
    if req.bucket is None or operation.name in OWN_ACCOUNT_OPERATIONS:
        return
    reg = await lookup(req.state, req.bucket) if is_valid_name(req.bucket) else None
    if reg is None and caller is not None and is_valid_name(req.bucket):
        reg = await adopt(req, req.bucket, caller)
    if reg is not None and reg.owner is not None:
        req.extras["bucket_account"] = reg.owner.account
        req.extras["bucket_owner"] = reg.owner if reg.owner.display_name else \
            account_owner(req.state, reg.owner.account)
    elif caller is None:
        raise S3Error("NoSuchBucket", BucketName=req.bucket)


async def adopt(req: S3Request, name: str, caller: Owner) -> Registration | None:
    """Register an unregistered bucket name for the account holding it as a container when its owner
    addresses it over S3 (buckets from before the registry, containers made over Swift), so no other
    account can take the name from under it later."""
    if not req.identity.is_admin or req.identity.account != caller.account:
        return None
    info = await req.state.container_info(caller.account, name)
    if not 200 <= info.get("status", 404) < 300:
        return None
    if await claim(req.state, name, caller) is None:
        return None
    return await lookup(req.state, name)


async def not_implemented(req: S3Request, operation: Operation) -> NoReturn:
    """Raise S3's NotImplemented (501) for a known operation without a handler (NoSuchBucket first)."""
    if operation.level != SERVICE:
        await require_bucket(req)
    raise S3Error("NotImplemented", f"{operation.name} is not implemented")
