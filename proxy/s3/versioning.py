"""S3 bucket versioning over the shared engine (proxy/versioning/): Get/PutBucketVersioning, version
ids on writes, ``?versionId`` reads and deletes, delete markers and ListObjectVersions.

The bucket's state is the container's ``Versions-Enabled`` sysmeta, the same one Swift's
``X-Versions-Enabled`` sets, so a version written over one API is listed and read over the other.
MFA delete is not offered (a ``MfaDelete`` of ``Enabled`` is refused with NotImplemented).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.responses import Response

from objclient.headers import HeaderDict
from proxy.s3 import object_lock, xml
from proxy.s3.bucket import require_bucket
from proxy.s3.context import S3Request
from proxy.s3.errors import S3Error, from_backend
from proxy.s3.supersede import MultipartObject, current_multipart, release_parts
from proxy.s3.upload import request_body
from proxy.versioning import engine
from stackstore import versioning_names as names
from stackstore import wire

VERSION_HEADER = "x-amz-version-id"
DELETE_MARKER_HEADER = "x-amz-delete-marker"


# -- state ----------------------------------------------------------------------------------------

def state_of(bucket_info: dict) -> str | None:
    """``enabled``, ``suspended`` or None (never versioned) from the bucket's container info."""
    return engine.state_of(bucket_info)


async def get_bucket_versioning(req: S3Request) -> Response:
    """``<VersioningConfiguration>`` with ``Status`` once versioning was ever set (empty before)."""
    state = state_of(await require_bucket(req))
    doc = xml.root("VersioningConfiguration")
    if state is not None:
        xml.add(doc, "Status", "Enabled" if state == engine.ENABLED else "Suspended")
    return xml.xml_response(doc)


def _parse(body: bytes) -> bool | None:
    """True (Enabled), False (Suspended) or None (no Status: nothing changes); MalformedXML else."""
    doc = xml.parse(body, "VersioningConfiguration")
    mfa = xml.child_text(doc, "MfaDelete")
    if mfa is not None and mfa.strip() not in ("Disabled", "Enabled"):
        raise S3Error("MalformedXML")
    if mfa is not None and mfa.strip() == "Enabled":
        raise S3Error("NotImplemented", "MFA delete is not supported.")
    status = xml.child_text(doc, "Status")
    if status is None:
        return None
    if status.strip() not in ("Enabled", "Suspended"):
        raise S3Error("MalformedXML")
    return status.strip() == "Enabled"


async def put_bucket_versioning(req: S3Request) -> Response:
    """Enable or suspend versioning (a bucket never returns to unversioned, as AWS)."""
    info = await require_bucket(req)
    enable = _parse(await xml.read_body(request_body(req)))
    if enable is None:
        return Response(b"", 200)
    bucket = req.bucket or ""
    if not enable:
        object_lock.refuse_suspension(info)
    if enable:
        await engine.ensure_versions_container(req, req.account, bucket)
    elif state_of(info) is None:
        # suspending a never-versioned bucket records the state, as AWS does
        await engine.ensure_versions_container(req, req.account, bucket)
    resp = await req.client.post_container(req.account, bucket,
                                           {engine.SYSMETA_ENABLED: "true" if enable else "false"})
    await resp.close()
    req.state.invalidate_info(req.account, bucket)
    if resp.status // 100 != 2:
        raise from_backend(resp.status, bucket)
    return Response(b"", 200)


# -- version ids ----------------------------------------------------------------------------------

def check_version_id(value: str) -> None:
    """InvalidArgument for a ``versionId`` that cannot name a version (AWS's answer for a bad id)."""
    if not names.valid_version_id(value):
        raise S3Error("InvalidArgument", "Invalid version id specified", ArgumentName="versionId",
                      ArgumentValue=value)


async def prepare_write(req: S3Request, bucket: str, key: str, bucket_info: dict) -> tuple[dict, str | None, bool]:
    """Before a write replaces ``key``: keep its current version. Returns (sysmeta to store with the
    new version, the ``x-amz-version-id`` to answer, whether the replaced data was kept as a version,
    so a replaced multipart object's parts must stay)."""
    state = state_of(bucket_info)
    if state is None:
        return {}, None, False
    archived = await engine.archive_current(req, req.account, bucket, key, state)
    if state == engine.SUSPENDED:  # the new null version replaces the null one wherever it sits
        await replace_archived_null(req, bucket, key)
    version_id = names.new_version_id()
    answer = version_id if state == engine.ENABLED else names.NULL_VERSION
    return engine.write_sysmeta(state, version_id), answer, archived is not None


WRITE_ATTEMPTS = 20  # concurrent writers of one key each archive what they replace; a loser tries again


