"""Bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation.

A bucket is a Swift container in the credential's account; multipart parts live in the hidden
container ``<bucket>+segments`` (never listed as a bucket).
"""

from __future__ import annotations

import asyncio
import re
import time

from starlette.responses import Response

from proxy.s3 import xml
from proxy.s3.context import S3Request
from proxy.s3.errors import S3Error, from_backend
from proxy.s3.headers import iso8601, iso_from_swift
from proxy.s3.upload import request_body
from stackstore.lifecycle import to_sysmeta as lifecycle_sysmeta

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


async def list_buckets(req: S3Request) -> Response:
    doc = xml.root("ListAllMyBucketsResult")
    owner(req, doc)
    buckets = xml.add(doc, "Buckets")
    marker = None
    while True:
        resp, rows = await req.client.list_account(req.account, marker=marker, limit=PAGE)
        if resp.status == 404:
            break
        if resp.status // 100 != 2:
            raise from_backend(resp.status)
        for row in rows:
            name = row.get("name")
            if not name or name.endswith(SEGMENTS_SUFFIX):
                continue
            b = xml.add(buckets, "Bucket")
            xml.add(b, "Name", name)
            lm = row.get("last_modified")
            xml.add(b, "CreationDate", iso_from_swift(lm) if lm else iso8601(time.time()))
        if len(rows) < PAGE:
            break
        marker = rows[-1]["name"]
    if req.method == "HEAD":
        return Response(b"", 200, media_type="application/xml")
    return xml.xml_response(doc)


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
    # a deleted container keeps its metadata: a bucket created again must not inherit its lifecycle rules
    resp = await req.client.put_container(req.account, name, lifecycle_sysmeta(None))
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
    return Response(b"", 200, headers={"x-amz-bucket-region": req.region})


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
