"""Operation dispatch: method + addressing + sub-resource query parameters → handler."""

from __future__ import annotations

from starlette.responses import Response

from proxy.s3 import bucket, copy, delete_objects, listing, multipart, objects, subresources
from proxy.s3.context import S3Request
from proxy.s3.errors import S3Error


async def dispatch(req: S3Request) -> Response:
    method, q = req.method, req.query
    if req.bucket is None:
        if method in ("GET", "HEAD"):
            return await bucket.list_buckets(req)
        raise S3Error("MethodNotAllowed", Method=method, ResourceType="SERVICE")
    if req.key is None:
        return await _bucket_op(req, method, q)
    return await _object_op(req, method, q)


async def _bucket_op(req: S3Request, method: str, q: dict[str, str]) -> Response:
    sub = subresources.bucket_subresource(q)
    if sub is not None:
        return await subresources.handle_bucket(req, sub)
    if method == "GET":
        if "uploads" in q:
            return await multipart.list_uploads(req)
        if "location" in q:
            return await bucket.get_location(req)
        if q.get("list-type") == "2":
            return await listing.list_objects_v2(req)
        if "versions" in q:
            return await listing.list_object_versions(req)
        return await listing.list_objects_v1(req)
    if method == "HEAD":
        return await bucket.head_bucket(req)
    if method == "PUT":
        return await bucket.create_bucket(req)
    if method == "DELETE":
        return await bucket.delete_bucket(req)
    if method == "POST" and "delete" in q:
        return await delete_objects.delete_objects(req)
    if method == "POST":
        raise S3Error("NotImplemented", "POST object uploads are not implemented")
    raise S3Error("MethodNotAllowed", Method=method, ResourceType="BUCKET")


async def _object_op(req: S3Request, method: str, q: dict[str, str]) -> Response:
    sub = subresources.object_subresource(q)
    if sub is not None:
        return await subresources.handle_object(req, sub)
    if "uploadId" in q:
        if method == "PUT":
            if req.headers.get("x-amz-copy-source"):
                return await copy.upload_part_copy(req)
            return await multipart.upload_part(req)
        if method == "GET":
            return await multipart.list_parts(req)
        if method == "POST":
            return await multipart.complete(req)
        if method == "DELETE":
            return await multipart.abort(req)
        raise S3Error("MethodNotAllowed", Method=method, ResourceType="UPLOAD")
    if method == "POST":
        if "uploads" in q:
            return await multipart.create(req)
        raise S3Error("NotImplemented", "This POST operation is not implemented")
    if method == "PUT":
        if req.headers.get("x-amz-copy-source"):
            return await copy.copy_object(req)
        return await objects.put_object(req)
    if method in ("GET", "HEAD"):
        return await objects.get_object(req)
    if method == "DELETE":
        return await objects.delete_object(req)
    raise S3Error("MethodNotAllowed", Method=method, ResourceType="OBJECT")
