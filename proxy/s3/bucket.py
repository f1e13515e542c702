"""Bucket operations: CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation (ListBuckets: ``proxy.s3.service``).

A bucket is a Swift container in its owner's account, its name registered cluster-wide
(``proxy.s3.namespace``); multipart parts live in the hidden container ``<bucket>+segments`` (never
listed as a bucket).
"""

from __future__ import annotations

import asyncio
import re

from starlette.responses import Response

from proxy.s3 import namespace, owners, xml
from proxy.s3.acl.writes import bucket_creation_sysmeta
from proxy.s3.context import S3Request
from proxy.s3.errors import S3Error, from_backend
from proxy.s3.owners import Owner
from proxy.s3.upload import request_body
from proxy.versioning import engine
from stackstore.lifecycle import to_sysmeta as lifecycle_sysmeta
from stackstore.versioning_names import versions_container

SEGMENTS_SUFFIX = "+segments"
PAGE = 10000
_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP = re.compile(r"^\d+\.\d+\.\d+\.\d+$")


def segments_container(bucket: str) -> str:
    return bucket + SEGMENTS_SUFFIX


def validate_bucket_name(name: str) -> None:
    """DNS-compatible S3 names: 3-63 of ``a-z0-9.-``, alphanumeric ends, no ``..``, not an IP."""
    if not _NAME.match(name) or ".." in name or ".-" in name or "-." in name or _IP.match(name):
        raise S3Error("InvalidBucketName", BucketName=name)


_ADDRESSABLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,254}$")


def check_addressable_bucket_name(name: str) -> None:
    """InvalidBucketName for a name no bucket can have, on any request (as Swift's s3api checks with
    ``dns_compliant_bucket_names = false``): 3-255 of letters, digits, ``.``, ``-`` and ``_``, starting
    with a letter or digit, not ending with ``.``. Containers made through the Swift API with such
    names stay reachable; creating a bucket asks for the stricter DNS-compatible names."""
    if not _ADDRESSABLE.match(name) or name.endswith("."):
        raise S3Error("InvalidBucketName", BucketName=name)


def is_valid_name(name: str) -> bool:
    """Whether ``name`` is a valid S3 bucket name (only those are registered)."""
    return _valid(name)


def _valid(name: str) -> bool:
    try:
        validate_bucket_name(name)
    except S3Error:
        return False
    return True


async def require_bucket(req: S3Request, name: str | None = None) -> dict:
    """Container info of the bucket (cached); NoSuchBucket when it does not exist."""
    name = name or req.bucket or ""
    if "+" in name:
        raise S3Error("NoSuchBucket", BucketName=name)
    info = await req.state.container_info(req.account, name)
    status = info.get("status", 404)
    if status == 404:
        raise S3Error("NoSuchBucket", BucketName=name)
    if not 200 <= status < 300:
        raise from_backend(status, name)
    return info


def owner(req: S3Request, parent: object, tag: str = "Owner") -> None:
    """``<Owner><ID/><DisplayName/></Owner>``: the addressed bucket's owner (the caller's for ListBuckets)."""
    found: Owner | None = req.extras.get("bucket_owner")
    el = xml.add(parent, tag)  # type: ignore[arg-type]
    xml.add(el, "ID", found.id if found else "")
    xml.add(el, "DisplayName", found.display_name if found else "")


def _already_yours(req: S3Request, name: str) -> Response:
    """AWS answers a repeated CreateBucket by the owner with 200 in us-east-1, else 409."""
    if req.region == "us-east-1":
        return Response(b"", 200, headers={"Location": f"/{name}"})
    raise S3Error("BucketAlreadyOwnedByYou", BucketName=name)


async def _register(req: S3Request, name: str, me: Owner) -> bool:
    """Claim ``name`` for ``me``: True when newly claimed, False when it was already ``me``'s;
    BucketAlreadyExists when another account holds it, ServiceUnavailable when the registry cannot say."""
    for _attempt in range(2):
        req.state.invalidate_info(owners.SYSTEM_ACCOUNT, name)  # decide on the registry, not a cached view
        reg = await namespace.lookup(req.state, name)
        if reg is not None:
            if reg.owner is not None and reg.owner.account == me.account:
                return False
            holder = reg.owner.account if reg.owner is not None else None
            exists = holder is not None and \
                (await req.state.container_info(holder, name)).get("status", 404) != 404
            if not namespace.is_stale(reg, exists):
                raise S3Error("BucketAlreadyExists", BucketName=name)
            await namespace.release(req.state, name)  # abandoned: take it over
        claimed = await namespace.claim(req.state, name, me)
        if claimed:
            return True
        if claimed is None:
            raise S3Error("ServiceUnavailable", "The bucket registry could not be reached; please retry.",
                          status=503)
    raise S3Error("BucketAlreadyExists", BucketName=name)