async def prepare_guarded_write(req: S3Request, bucket: str, key: str,
                                bucket_info: dict) -> tuple[dict, str | None, bool, dict[str, str] | None]:
    """``prepare_write`` for a PutObject, plus the node condition that keeps concurrent writers from losing
    versions (``engine.archive_for_write``; None where no guard is needed: unversioned or suspended)."""
    state = state_of(bucket_info)
    if state != engine.ENABLED:
        sysmeta, answer, kept = await prepare_write(req, bucket, key, bucket_info)
        return sysmeta, answer, kept, None
    archived, guard = await engine.archive_for_write(req, req.account, bucket, key, state)
    version_id = names.new_version_id()
    return engine.write_sysmeta(state, version_id), version_id, archived is not None, guard


async def guarded_write(req: S3Request, bucket: str, key: str, bucket_info: dict,
                        condition: dict[str, str] | None,
                        write: Callable[[dict, dict[str, str] | None], Awaitable[Any]]) -> tuple[Any, str | None, bool]:
    """Run ``write(version sysmeta, node condition)`` the way every S3 write that replaces ``key`` must in a
    versioned bucket: the current version archived first and replaced only if still current, again after a
    lost race (``prepare_guarded_write``); the caller's own ``condition`` (If-Match / If-None-Match) takes
    the guard's place. Returns (the write's response, the version id to answer, whether the replaced data was
    kept). The body ``write`` sends must not be read before the nodes accept (conditional writes ask first)."""
    resp: Any = None
    version_id: str | None = None
    kept = False
    for attempt in range(WRITE_ATTEMPTS):
        sysmeta, version_id, kept, guard = await prepare_guarded_write(req, bucket, key, bucket_info)
        if condition is not None:
            guard = None
        resp = await write(sysmeta, condition or guard)
        if guard is None or not lost_race(resp):
            break
        await engine.backoff(attempt)
    return resp, version_id, kept


def lost_race(resp: Any) -> bool:
    """Whether a guarded write was refused because another writer replaced the current version first
    (412 or 404: it changed or went; 409: a writer holds the name right now)."""
    return resp.status in (404, 412) or (resp.status == 409 and resp.headers.get(wire.CONFLICT) ==
                                         wire.RESERVATION_CONFLICT)


async def locate(req: S3Request, bucket: str, key: str, version_id: str) -> engine.Found:
    """Where ``key``'s version is stored; NoSuchVersion (NoSuchKey for ``null``) when it is not;
    405 MethodNotAllowed with ``x-amz-delete-marker`` for a delete marker, as AWS answers GET/HEAD."""
    check_version_id(version_id)
    found = await engine.find_version(req, req.account, bucket, key, version_id, null_anywhere=True)
    if found is None:
        raise S3Error("NoSuchVersion", Key=key, VersionId=version_id)
    if found.is_delete_marker:
        raise S3Error("MethodNotAllowed", "The specified method is not allowed against this resource.",
                      headers={DELETE_MARKER_HEADER: "true", VERSION_HEADER: version_id,
                               "Allow": "DELETE"},
                      Method=req.method, ResourceType="DeleteMarker")
    return found


# -- deletes --------------------------------------------------------------------------------------

async def delete_current(req: S3Request, bucket: str, key: str, state: str) -> dict[str, str]:
    """DeleteObject without a version id in a versioned bucket: keep the current version, write a
    delete marker, remove the current object. The response headers.

    Suspended (AWS "Deleting objects from versioning-suspended buckets"): a current version with an id is
    kept, the ``null`` version (current or archived, object or marker) goes, and the new delete marker is
    the ``null`` version."""
    suspended = state == engine.SUSPENDED
    for attempt in range(WRITE_ATTEMPTS):
        current = await engine.head(req, req.account, bucket, key)
        replaced = await current_multipart(req, bucket, key) if suspended and current.exists else None
        kept = await engine.archive_current(req, req.account, bucket, key, state, current)
        if suspended:
            await replace_archived_null(req, bucket, key)
        marker, stored_as = await engine.write_delete_marker(req, req.account, bucket, key, null=suspended)
        # the current goes only if it is still the version just archived: a write that replaced it
        # meanwhile is archived by the next attempt, never removed unarchived (docs/versioning.md)
        if await engine.delete_if_current(req, req.account, bucket, key, current):
            break
        await engine.remove_delete_marker(req, req.account, bucket, key, stored_as)
        await engine.backoff(attempt)
    else:
        raise S3Error("ServiceUnavailable", "Please reduce your request rate.", status=503)
    if kept is None:  # a null current removed for good: its parts too
        await release_parts(req, bucket, key, replaced)
    return {DELETE_MARKER_HEADER: "true", VERSION_HEADER: marker}


async def replace_archived_null(req: S3Request, bucket: str, key: str) -> None:
    """A suspended bucket's write or delete replaces the ``null`` version: an archived ``null`` version (and
    its parts, if multipart) or ``null`` marker of ``key`` goes, after the guards (Object Lock)."""
    found = await engine.find_archived_null(req, req.account, bucket, key)
    if found is None:
        return
    parts = None if found.is_delete_marker else await current_multipart(req, bucket, key,
                                                                        at=(found.container, found.obj))
    if not found.is_delete_marker:
        await engine.guard(req, found.headers)
    await engine.delete_stored(req, req.account, found.container, found.obj)
    req.state.invalidate_info(req.account, bucket)
    await release_parts(req, bucket, key, parts)


