"""Legacy object versioning (``X-Versions-Location`` / ``X-History-Location``), as Swift 2.38's
``versioned_writes`` middleware (its "legacy" mode; the newer ``X-Versions-Enabled`` is another feature).

A container names an *archive container* in the same account:

* ``X-Versions-Location: <archive>`` (stack mode): a write over an existing object first copies that
  object to ``<archive>/<len><name>/<timestamp>`` (``len``: the name's length in UTF-8 bytes as 3
  hex digits, ``timestamp``: the archived object's); a DELETE restores the newest archived version
  over the object and removes it from the archive (several DELETEs walk back through the versions).
* ``X-History-Location: <archive>`` (history mode): writes archive the same way; a DELETE archives
  the current object, writes a zero-byte *delete marker* (``application/x-deleted;swift_versions_deleted=1``)
  and then deletes the object.

The location is stored as container sysmeta (``X-Container-Sysmeta-Versions-Location`` and
``-Versions-Mode``) and shown back under the header that set it; an empty value or
``X-Remove-Versions-Location`` / ``X-Remove-History-Location`` turns versioning off; both locations in
one request are a 400, a name with ``/`` a 412.

Authority, as Swift's middleware: the caller needs write access to the *versioned* container (the
router table's access, checked by ``authorize`` before this stage; for a COPY the destination's,
checked here first). The archive copies, restores and markers are then made by the proxy on the
container owner's behalf, who chose the archive: a container-ACL writer without rights on the archive
still gets versions kept there, and still cannot read them. Only the container's writers with account
rights (owners, account ACL read-write/admin) can set or change the location.

Objects are archived and restored as stored (read straight from storage, as Swift's middleware reads
them below its SLO, DLO and symlink stages): a symlink stays a link, an SLO or DLO manifest stays a
manifest with its sysmeta (listing size included).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping

from starlette.responses import Response

from proxy.http.bodies import stream_backend
from proxy.http.errors import HTTPError, empty_response, error_response
from proxy.http.headers import unquote_wire
from proxy.pipeline import Handler, handles
from proxy.swift import access, constraints
from proxy.swift.context import SwiftRequest
from proxy.swift.copy import parse_copy_path
from proxy.swift.headers import VERSIONS_LOCATION_SYSMETA, VERSIONS_MODE_SYSMETA
from proxy.swift.obj_get import is_expired
from proxy.swift.operations import ANY_DEPTH_OPERATIONS, PUT_SLO_MANIFEST
from proxy.swift.replies import backend_failure
from proxy.versioning import engine
from stackstore import wire
from stackstore.timestamp import Timestamp

DELETE_MARKER_CONTENT_TYPE = "application/x-deleted;swift_versions_deleted=1"
VERSIONS_HEADER, HISTORY_HEADER = "x-versions-location", "x-history-location"
REMOVE_HEADERS = ("x-remove-versions-location", "x-remove-history-location")
STACK, HISTORY = "stack", "history"
INFO = {"allowed_flags": ["x-versions-location", "x-history-location"]}

# object headers an archived copy keeps (what the object servers persist), besides the prefixes below
KEPT_HEADERS = frozenset(("content-type", "content-encoding", "content-disposition", "content-language",
                          "cache-control", "expires", "x-delete-at", "x-object-manifest", "x-static-large-object"))
KEPT_PREFIXES = ("x-object-meta-", "x-object-sysmeta-", "x-object-transient-sysmeta-")
LISTING_PAGE = 1000
WRITES = ("put_object", "copy_from", PUT_SLO_MANIFEST)
WRITE_ATTEMPTS = 20  # racing writers of one name: a loser tries again


# container PUT/POST (the location headers); object writes, COPY and DELETE
@handles(operations=ANY_DEPTH_OPERATIONS | {"put_container", "post_container", *WRITES, "copy_object", "delete_object"})
async def feature(req: SwiftRequest, call_next: Handler) -> Response:
    """Pipeline stage: translate the location headers on container PUT/POST; archive before object
    writes; restore (stack) or archive and mark (history) on object DELETE."""
    if req.obj is None:
        if req.container is not None and req.method in ("PUT", "POST"):
            req.sysmeta.update(container_settings(req.headers))
        return await call_next(req)
    name = req.operation.name if req.operation else ""
    source: tuple[str, str, str] | None = None
    if name in WRITES:
        target = (req.account, req.container_name, req.object_name)
        if name == "copy_from":
            container, obj = parse_copy_path(req.headers["x-copy-from"], "X-Copy-From")
            source = (_account(req, "x-copy-from-account"), container, obj)
    elif name == "copy_object":
        source = (req.account, req.container_name, req.object_name)
        if not await _stored(req, source):
            return await call_next(req)  # the copy's 404, whatever the destination (as Swift's copy)
        target, source = _copy_destination(req), None
    elif name == "delete_object":
        return await _delete(req, call_next)
    else:
        return await call_next(req)
    versioning = await versioning_of(req, target[0], target[1])
    # a copy whose source is missing replaces nothing (its 404 comes from the copy, as in Swift)
    if versioning is not None and (source is None or await _stored(req, source)):
        if name == "copy_object":  # the table checked COPY's source: the destination is checked here first
            denied = await access.check(req.subrequest("PUT", *target))
            if denied is not None:
                return denied
        # archived and replaced without losing a racing writer's data (a copy's destination PUT honours the
        # guard too: proxy/swift/copy.py)
        return await _guarded_put(req, call_next, target, versioning[0])
    return await call_next(req)


async def _guarded_put(req: SwiftRequest, call_next: Handler, target: tuple[str, str, str],
                       archive: str) -> Response:
    """Archive the current object, then write over it only if it is still current (the nodes decide before
    the body flows, ``SwiftRequest.versioned.guard``); a writer that lost the race archives the winner and tries
    again (as object versioning's writes: docs/versioning.md "Concurrent writers")."""
    resp: Response | None = None

    async def prepare() -> Response | None:
        seen: dict[str, str] = {}
        refused = await archive_current(req, target, archive, seen)
        if refused is not None:
            return refused
        stamp = seen.get("x-timestamp")
        req.versioned.guard = ({wire.COND_IF_MATCH: stamp, wire.COND_ETAG_IS_AT: wire.COND_DATA_TIMESTAMP} if stamp
                           else {wire.COND_IF_NONE_MATCH: "*"})
        req.timestamp = ""  # each attempt is a new write, stamped when it is sent
        return None

    req.versioned.reguard = prepare
    for attempt in range(WRITE_ATTEMPTS):
        refused = await prepare()
        if refused is not None:
            return refused
        req.versioned.lost_race = False
        resp = await call_next(req)
        if not req.versioned.lost_race:
            break
        await engine.backoff(attempt)
    req.versioned.guard = None
    assert resp is not None
    return resp


# -- containers ---------------------------------------------------------------------------------

def container_settings(headers: Mapping[str, str]) -> dict[str, str]:
    """The container sysmeta a PUT/POST's location headers ask for ({} when they name none); 400 for
    both locations at once, 412 for a location with a slash, as Swift's middleware answers."""
    versions, history = headers.get(VERSIONS_HEADER), headers.get(HISTORY_HEADER)
    if versions is not None and history is not None:
        if not history:
            history = None  # defer to the versions location entirely
        elif versions:
            raise HTTPError(400, f"Only one of {VERSIONS_HEADER} or {HISTORY_HEADER} may be specified")
        else:
            versions = None
    value, mode = (versions, STACK) if versions is not None else (history, HISTORY)
    if value:
        if "/" in value:
            raise HTTPError(412, "Container name cannot contain slashes")
        return {VERSIONS_LOCATION_SYSMETA: value, VERSIONS_MODE_SYSMETA: mode, **_cleared_legacy()}
    if value is not None or any(headers.get(h) for h in REMOVE_HEADERS):  # an empty location removes
        return {VERSIONS_LOCATION_SYSMETA: "", VERSIONS_MODE_SYSMETA: "", **_cleared_legacy()}
    return {}


def _cleared_legacy() -> dict[str, str]:
    """Earlier StackStore releases stored the client header itself: sysmeta is the only source now."""
    return {"X-Versions-Location": "", "X-History-Location": ""}


async def versioning_of(req: SwiftRequest, account: str, container: str) -> tuple[str, str] | None:
    """(archive container, mode) of a versioned container, else None. A location stored by earlier
    releases as the plain header counts as stack mode, as Swift's legacy ``versions`` does."""
    info = await req.state.container_info(account, container)
    if not 200 <= info["status"] < 300:
        return None
    sysmeta = info["sysmeta"]
    location = sysmeta.get("versions-location")
    mode = sysmeta.get("versions-mode") or STACK
    if not location:
        location, mode = info.get("versions"), STACK
    if not location:
        return None
    archive = (unquote_wire(location) or "").split("/")[0]  # percent-encoded or raw UTF-8, as Swift
    return (archive, mode) if archive else None


# -- names --------------------------------------------------------------------------------------

def versions_prefix(obj: str) -> str:
    """``<len><name>/``: the name's UTF-8 length as three hex digits, as Swift names versions."""
    return f"{len(obj.encode()):03x}{obj}/"


def version_name(obj: str, timestamp: str) -> str:
    """The archive name of ``obj``'s version stamped ``timestamp``."""
    return versions_prefix(obj) + Timestamp(timestamp).normal


# -- copies -------------------------------------------------------------------------------------

def _copy_destination(req: SwiftRequest) -> tuple[str, str, str]:
    """A COPY's destination (412 without a usable ``Destination``, 400 for names too long)."""
    dest = req.headers.get("destination")
    if not dest:
        raise HTTPError(412, "Destination header required")
    container, obj = parse_copy_path(dest, "Destination")
    account = _account(req, "destination-account")
    constraints.check_names(account, container, obj)
    return account, container, obj


def _account(req: SwiftRequest, header: str) -> str:
    """The account a copy header names (percent-encoded or raw UTF-8), else the request's own."""
    value = req.headers.get(header)
    return (unquote_wire(value) or "") if value else req.account


def _stored_headers(backend: Mapping[str, str]) -> dict[str, str]:
    """What a copy of a stored object keeps: its persisted headers, sysmeta included (never X-Timestamp)."""
    return {name: value for name, value in backend.items()
            if name.lower() in KEPT_HEADERS or name.lower().startswith(KEPT_PREFIXES)}


async def _copy_stored(req: SwiftRequest, src: tuple[str, str, str], dst_container: str,
                       dst_name: Callable[[Mapping[str, str]], str],
                       condition: Mapping[str, str] | None = None) -> Response | None:
    """Copy the object stored at ``src`` into ``dst_container`` (of ``src``'s account) as it is stored, under
    the name ``dst_name`` gives for the source's headers. None when copied; 404 when there is no
    ``src``; 412 when the destination container is missing; 413/503 otherwise. With a node ``condition``
    (a restore replacing the current object only if it is still the write looked at) a refusal sets
    ``req.versioned.lost_race`` and answers 409."""
    resp = await req.client.get_object(*src)
    if resp.status == 404 or (resp.status == 200 and is_expired(resp.headers)):
        await resp.close()
        return error_response(404)
    if resp.status != 200:
        await resp.close()
        return error_response(503)
    account = src[0]
    info = await req.state.container_info(account, dst_container)
    if not 200 <= info["status"] < 300:
        await resp.close()
        return error_response(412)
    length = int(resp.headers.get("content-length") or 0)
    if length > constraints.MAX_FILE_SIZE:
        await resp.close()
        return error_response(413, "Your request is too large.")
    name = dst_name(resp.headers)
    if len(name.encode()) > constraints.MAX_OBJECT_NAME_LENGTH:  # what the object PUT would refuse
        await resp.close()
        return error_response(412)
    headers = _stored_headers(resp.headers)
    if resp.headers.get("etag"):
        headers["Etag"] = resp.headers["etag"].strip('"')
    headers["X-Timestamp"] = Timestamp.now().normal
    put = await req.client.put_object(account, dst_container, name, headers,
                                      stream_backend(resp), content_length=length, condition=condition)
    await put.close()
    if condition is not None and put.status in (404, 409, 412):  # another write is current now
        req.versioned.lost_race = True
        return error_response(409)
    if put.status in (201, 202, 409):  # 202/409: a concurrent writer archived the same version first
        req.state.invalidate_info(account, dst_container)
        return None
    # as Swift's middleware: the archive (or restore) refused it, 412; the cluster failed, 503
    return error_response(412 if 400 <= put.status < 500 else 503)


async def archive_current(req: SwiftRequest, target: tuple[str, str, str], archive: str,
                          seen: dict[str, str] | None = None) -> Response | None:
    """Copy the object at ``target`` (if any) into ``archive``, named by its own timestamp; None when
    done or when there is nothing to archive, else the answer that stops the write. ``seen`` receives the
    archived object's ``x-timestamp``."""
    obj = target[2]

    def name(stored: Mapping[str, str]) -> str:
        if seen is not None and stored.get("x-timestamp"):
            seen["x-timestamp"] = stored["x-timestamp"]
        return version_name(obj, stored.get("x-timestamp") or Timestamp.now().normal)

    refused = await _copy_stored(req, target, archive, name)
    return None if refused is not None and refused.status_code == 404 else refused


# -- deletes ------------------------------------------------------------------------------------

async def _delete(req: SwiftRequest, call_next: Handler) -> Response:
    versioning = await versioning_of(req, req.account, req.container_name)
    if versioning is None:
        return await call_next(req)
    archive, mode = versioning
    if mode == HISTORY:
        return await _delete_history(req, call_next, archive)
    return await _delete_stack(req, call_next, archive)


async def _delete_history(req: SwiftRequest, call_next: Handler, archive: str) -> Response:
    """Archive the current object, write a delete marker, then delete the object."""
    target = (req.account, req.container_name, req.object_name)
    for attempt in range(WRITE_ATTEMPTS):
        seen: dict[str, str] = {}
        refused = await archive_current(req, target, archive, seen)
        if refused is not None:
            return refused
        if not 200 <= (await req.state.container_info(req.account, archive))["status"] < 300:
            return error_response(412)
        now = Timestamp.now().normal
        marker_name = version_name(req.object_name, now)
        marker = await req.client.put_object(
            req.account, archive, marker_name,
            {"Content-Type": DELETE_MARKER_CONTENT_TYPE, "X-Timestamp": now}, _nothing(), content_length=0)
        await marker.close()
        if marker.status != 201:
            return error_response(412 if 400 <= marker.status < 500 else 503)
        req.state.invalidate_info(req.account, archive)
        # the write just archived goes, nothing newer (a write that replaced it meanwhile is archived by the
        # next attempt, never removed unarchived); the marker of a delete that lost goes too
        req.versioned.delete_through = seen.get("x-timestamp")
        if not req.versioned.delete_through:  # nothing was there to archive: nothing is deleted (a write landing
            return error_response(404)  # now is newer than this DELETE and stays), as Swift answers 404
        req.versioned.lost_race = False
        given_timestamp = req.timestamp
        try:
            resp = await call_next(req)
        finally:
            req.versioned.delete_through = None
        if not req.versioned.lost_race:
            return resp
        req.timestamp = given_timestamp  # the next attempt's delete gets its own
        await _delete_stored(req, archive, marker_name)
        await engine.backoff(attempt)
    return error_response(503)


async def _delete_stack(req: SwiftRequest, call_next: Handler, archive: str) -> Response:
    """Restore the newest archived version over the object and delete that version instead (a delete
    marker on top: remove it, restoring the version under it when no object is there), as Swift. The
    restore replaces the object only if it is still the write this DELETE looked at, and a plain delete
    removes that write and nothing newer: a PUT landing meanwhile is archived by the next attempt, never
    overwritten or removed unarchived (docs/versioning.md "Concurrent writers")."""
    for attempt in range(WRITE_ATTEMPTS):
        req.versioned.lost_race = False
        resp = await _delete_stack_once(req, call_next, archive)
        if not req.versioned.lost_race:
            return resp
        await engine.backoff(attempt)
    return error_response(503)


async def _delete_stack_once(req: SwiftRequest, call_next: Handler, archive: str) -> Response:
    target = (req.account, req.container_name, req.object_name)
    # the newest copy (X-Newest): a stale one would only make the guards below refuse, attempt after attempt
    current = await req.client.head_object(*target, wire.READ_NEWEST)
    await current.close()
    stamp = current.headers.get("x-timestamp") if current.status == 200 and not is_expired(current.headers) \
        else None
    if current.status not in (200, 404):
        return error_response(503)
    # the restore may replace only the write looked at (or create the object only if there still is none)
    guard = {wire.COND_IF_MATCH: stamp, wire.COND_ETAG_IS_AT: wire.COND_DATA_TIMESTAMP} if stamp \
        else {wire.COND_IF_NONE_MATCH: "*"}
    versions = _versions_newest_first(req, archive, versions_prefix(req.object_name))

    def restored(_stored: Mapping[str, str]) -> str:
        return req.object_name

    async for row in versions:
        if row.get("content_type") == DELETE_MARKER_CONTENT_TYPE:
            if not await _stored(req, (req.account, archive, row["name"])):
                continue  # a listing row not yet updated: that marker is gone already
            if stamp is not None:
                break  # an object is there: delete it, back to the marker's state
            async for older in versions:
                if older.get("content_type") == DELETE_MARKER_CONTENT_TYPE:
                    break  # nothing to restore under it
                refused = await _copy_stored(req, (req.account, archive, older["name"]), target[1], restored,
                                             guard)
                if refused is not None and refused.status_code == 404 and not req.versioned.lost_race:
                    continue  # that version went away meanwhile: try the one before
                if refused is not None:
                    return refused
                await _delete_stored(req, archive, older["name"])
                break
            return await _delete_stored(req, archive, row["name"])
        refused = await _copy_stored(req, (req.account, archive, row["name"]), target[1], restored, guard)
        if refused is not None and refused.status_code == 404 and not req.versioned.lost_race:
            continue
        if refused is not None:
            return refused
        return await _delete_stored(req, archive, row["name"])
    if stamp is None:
        return error_response(404)  # nothing archived, nothing there (a write landing now is newer and stays)
    req.versioned.delete_through = stamp  # that write and nothing newer (proxy/swift/obj.py)
    given_timestamp = req.timestamp
    try:
        resp = await call_next(req)
    finally:
        req.versioned.delete_through = None
    if req.versioned.lost_race:
        req.timestamp = given_timestamp
    return resp


async def _stored(req: SwiftRequest, location: tuple[str, str, str]) -> bool:
    """Whether an object is stored at ``location`` (a 5xx counts as stored: let the DELETE say so)."""
    head = await req.client.head_object(*location)
    await head.close()
    return head.status != 404


async def _delete_stored(req: SwiftRequest, container: str, obj: str) -> Response:
    """DELETE an archived version by the proxy's authority (the caller's DELETE, redirected)."""
    timestamp = Timestamp.now().normal
    resp = await req.client.delete_object(req.account, container, obj, headers={"X-Timestamp": timestamp})
    await resp.close()
    req.state.invalidate_info(req.account, container)
    if resp.status in (200, 204):
        return empty_response(204, {"X-Timestamp": timestamp})
    return error_response(404) if resp.status == 404 else backend_failure(resp.status)


async def _versions_newest_first(req: SwiftRequest, archive: str, prefix: str) -> AsyncIterator[dict]:
    """The archive's rows under ``prefix``, newest first, a page at a time (none when it is missing)."""
    marker = ""
    while True:
        resp, rows = await req.client.list_container(req.account, archive, prefix=prefix, marker=marker or None,
                                                     limit=LISTING_PAGE, reverse=True)
        await resp.close()
        if resp.status == 404:
            return
        if not 200 <= resp.status < 300:
            raise HTTPError(412 if 400 <= resp.status < 500 else 503)
        for row in rows:
            yield row
        if len(rows) < LISTING_PAGE:
            return
        marker = rows[-1]["name"]


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""  # an async generator with no chunks
