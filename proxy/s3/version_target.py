"""The stored object an object-subresource request names: the current object, or with ``?versionId`` that
version wherever it is kept (the current object or the versions container), read without an SSE-C key.

Shared by the handlers that read or rewrite one version's metadata: ACLs, tagging, Object Lock retention and
legal hold (AWS applies each of them per version)."""

from __future__ import annotations

from dataclasses import dataclass

from objclient.crypto.client import metadata_view
from proxy.s3 import headers as s3h
from proxy.s3.context import S3Request
from proxy.s3.errors import S3Error, from_backend
from proxy.versioning import engine
from stackstore import wire


@dataclass
class StoredVersion:
    """Where a version is stored and its stored headers."""

    container: str
    name: str
    headers: dict[str, str]
    version_id: str | None  # the id the request named (None: the current object)


async def stored_version(req: S3Request) -> StoredVersion:
    """The version ``?versionId`` names (the current object without it); NoSuchKey when there is none,
    NoSuchVersion / InvalidArgument for an unknown or malformed id (``proxy.s3.versioning.locate``)."""
    bucket, key = req.bucket or "", req.key or ""
    version = req.query.get("versionId")
    container, name = bucket, key
    if version is not None:
        from proxy.s3 import versioning  # it imports the handlers' modules that import this one

        found = await versioning.locate(req, bucket, key, version)
        container, name = found.container, found.obj
    # the newest copy (X-Newest): what is read here is written back with the change, and decides whether the
    # change is allowed (a COMPLIANCE retention is never shortened): a replica that missed the last change
    # must not answer for it
    resp = await metadata_view(req.client).head_object(req.account, container, name, wire.READ_NEWEST)
    await resp.close()
    if resp.status == 404 or (resp.status == 200 and engine.is_expired(resp.headers)):
        raise S3Error("NoSuchKey", Key=key)
    if resp.status // 100 != 2:
        raise from_backend(resp.status, bucket, key)
    return StoredVersion(container, name, dict(resp.headers.items()), version)


def kept_on_post(stored: dict[str, str]) -> dict[str, str]:
    """The headers a metadata-only POST (ACL, tags, retention) sends back so that the object keeps them: its
    user metadata and its expiry. No Content-Type: the node keeps the stored one; posted with
    ``keep_listing_row`` the listing row is left alone, so the change does not make the object look newer
    (Last-Modified stays its data's, as AWS)."""
    headers = {k: v for k, v in stored.items() if k.lower().startswith("x-object-meta-")}
    delete_at = s3h._get(stored, "x-delete-at")
    if delete_at:
        headers["X-Delete-At"] = delete_at
    return headers