async def delete_version(req: S3Request, bucket: str, key: str, version_id: str) -> dict[str, str]:
    """DeleteObject with a version id: that version goes for good; when it was the newest, the
    version under it becomes current (AWS). Deleting a version that is not there succeeds (204)."""
    check_version_id(version_id)
    parts = await _version_parts(req, bucket, key, version_id)
    found = await engine.delete_version(req, req.account, bucket, key, version_id, null_anywhere=True)
    headers = {VERSION_HEADER: version_id}
    if found is None:
        return headers
    if found.is_delete_marker:
        headers[DELETE_MARKER_HEADER] = "true"
    await promote_newest(req, bucket, key)
    # a version is stored once (archiving and restoring move it), so its parts go with it
    await release_parts(req, bucket, key, parts)
    return headers


async def _version_parts(req: S3Request, bucket: str, key: str, version_id: str) -> MultipartObject | None:
    """The upload parts a multipart version of ``key`` references (None for any other version)."""
    found = await engine.find_version(req, req.account, bucket, key, version_id, null_anywhere=True)
    if found is None or found.is_delete_marker:
        return None
    return await current_multipart(req, bucket, key, at=(found.container, found.obj))


async def promote_newest(req: S3Request, bucket: str, key: str) -> None:
    """With no current object, the newest archived version becomes current again (a delete marker
    on top leaves the key deleted). A version deleted by id while it was being promoted (its archived
    entry gone before this took it) does not come back: its promoted copy goes and the next one is tried."""
    hidden = names.versions_container(bucket)
    for _attempt in range(WRITE_ATTEMPTS):
        current = await engine.head(req, req.account, bucket, key)
        if current.exists:
            return
        newest = await engine.newest_archived(req, req.account, bucket, key)
        if newest is None or engine.is_delete_marker(newest[1]):
            return
        parsed = names.parse_version_object(newest[0])
        if parsed is None:
            return
        restored = {engine.OBJECT_VERSION_SYSMETA: parsed[1]}
        if engine.is_null_row(newest[1]):  # the null version stays null, and keeps its place in time
            restored = {engine.OBJECT_VERSION_SYSMETA: names.NULL_VERSION, engine.NULL_WRITTEN_SYSMETA: parsed[1]}
        if not await engine.copy_stored(req, req.account, (hidden, newest[0]), (bucket, key), restored,
                                        create_only=True):
            continue  # it went meanwhile, or a write is current now: look again
        if await engine.delete_stored(req, req.account, hidden, newest[0]):
            return
        # deleted by id between the copy and now: the promoted copy must not outlive it
        promoted = await engine.head(req, req.account, bucket, key)
        if promoted.exists and engine.version_id_of(promoted.headers) == restored[engine.OBJECT_VERSION_SYSMETA]:
            await engine.delete_if_current(req, req.account, bucket, key, promoted)


def response_version(headers: Mapping[str, str], bucket_info: dict) -> str | None:
    """The ``x-amz-version-id`` of a stored current object in a versioned bucket."""
    if state_of(bucket_info) is None:
        return None
    return engine.version_id_of(headers)


async def resolve(req: S3Request, bucket: str, key: str) -> tuple[str, str, engine.Found | None]:
    """(container, object) a request's ``?versionId`` (if any) reads from, and the version found (None
    without ``?versionId``)."""
    version = req.query.get("versionId")
    if version is None:
        return bucket, key, None
    found = await locate(req, bucket, key, version)
    return found.container, found.obj, found


def show_written_at(found: engine.Found | None, stored: HeaderDict) -> None:
    """An archived version read by id answers its own write time as ``Last-Modified`` (``stored``, the
    version's stored headers, is changed in place), as listings show it: archiving copies the data later."""
    written = found.written_at if found is not None else None
    if written is None:
        return
    stored["Last-Modified"] = written.http_date


async def latest_marker_headers(req: S3Request, bucket: str, key: str, bucket_info: dict) -> dict[str, str]:
    """For a GET/HEAD without ``versionId`` that found no current object: when the key's latest version is a
    delete marker, the headers AWS answers its 404 with (``x-amz-delete-marker: true`` and the marker's id),
    else none."""
    if state_of(bucket_info) is None:
        return {}
    newest = await engine.newest_archived(req, req.account, bucket, key)
    if newest is None or not engine.is_delete_marker(newest[1]):
        return {}
    parsed = names.parse_version_object(newest[0])
    version_id = newest[1].get("version_id") or (parsed[1] if parsed else "")
    if not version_id:
        return {DELETE_MARKER_HEADER: "true"}
    return {DELETE_MARKER_HEADER: "true", VERSION_HEADER: version_id}
