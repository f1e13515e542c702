"""Swift's new-style object versioning (``X-Versions-Enabled``), a thin layer over the shared engine
(proxy/versioning/), as Swift 2.38's ``object_versioning`` middleware documents it:

* ``X-Versions-Enabled: true|false`` on container PUT/POST (400 on a container using legacy
  ``X-Versions-Location``/``X-History-Location``); shown back on HEAD/GET; enabling creates the hidden
  versions container; a versioned container is deleted only once it has no versions left (409).
* Writes (PUT, COPY, ``X-Copy-From``, SLO manifests, symlinks) keep the replaced version and answer
  ``X-Object-Version-Id``; DELETE writes a delete marker (404 with the marker's id when nothing was
  there); ``?version-id=`` on GET/HEAD/COPY/DELETE acts on that version (400 on PUT/POST and for a bad
  id); ``?versions`` lists every version (JSON only, else 406) with ``version_marker`` paging.

Runs after ``authorize``: the caller was checked on the versioned container's path; versions are then
read and written by the proxy, as Swift's middleware does with pre-authorized requests.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from starlette.responses import Response

from proxy.http.errors import HTTPError, empty_response, error_response
from proxy.large_objects.slo import is_slo
from proxy.pipeline import Handler, handles
from proxy.swift import constraints, listing
from proxy.swift.context import SwiftRequest
from proxy.swift.features.versioned_writes import HISTORY_HEADER, VERSIONS_HEADER, versioning_of
from proxy.swift.operations import (
    ANY_DEPTH_OPERATIONS,
    CONTAINER_OPERATIONS,
    OBJECT_OPERATIONS,
    PUT_SLO_MANIFEST,
)
from proxy.versioning import engine
from proxy.versioning.listing import VersionsQuery, list_versions
from stackstore import object_lock
from stackstore import versioning_names as names

CLIENT_HEADER = "x-versions-enabled"
REMOVE_HEADER = "x-remove-versions-enabled"  # ignored, as Swift does, except on an S3 Object Lock bucket
LOCKED_MESSAGE = "Versioning cannot be suspended on an S3 Object Lock bucket."
VERSION_ID_HEADER = "X-Object-Version-Id"
INFO: dict[str, object] = {}
WRITES = ("put_object", "copy_from", PUT_SLO_MANIFEST)


# every container and object request (``?version-id=`` applies to any object verb); not account requests
@handles(operations=CONTAINER_OPERATIONS | OBJECT_OPERATIONS | ANY_DEPTH_OPERATIONS)
async def feature(req: SwiftRequest, call_next: Handler) -> Response:
    """Pipeline stage (before legacy ``versioned_writes``)."""
    if req.container is None:
        return await call_next(req)
    if req.obj is None:
        return await _container(req, call_next)
    return await _object(req, call_next)


# -- containers ---------------------------------------------------------------------------------

async def _container(req: SwiftRequest, call_next: Handler) -> Response:
    method = req.method
    if method in ("PUT", "POST"):
        return await _container_write(req, call_next)
    if method == "GET" and "versions" in req.query:
        return await _list(req)
    if method == "DELETE":
        state = await engine.container_state(req, req.account, req.container_name)
        if state is not None:
            await _delete_versions_container(req, state)
    resp = await call_next(req)
    if method in ("HEAD", "GET") and 200 <= resp.status_code < 300 and "x-versions-enabled" in resp.headers:
        await _count_versions(req, resp)
    return resp


async def _count_versions(req: SwiftRequest, resp: Response) -> None:
    """A versioned container's bytes used include its versions' (space accounting counts every one)."""
    hidden = await req.client.head_container(req.account, names.versions_container(req.container_name))
    await hidden.close()
    if 200 <= hidden.status < 300:
        used = int(resp.headers.get("x-container-bytes-used") or 0)
        resp.headers["X-Container-Bytes-Used"] = str(used + int(hidden.headers.get("x-container-bytes-used") or 0))


async def _container_write(req: SwiftRequest, call_next: Handler) -> Response:
    value = req.headers.get(CLIENT_HEADER)
    state = await engine.container_state(req, req.account, req.container_name)
    if value is None and REMOVE_HEADER in req.headers and object_lock.container_locked(
            await req.state.container_info(req.account, req.container_name)):
        return error_response(409, LOCKED_MESSAGE)  # not a way around the lock's "never suspended"
    if value is None:
        if state is not None and (req.headers.get(VERSIONS_HEADER) or req.headers.get(HISTORY_HEADER)):
            return error_response(400, "Cannot set legacy versioning on a container using object versioning.")
        return await call_next(req)
    if await versioning_of(req, req.account, req.container_name) is not None:
        return error_response(400, "Cannot enable object versioning on a container that is already using "
                                   "the legacy versioned writes feature.")
    enable = constraints.true_value(value)
    if enable and (req.headers.get(VERSIONS_HEADER) or req.headers.get(HISTORY_HEADER)):
        return error_response(400, "Cannot enable object versioning on a container that is already using "
                                   "the legacy versioned writes feature.")
    if not enable and object_lock.container_locked(await req.state.container_info(req.account, req.container_name)):
        return error_response(409, LOCKED_MESSAGE)
    req.sysmeta[engine.SYSMETA_ENABLED] = "true" if enable else "false"
    resp = await call_next(req)
    if enable and 200 <= resp.status_code < 300:
        await engine.ensure_versions_container(req, req.account, req.container_name)
    req.state.invalidate_info(req.account, req.container_name)
    return resp


async def _delete_versions_container(req: SwiftRequest, state: str) -> None:
    """Delete the hidden container first; 409 while versions remain, as Swift."""
    hidden = names.versions_container(req.container_name)
    resp = await req.client.head_container(req.account, hidden)
    await resp.close()
    if resp.status == 404:
        return
    if not 200 <= resp.status < 300:
        raise HTTPError(503)
    if int(resp.headers.get("x-container-object-count") or 0) > 0:
        raise HTTPError(409, "Delete all versions before deleting container.")
    gone = await req.client.delete_container(req.account, hidden)
    await gone.close()
    req.state.invalidate_info(req.account, hidden)
    if not 200 <= gone.status < 300 and gone.status != 404:
        raise HTTPError(409 if gone.status == 409 else 503)


def _wants_json(req: SwiftRequest) -> bool:
    """``?versions`` answers JSON only: 406 when ``format`` or ``Accept`` asks for something else."""
    if req.query.get("format"):
        return req.query["format"].lower() == "json"
    accept = req.headers.get("accept")
    if not accept:
        return True
    for item in accept.split(","):
        media, *opts = (part.strip().lower() for part in item.split(";"))
        if media in ("*", "*/*", "application/*", listing.JSON) and "q=0" not in opts:
            return True
    return False


async def _list(req: SwiftRequest) -> Response:
    if not _wants_json(req):
        return error_response(406)
    params = listing.parse_params(req.query, constraints.CONTAINER_LISTING_LIMIT)
    version_marker = req.query.get("version_marker") or ""
    if version_marker and not params.marker:
        return error_response(400, "version_marker param requires marker")
    if version_marker and not names.valid_version_id(version_marker):
        return error_response(400, "invalid version_marker param")
    if params.delimiter and set(params.delimiter) & set("0123456789."):
        return error_response(400, "invalid delimiter param")
    q = VersionsQuery(prefix=params.prefix or "", delimiter=params.delimiter, marker=params.marker or "",
                      version_marker=version_marker, end_marker=params.end_marker or "", limit=params.limit,
                      reverse=params.reverse, marker_name_latest=False)
    head = await req.client.head_container(req.account, req.container_name)
    await head.close()
    if not 200 <= head.status < 300:
        return error_response(404 if head.status == 404 else 503)
    rows = await list_versions(req, req.account, req.container_name, q)
    if engine.state_of(await req.state.container_info(req.account, req.container_name)) is None:
        for row in rows:
            if "name" in row:
                row["version_id"] = names.NULL_VERSION
    from proxy.swift.headers import container_response_headers
    from proxy.swift.policies import policy_name

    headers = container_response_headers(head.headers, owner=req.is_owner)
    headers["X-Storage-Policy"] = policy_name(req.state, head.headers)
    body = json.dumps(rows).encode()
    return Response(body, status_code=200, headers=headers, media_type="application/json; charset=utf-8")


# -- objects ------------------------------------------------------------------------------------

async def _object(req: SwiftRequest, call_next: Handler) -> Response:
    version_id = req.query.get("version-id")
    if version_id is not None:
        return await _with_version_id(req, call_next, version_id)
    name = req.operation.name if req.operation else ""
    if name in WRITES or name == "copy_object":
        return await _write(req, call_next, name)
    if req.method == "DELETE" and name == "delete_object":
        return await _delete(req, call_next)
    if req.method == "POST" and (req.headers.get("x-delete-at") or req.headers.get("x-delete-after")):
        await _refuse_expiring_held(req)
    resp = await call_next(req)
    if req.method in ("GET", "HEAD") and resp.status_code < 500:
        _annotate(req, resp)
    return resp


async def _refuse_expiring_held(req: SwiftRequest) -> None:
    """An expiry set on a current version the versioning guard holds (S3 Object Lock) would let the expirer
    remove its data: 403, as a delete of it is."""
    if await engine.container_state(req, req.account, req.container_name) is None:
        return
    current = await engine.head(req, req.account, req.container_name, req.object_name)
    if current.exists:
        await engine.guard(req, current.headers)


def _annotate(req: SwiftRequest, resp: Response) -> None:
    """A current version with an id shows where it lives by id (``Content-Location``), as Swift."""
    version_id = resp.headers.get(VERSION_ID_HEADER)
    if version_id and version_id != names.NULL_VERSION:
        resp.headers["Content-Location"] = quote(req.path) + f"?version-id={version_id}"


WRITE_ATTEMPTS = 20  # racing writers of one versioned name: a loser tries again


async def _write(req: SwiftRequest, call_next: Handler, name: str) -> Response:
    if name == "copy_object":
        from proxy.swift.features.versioned_writes import _copy_destination

        source = await engine.head(req, req.account, req.container_name, req.object_name)
        if not source.exists:
            return await call_next(req)
        account, container, obj = _copy_destination(req)
    else:
        account, container, obj = req.account, req.container_name, req.object_name
    state = await engine.container_state(req, account, container)
    if state is None:
        if name in ("copy_object", "copy_from"):
            req.sysmeta[engine.OBJECT_VERSION_SYSMETA] = ""  # a copied source's id means nothing here
        return await call_next(req)
    version_id = ""

    async def prepare() -> Response | None:
        # the current version archived, then replaced only if it is still current (a PUT's nodes decide
        # before its body flows); a writer that lost the race archives the winner and tries again
        nonlocal version_id
        _archived, guard = await engine.archive_for_write(req, account, container, obj, state)
        version_id = names.new_version_id()
        req.timestamp = version_id
        req.sysmeta.update(engine.write_sysmeta(state, version_id))
        req.versioned.guard = guard if state == engine.ENABLED else None
        return None

    req.versioned.reguard = prepare
    for attempt in range(WRITE_ATTEMPTS):
        await prepare()
        req.versioned.lost_race = False
        resp = await call_next(req)
        if not req.versioned.lost_race:
            break
        await engine.backoff(attempt)
    req.versioned.guard = None
    # (a 202 wrote nothing yet, or nothing: a manifest PUT with heartbeat=on names no version, as Swift's)
    if resp.status_code == 201 and state == engine.ENABLED:
        resp.headers[VERSION_ID_HEADER] = version_id
    return resp


async def _delete(req: SwiftRequest, call_next: Handler) -> Response:
    account, container, obj = req.account, req.container_name, req.object_name
    state = await engine.container_state(req, account, container)
    if state is None:
        return await call_next(req)
    if state != engine.ENABLED:
        await engine.archive_current(req, account, container, obj, state)
        return await call_next(req)
    for attempt in range(WRITE_ATTEMPTS):
        current = await engine.head(req, account, container, obj)
        await engine.archive_current(req, account, container, obj, state, current)
        marker_id, stored_as = await engine.write_delete_marker(req, account, container, obj)
        # only the version just archived goes: a write that replaced it meanwhile is archived next time
        if await engine.delete_if_current(req, account, container, obj, current):
            break
        await engine.remove_delete_marker(req, account, container, obj, stored_as)
        await engine.backoff(attempt)
    else:
        return error_response(503)
    existed = current.exists
    headers = {VERSION_ID_HEADER: marker_id, "X-Timestamp": marker_id}
    if existed:
        return empty_response(204, headers)
    return error_response(404, headers=headers)


async def _with_version_id(req: SwiftRequest, call_next: Handler, version_id: str) -> Response:
    if req.method == "POST":
        return error_response(400, "POST to a specific version is not allowed")
    if req.authorized_by == "tempurl":
        return await call_next(req)  # a temp URL reaches the latest version only, as Swift (version-id ignored)
    if not req.is_owner and req.authorized_by != "tempurl" and req.method != "OPTIONS":
        return error_response(403)  # versions are the account owner's, whatever the container ACLs say
    state = await engine.container_state(req, req.account, req.container_name)
    if state is None:
        if version_id != names.NULL_VERSION:
            return error_response(400, "version-aware operations require that the container is versioned")
        return await call_next(req)  # the null version of an unversioned container: the object itself
    if req.method == "PUT":
        if not names.valid_version_id(version_id, allow_null=False):
            return error_response(400, "Invalid version parameter")
        return await _restore(req, version_id)
    if not names.valid_version_id(version_id):
        return error_response(400, "Invalid version parameter")
    if req.method == "OPTIONS":
        return await call_next(req)
    if req.method == "DELETE":
        if req.query.get("multipart-manifest") == "delete" and version_id != names.NULL_VERSION:
            deleted = await _delete_manifest_version(req, call_next, version_id)
            if deleted is not None:
                return deleted
        return await _delete_version(req, version_id)
    found = await engine.find_version(req, req.account, req.container_name, req.object_name, version_id)
    if found is None:
        return error_response(404)
    if found.is_delete_marker:
        return Response(b"", status_code=404, headers={VERSION_ID_HEADER: version_id},
                        media_type=engine.DELETE_MARKER_CONTENT_TYPE)
    path = req.container, req.obj
    if not found.is_current:  # read from the versions container, the path restored for the outer stages
        req.container, req.obj = found.container, found.obj
    try:
        if req.method == "COPY":
            return await _write(req, call_next, "copy_object")
        resp = await call_next(req)
    finally:
        req.container, req.obj = path
    if 200 <= resp.status_code < 300 or resp.status_code in (304, 412, 416):
        resp.headers[VERSION_ID_HEADER] = version_id
    return resp


async def _restore(req: SwiftRequest, version_id: str) -> Response:
    """``PUT ?version-id=``: make that version the current one again (a zero-byte body only)."""
    length = req.headers.get("content-length")
    if length is None and "chunked" not in req.headers.get("transfer-encoding", "").lower():
        return error_response(411)
    if length not in (None, "0"):
        return error_response(400, "PUT version-id requests require a zero byte body")
    account, container, obj = req.account, req.container_name, req.object_name
    found = await engine.find_version(req, account, container, obj, version_id)
    if found is None or found.is_delete_marker:
        return error_response(404, "The specified version does not exist")
    if found.is_current:
        return empty_response(201, {VERSION_ID_HEADER: version_id})
    state = await engine.container_state(req, account, container)
    await engine.archive_current(req, account, container, obj, state)
    await engine.copy_stored(req, account, (found.container, found.obj), (container, obj),
                             {engine.OBJECT_VERSION_SYSMETA: version_id})
    await engine.delete_stored(req, account, found.container, found.obj)
    return empty_response(201, {VERSION_ID_HEADER: version_id})


async def _delete_manifest_version(req: SwiftRequest, call_next: Handler, version_id: str) -> Response | None:
    """``DELETE ?version-id=<id>&multipart-manifest=delete`` of an SLO version: that version's manifest and its
    segments go, through the SLO stage (its answer: 200 with the deletion's result body), as Swift sends the
    request on to the version's object. A current version is first archived and removed (Swift removes its
    link first), so the name stays deleted, as for any delete by id. A version that is not an SLO is left
    alone: the SLO stage answers "Not an SLO manifest" in its result body, as Swift's. None when there is no
    such version (or it is a delete marker)."""
    account, container, obj = req.account, req.container_name, req.object_name
    found = await engine.find_version(req, account, container, obj, version_id)
    if found is None or found.is_delete_marker:
        return None
    manifest = is_slo(found.headers)  # any other version is left alone: the SLO stage reads it and refuses
    if manifest:
        await engine.guard(req, found.headers)
    if manifest and found.is_current:
        state = await engine.container_state(req, account, container)
        current = engine.Stored(200, found.headers)
        if await engine.archive_current(req, account, container, obj, state or engine.SUSPENDED, current) is None:
            return None
        await engine.delete_if_current(req, account, container, obj, current)
        found = await engine.find_version(req, account, container, obj, version_id)
        if found is None or found.is_current:
            return None
    path = req.container, req.obj
    req.container, req.obj, req.shown_as = found.container, found.obj, f"/{req.container}/{req.obj}"
    try:
        resp = await call_next(req)
    finally:
        (req.container, req.obj), req.shown_as = path, None
    req.state.invalidate_info(account, container)
    resp.headers[VERSION_ID_HEADER] = version_id
    return resp


async def _delete_version(req: SwiftRequest, version_id: str) -> Response:
    account, container, obj = req.account, req.container_name, req.object_name
    if version_id == names.NULL_VERSION:
        # Swift: the name's current object goes (a current with a real id is kept as a version)
        state = await engine.container_state(req, account, container)
        current = await engine.head(req, account, container, obj)
        if current.exists and engine.version_id_of(current.headers) != names.NULL_VERSION:
            await engine.archive_current(req, account, container, obj, state or engine.SUSPENDED)
        elif current.exists:
            await engine.guard(req, current.headers)
        await engine.delete_stored(req, account, container, obj)
        return empty_response(204, {VERSION_ID_HEADER: version_id})
    await engine.delete_version(req, account, container, obj, version_id)
    return empty_response(204, {VERSION_ID_HEADER: version_id})