SYSMETA_LOCATION = "X-Container-Sysmeta-S3-Location"  # the CreateBucket LocationConstraint


async def create_bucket(req: S3Request) -> Response:
    name = req.bucket or ""
    validate_bucket_name(name)
    body = await xml.read_body(request_body(req), 65536)
    location = ""
    if body.strip():
        doc = xml.parse(body, "CreateBucketConfiguration")
        location = (xml.child_text(doc, "LocationConstraint") or "").strip()  # any region accepted
    me = owners.owner_of(req.identity, req.credential.email)
    if me is None:
        raise S3Error("AccessDenied")
    sysmeta = await bucket_creation_sysmeta(req, me)
    # a deleted container keeps its metadata: a bucket created again must not inherit its lifecycle rules
    sysmeta.update(lifecycle_sysmeta(None))
    from proxy.s3 import object_lock  # it reads buckets through this module

    sysmeta.update(object_lock.creation_sysmeta(req))
    # the constraint asked for is what GetBucketLocation answers ("" for us-east-1, as AWS's null)
    sysmeta[SYSMETA_LOCATION] = "" if location == "us-east-1" else location
    newly = await _register(req, name, me)
    if not newly:
        head = await req.client.head_container(req.account, name)
        if head.status // 100 == 2:
            return _already_yours(req, name)
    resp = await req.client.put_container(req.account, name, sysmeta)
    req.state.invalidate_info(req.account, name)
    if resp.status // 100 != 2:
        if newly:
            await namespace.release(req.state, name)
        raise from_backend(resp.status, name)
    if resp.status == 202 and not newly:
        return _already_yours(req, name)
    if sysmeta.get(object_lock.BUCKET_SYSMETA_ENABLED):  # Object Lock comes with versioning enabled
        await engine.ensure_versions_container(req, req.account, name)
    return Response(b"", 200, headers={"Location": f"/{name}"})


async def head_bucket(req: S3Request) -> Response:
    resp = await req.client.head_container(req.account, req.bucket or "")
    if resp.status == 404:
        raise S3Error("NoSuchBucket", BucketName=req.bucket)
    if resp.status // 100 != 2:
        raise from_backend(resp.status, req.bucket)
    return Response(b"", 200, headers={"x-amz-bucket-region": req.region, "Content-Type": "application/xml"})


async def delete_bucket(req: S3Request) -> Response:
    name = req.bucket or ""
    versioned = engine.state_of(await req.state.container_info(req.account, name)) is not None
    if versioned:
        await _refuse_kept_versions(req, name)
    resp = await req.client.delete_container(req.account, name)
    req.state.invalidate_info(req.account, name)
    if resp.status == 409:
        raise S3Error("BucketNotEmpty", BucketName=name)
    if resp.status == 404:
        raise S3Error("NoSuchBucket", BucketName=name)
    if resp.status // 100 != 2:
        raise from_backend(resp.status, name)
    await purge_container(req, segments_container(name))
    if versioned:  # empty: checked above
        gone = await req.client.delete_container(req.account, versions_container(name))
        await gone.close()
        req.state.invalidate_info(req.account, versions_container(name))
    if await namespace.owner_account(req.state, name) == req.account:
        await namespace.release(req.state, name)
    return Response(status_code=204)


async def _refuse_kept_versions(req: S3Request, name: str) -> None:
    """BucketNotEmpty while the bucket keeps older versions or delete markers (AWS counts them as objects)."""
    resp = await req.client.head_container(req.account, versions_container(name))
    await resp.close()
    if resp.status // 100 == 2 and int(resp.headers.get("x-container-object-count") or 0) > 0:
        raise S3Error("BucketNotEmpty", BucketName=name)


async def purge_container(req: S3Request, container: str) -> None:
    """Delete every object of a hidden container, then the container (best effort)."""
    sem = asyncio.Semaphore(8)

    async def one(obj: str) -> None:
        async with sem:
            await req.client.delete_object(req.account, container, obj)

    while True:
        resp, rows = await req.client.list_container(req.account, container, limit=1000)
        if resp.status // 100 != 2 or not rows:
            break
        await asyncio.gather(*(one(r["name"]) for r in rows if "name" in r))
    await req.client.delete_container(req.account, container)
    req.state.invalidate_info(req.account, container)


async def get_location(req: S3Request) -> Response:
    """GetBucketLocation: the LocationConstraint the bucket was created with, else this endpoint's region
    (empty for us-east-1, as AWS)."""
    info = await require_bucket(req)
    doc = xml.root("LocationConstraint")
    sysmeta = info.get("sysmeta") or {}
    created_in = sysmeta.get(SYSMETA_LOCATION[len("X-Container-Sysmeta-"):].lower()) or ""
    region = created_in or ("" if req.region == "us-east-1" else req.region)
    if region:
        doc.text = region
    return xml.xml_response(doc)
