"""Bucket operations: CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation (ListBuckets: ``proxy.s3.service``).

A bucket is a Swift container in the credential's account; multipart parts live in the hidden
container ``<bucket>+segments`` (never listed as a bucket).
"""

from __future__ import annotations

import asyncio
import re

from starlette.responses import Response

from proxy.s3 import xml
from proxy.s3.context import S3Request
from proxy.s3.errors import S3Error, from_backend
from proxy.s3.upload import request_body

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


def owner(req: S3Request, parent: object) -> None:
    el = xml.add(parent, "Owner")  # type: ignore[arg-type]
    xml.add(el, "ID", req.credential.user)
    xml.add(el, "DisplayName", req.credential.user)


async def create_bucket(req: S3Request) -> Response:
    name = req.bucket or ""
    validate_bucket_name(name)
    body = await xml.read_body(request_body(req), 65536)
    if body.strip():
        doc = xml.parse(body, "CreateBucketConfiguration")
        xml.child_text(doc, "LocationConstraint")  # any region accepted
    head = await req.client.head_container(req.account, name)
    if head.status // 100 == 2:
        raise S3Error("BucketAlreadyOwnedByYou", BucketName=name)
    resp = await req.client.put_container(req.account, name, {})
    req.state.invalidate_info(req.account, name)
    if resp.status == 202:
        raise S3Error("BucketAlreadyOwnedByYou", BucketName=name)
    if resp.status // 100 != 2:
        raise from_backend(resp.status, name)
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
    resp = await req.client.delete_container(req.account, name)
    req.state.invalidate_info(req.account, name)
    if resp.status == 409:
        raise S3Error("BucketNotEmpty", BucketName=name)
    if resp.status == 404:
        raise S3Error("NoSuchBucket", BucketName=name)
    if resp.status // 100 != 2:
        raise from_backend(resp.status, name)
    await purge_container(req, segments_container(name))
    return Response(status_code=204)


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
    await require_bucket(req)
    doc = xml.root("LocationConstraint")
    if req.region != "us-east-1":
        doc.text = req.region
    return xml.xml_response(doc)
