"""The versioning engine both APIs share: container state, archiving, delete markers, finding and
deleting versions (listings are in ``proxy.versioning.listing``).

Every function takes the request context (an ``ObjectRequest``: its ``client`` and ``state``) and acts
with the proxy's authority: the API layer has authorized the caller on the *versioned* container
before calling in, as Swift's middleware does (the versions container has no ACLs of its own).

Model (docs/versioning.md):

* A container's state is its sysmeta ``Versions-Enabled`` (``true``: enabled, ``false``: suspended,
  absent: never versioned).
* The current version of a name is the plain object in the container; its version id is its
  ``X-Object-Sysmeta-Version-Id`` (``null`` when absent or written while versioning was suspended or
  never enabled).
* Older versions and delete markers are objects of the versions container named by
  ``stackstore.versioning_names.version_object``. A write over the current version first copies it there
  (under its own id; a ``null`` current under its write time, when versioning is enabled, and is simply
  replaced while suspended, as S3 does); a delete in an enabled container archives the current version,
  writes a delete marker and deletes the current object.
* S3's ``null`` version keeps its id ``null`` when archived: it is stored under its write time (so it sits
  where that time puts it among the name's versions, and Swift lists it with that id, as Swift does) with
  ``null`` as its stored id (``X-Object-Sysmeta-Version-Id``, which its listing row carries), so S3 finds it
  as ``null`` wherever it is (``find_version(..., null_anywhere=True)``, ``find_archived_null``). A suspended
  bucket's delete marker is such a ``null`` marker.
* Per-version state that later guards deletes (Object Lock: retention, legal hold) lives in the
  version's own object sysmeta, which every archive copy keeps; ``guard`` is the one hook every
  delete/overwrite path here calls before it removes a version's data.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from objclient.crypto.client import stored_view
from proxy.http.bodies import stream_backend
from proxy.http.errors import HTTPError
from stackstore import versioning_names as names
from stackstore import wire
from stackstore.headers import lookup
from stackstore.timestamp import Timestamp

SYSMETA_ENABLED = "X-Container-Sysmeta-Versions-Enabled"
OBJECT_VERSION_SYSMETA = "X-Object-Sysmeta-Version-Id"
DELETE_MARKER_CONTENT_TYPE = "application/x-deleted;swift_versions_deleted=1"
ENABLED, SUSPENDED = "enabled", "suspended"
POLICY_INDEX_HEADER = "X-Backend-Storage-Policy-Index"
MAX_VERSION_SIZE = 5 * 1024**3 + 2  # what one archive copy may move (the object size limit)
# a null version made current again carries its write time here, so that archiving it again keeps its place
NULL_WRITTEN_SYSMETA = "X-Object-Sysmeta-Version-Null-Written"
NULL_SCAN_PAGE = 1000  # rows per listing while looking for a name's archived null version
ARCHIVE_ATTEMPTS = 20  # a write looks again this often for a current version that stays put while it archives

# A check run before a version's data is removed or replaced: raise HTTPError to refuse (Object Lock).
Guard = Callable[[Any, Mapping[str, str]], Awaitable[None]]
_guards: list[Guard] = []


def add_guard(guard: Guard) -> None:
    """Register a check every delete/overwrite of a stored version runs first (Object Lock's hook)."""
    _guards.append(guard)


async def guard(ctx: Any, stored: Mapping[str, str]) -> None:
    """Run the registered guards over a version's stored headers (raises HTTPError to refuse)."""
    for check in _guards:
        await check(ctx, stored)


# -- container state ------------------------------------------------------------------------------

def state_of(info: Mapping[str, Any]) -> str | None:
    """``enabled``, ``suspended`` or None (never versioned) from a container's cached info."""
    if not 200 <= info.get("status", 0) < 300:
        return None
    value = (info.get("sysmeta") or {}).get("versions-enabled")
    if value is None or value == "":
        return None
    return ENABLED if value.lower() in ("true", "1", "yes", "on", "t", "y") else SUSPENDED


async def container_state(ctx: Any, account: str, container: str) -> str | None:
    """The versioning state of ``account/container`` (cached info)."""
    return state_of(await ctx.state.container_info(account, container))


async def ensure_versions_container(ctx: Any, account: str, container: str) -> None:
    """Create the hidden versions container of ``container`` (same storage policy); 503 on failure."""
    info = await ctx.state.container_info(account, container)
    hidden = names.versions_container(container)
    headers = {"X-Timestamp": Timestamp.now().normal,
               POLICY_INDEX_HEADER: str(info.get("storage_policy", "0"))}
    resp = await ctx.client.put_container(account, hidden, headers)
    await resp.close()
    ctx.state.invalidate_info(account, hidden)
    if not 200 <= resp.status < 300:
        raise HTTPError(503, "could not create the versions container")


def write_sysmeta(state: str | None, version_id: str) -> dict[str, str]:
    """The sysmeta a write into a container of ``state`` stores with the new current version."""
    if state is None:
        return {}
    # (a copied source's null write time means nothing for the new version)
    return {OBJECT_VERSION_SYSMETA: version_id if state == ENABLED else names.NULL_VERSION, NULL_WRITTEN_SYSMETA: ""}


def version_id_of(headers: Mapping[str, str]) -> str:
    """A stored current version's id (``null`` when it has none)."""
    return names.stored_version_id(headers)


def is_delete_marker(headers_or_row: Mapping[str, Any]) -> bool:
    """Whether stored headers (or a listing row) are a delete marker's."""
    ctype = headers_or_row.get("content-type") or headers_or_row.get("Content-Type") \
        or headers_or_row.get("content_type") or ""
    return str(ctype) == DELETE_MARKER_CONTENT_TYPE


def is_expired(headers: Mapping[str, str]) -> bool:
    """Whether stored headers carry an X-Delete-At in the past (the expirer has not run yet)."""
    value = headers.get("x-delete-at")
    try:
        return value is not None and int(value) <= Timestamp.now().seconds
    except ValueError:
        return False


# -- archiving ------------------------------------------------------------------------------------

@dataclass
class Stored:
    """What a HEAD of a stored object said (None status 404)."""

    status: int
    headers: Mapping[str, str]

    @property
    def exists(self) -> bool:
        return self.status == 200 and not is_expired(self.headers)


async def head(ctx: Any, account: str, container: str, obj: str) -> Stored:
    """HEAD a stored object as stored (storage's answer, no feature in between, an SSE-C object without its
    key: its sysmeta is what the engine reads); 503 for a cluster failure.

    A current version with an id whose X-Delete-At has passed is settled first (``settle_expired``): it is
    archived as the version it is and leaves the name, so every caller sees the name as deleted and that
    version where versions are."""
    # the newest copy (X-Newest): a replica that missed a write (it hung while the others took it) would otherwise
    # make a writer archive the older version it still holds and replace the one it missed (docs/versioning.md)
    resp = await stored_view(ctx.client).opening_expired().head_object(account, container, obj, wire.READ_NEWEST)
    await resp.close()
    if resp.status not in (200, 404):
        raise HTTPError(503)
    stored = Stored(resp.status, resp.headers)
    if stored.status == 200 and is_expired(stored.headers) and not names.is_reserved(container) \
            and version_id_of(stored.headers) != names.NULL_VERSION and not is_delete_marker(stored.headers):
        await settle_expired(ctx, account, container, obj, stored)
        return Stored(404, {})
    return stored


async def settle_expired(ctx: Any, account: str, container: str, obj: str, current: Stored) -> None:
    """An expired current version with an id: its X-Delete-At ends its being current, not its data (as Swift's
    object versioning, where the expiry removes the name's link to the version). Archive it under its id (the
    copy without X-Delete-At), then remove that write, and nothing newer, from the name. Readers, writers and
    the expirer (store/expirer.py keep_version, the same on the nodes' side) may all do it; they agree."""
    version_id = version_id_of(current.headers)
    stamp = lookup(current.headers, "x-timestamp") or ""
    hidden = names.versions_container(container)
    copied = await copy_stored(ctx, account, (container, obj), (hidden, names.version_object(obj, version_id)),
                               {OBJECT_VERSION_SYSMETA: version_id}, expect_timestamp=stamp, even_expired=True)
    if not copied or not stamp:
        return  # replaced (or gone) meanwhile: whoever replaced it archived it
    tombstone = Timestamp(newest_stamp(current.headers) or stamp).just_after()
    resp = await ctx.client.delete_object(account, container, obj, headers={"X-Timestamp": tombstone.normal})
    await resp.close()
    ctx.state.invalidate_info(account, container)


def kept_headers(stored: Mapping[str, str]) -> dict[str, str]:
    """What a copy of a stored object keeps: its persisted headers, sysmeta included (never X-Timestamp)."""
    return names.archived_headers(stored)


async def copy_stored(ctx: Any, account: str, src: tuple[str, str], dst: tuple[str, str],
                      extra: Mapping[str, str] | None = None, expect_timestamp: str = "",
                      create_only: bool = False, even_expired: bool = False) -> bool:
    """Copy the object stored at ``src`` (container, object) to ``dst`` as it is stored, streamed:
    False when there is no source, or (``expect_timestamp``) when it is no longer the write its caller
    looked at (a concurrent writer replaced it: its data must not be kept under the other's name), or
    (``create_only``: restoring a version as the current one) when ``dst`` exists or is being written
    (decided by the nodes: a write landing meanwhile is never overwritten); raises 503 (413 past the size
    limit) when the copy fails."""
    storage = stored_view(ctx.client)  # as stored: an encrypted version stays encrypted, under its envelope
    reader = storage.opening_expired() if even_expired else storage

    def another_write(resp: Any) -> bool:  # than the one the caller looked at
        return bool(expect_timestamp) and resp.status == 200 and lookup(resp.headers, "x-timestamp") != expect_timestamp

    resp = await reader.get_object(account, *src)
    if another_write(resp):
        # a concurrent writer's, or a replica that missed the latest write: only then ask every primary
        # (X-Newest opens a body on each of them)
        await resp.close()
        resp = await reader.get_object(account, *src, wire.READ_NEWEST)
    if resp.status == 404 or (resp.status == 200 and is_expired(resp.headers) and not even_expired) \
            or another_write(resp):
        await resp.close()
        return False
    if resp.status != 200:
        await resp.close()
        raise HTTPError(503)
    length = int(resp.headers.get("content-length") or 0)
    if length > MAX_VERSION_SIZE:
        await resp.close()
        raise HTTPError(413, "Your request is too large.")
    headers = kept_headers(resp.headers)
    headers.update(extra or {})
    headers["X-Timestamp"] = Timestamp.now().normal
    condition = {wire.COND_IF_NONE_MATCH: "*"} if create_only else None
    put = await storage.put_object(account, *dst, headers, stream_backend(resp), content_length=length,
                                   condition=condition)
    await put.close()
    if create_only and put.status in (409, 412):  # another write is there, or holds the name
        return False
    # 202/409: a concurrent writer archived the same version a moment later (same name, same data) first
    if put.status not in (201, 202, 409):
        raise HTTPError(503, "could not store the version")
    ctx.state.invalidate_info(account, dst[0])
    return True


async def archive_for_write(ctx: Any, account: str, container: str, obj: str,
                            state: str | None) -> tuple[str | None, dict[str, str] | None]:
    """``archive_current`` for a write that will replace the current version, and the node condition that
    write must carry (``stackstore/wire.py``: replace the current only if it is still the one archived here,
    or create it only if there still is none). A writer refused by it (412, 409 reservation, 404) archives
    again and retries: concurrent writers never overwrite a version nobody archived. No condition (None)
    for an unversioned container."""
    if state is None:
        return None, None
    for attempt in range(ARCHIVE_ATTEMPTS):
        current = await head(ctx, account, container, obj)
        if not current.exists:
            return None, {wire.COND_IF_NONE_MATCH: "*"}
        stamp = lookup(current.headers, "x-timestamp") or ""
        archived = await archive_current(ctx, account, container, obj, state, current)
        if not stamp:
            return archived, None
        if archived is not None or (version_id_of(current.headers) == names.NULL_VERSION and state != ENABLED):
            return archived, {wire.COND_IF_MATCH: stamp, wire.COND_ETAG_IS_AT: wire.COND_DATA_TIMESTAMP}
        # the copy read another write than the HEAD saw: never guard on (and so replace) a version this
        # writer did not archive; look again
        await backoff(attempt)
    raise HTTPError(503, "the current version kept changing")


async def backoff(attempt: int) -> None:
    """A short, growing, jittered pause before a versioned write that lost a race to another writer of its
    name tries again (every retry loop of the versioning features)."""
    await asyncio.sleep(random.uniform(0, min(0.5, 0.01 * 2 ** attempt)))


async def archive_current(ctx: Any, account: str, container: str, obj: str, state: str | None,
                          current: Stored | None = None) -> str | None:
    """Before a write or delete replaces ``obj``: keep its current version in the versions container
    (``current``: its HEAD when the caller made it).

    Returns the archived version id (None when nothing was kept: no current object, an unversioned
    container, or a ``null`` current replaced while suspended, as S3 replaces the null version)."""
    if state is None:
        return None
    current = current or await head(ctx, account, container, obj)
    if not current.exists:
        return None
    version_id = stored_id = version_id_of(current.headers)
    if version_id == names.NULL_VERSION:
        if state != ENABLED:
            await guard(ctx, current.headers)  # the null version's data goes away
            return None
        version_id = null_written_at(current.headers)  # kept as null, where its write time puts it
    hidden = names.versions_container(container)
    if not await copy_stored(ctx, account, (container, obj), (hidden, names.version_object(obj, version_id)),
                             {OBJECT_VERSION_SYSMETA: stored_id},
                             expect_timestamp=lookup(current.headers, "x-timestamp") or ""):
        return None
    ctx.state.invalidate_info(account, container)  # its bytes count its versions'
    return version_id


def null_written_at(headers: Mapping[str, str]) -> str:
    """When a stored ``null`` version was written (the name it is archived under): the time it carries from
    an earlier archiving (``NULL_WRITTEN_SYSMETA``: restoring copies it), else its own X-Timestamp."""
    for name, value in headers.items():
        if name.lower() == NULL_WRITTEN_SYSMETA.lower() and names.valid_version_id(value, allow_null=False):
            return value
    return Timestamp(headers.get("x-timestamp") or Timestamp.now()).normal


async def add_delete_marker(ctx: Any, account: str, container: str, obj: str, *, null: bool = False) -> str:
    """Write a delete marker as ``obj``'s newest version; its version id (``null`` for S3's null marker of a
    suspended bucket, stored under its write time like an archived null version)."""
    return (await write_delete_marker(ctx, account, container, obj, null=null))[0]


async def write_delete_marker(ctx: Any, account: str, container: str, obj: str, *,
                              null: bool = False) -> tuple[str, str]:
    """``add_delete_marker``, also naming where the marker is stored: (version id, stored version name)."""
    version_id = names.new_version_id()
    hidden = names.versions_container(container)
    resp = await ctx.client.put_object(
        account, hidden, names.version_object(obj, version_id),
        {"Content-Type": DELETE_MARKER_CONTENT_TYPE, "X-Timestamp": version_id,
         OBJECT_VERSION_SYSMETA: names.NULL_VERSION if null else version_id}, _nothing(), content_length=0)
    await resp.close()
    if resp.status != 201:
        raise HTTPError(503, "could not write the delete marker")
    ctx.state.invalidate_info(account, hidden)
    ctx.state.invalidate_info(account, container)
    return (names.NULL_VERSION if null else version_id), version_id


async def remove_delete_marker(ctx: Any, account: str, container: str, obj: str, stored_as: str) -> None:
    """Take back a delete marker this request wrote (``write_delete_marker``'s stored version name) for a
    delete that did not happen."""
    await delete_stored(ctx, account, names.versions_container(container), names.version_object(obj, stored_as))
    ctx.state.invalidate_info(account, container)


MOVE_ATTEMPTS = 8  # a version deleted by id that moved meanwhile (promoted, archived) is looked for again


def newest_stamp(headers: Mapping[str, str]) -> str | None:
    """The newest timestamp of a stored object: its last POST's when one changed its metadata (the nodes'
    ``X-Backend-Timestamp``; the POST moved its listing row to that time), else its write's."""
    return lookup(headers, "x-backend-timestamp") or lookup(headers, "x-timestamp")


async def delete_if_current(ctx: Any, account: str, container: str, obj: str, current: Stored) -> bool:
    """Remove the current object's write ``current`` (its HEAD) saw, and nothing newer: the tombstone is
    placed just after that write's newest timestamp (``newest_stamp``), so a version written meanwhile
    (always newer) is refused removal on every node (409) and wins over the tombstone wherever replication
    meets them: it is never removed unarchived. True when removed (or nothing was there), False when a newer
    write is current now (the caller archives it and retries); 503 for a cluster failure."""
    stamp = newest_stamp(current.headers) if current.exists else None
    if not stamp:
        if current.exists:
            await delete_stored(ctx, account, container, obj)
        return True
    resp = await ctx.client.delete_object(account, container, obj,
                                          headers={"X-Timestamp": Timestamp(stamp).just_after().normal})
    await resp.close()
    ctx.state.invalidate_info(account, container)
    if 200 <= resp.status < 300 or resp.status == 404:
        return True
    if resp.status == 409:
        return False
    raise HTTPError(503)


async def delete_stored(ctx: Any, account: str, container: str, obj: str) -> bool:
    """DELETE a stored object (True when there was one); 503 for a cluster failure."""
    resp = await ctx.client.delete_object(account, container, obj, headers={"X-Timestamp": Timestamp.now().normal})
    await resp.close()
    ctx.state.invalidate_info(account, container)
    if resp.status in (200, 204):
        return True
    if resp.status == 404:
        return False
    raise HTTPError(503)


# -- finding versions -----------------------------------------------------------------------------

@dataclass
class Found:
    """Where a version id of a name is stored: the current object or an archived one."""

    container: str
    obj: str
    version_id: str
    is_current: bool
    headers: Mapping[str, str]

    @property
    def is_delete_marker(self) -> bool:
        return is_delete_marker(self.headers)

    @property
    def written_at(self) -> Timestamp | None:
        """An archived version's write time (from the id its name carries: archiving does not keep its
        X-Timestamp); None for the current object (its own Last-Modified is its write time)."""
        if self.is_current:
            return None
        parsed = names.parse_version_object(self.obj)
        return version_time(parsed[1]) if parsed is not None else None


def version_time(version_id: str) -> Timestamp | None:
    """A version's write time from its id (ids are the write's timestamp); None for ``null`` or a bad id.
    The one reading of it: listings' ``last_modified`` and a read by id's Last-Modified."""
    if not names.valid_version_id(version_id, allow_null=False):
        return None
    return Timestamp(version_id)


def is_null_row(row: Mapping[str, Any]) -> bool:
    """Whether a versions-container listing row is an archived ``null`` version or ``null`` marker (its
    stored id, carried by the row, is ``null``)."""
    return row.get("version_id") == names.NULL_VERSION


async def find_archived_null(ctx: Any, account: str, container: str, obj: str) -> Found | None:
    """S3's ``null`` version (or ``null`` marker) of ``obj`` when it is archived, None when there is none.
    It sits where its write time puts it, so ``obj``'s versions are read page by page until it shows (one
    listing for a name with few versions)."""
    hidden = names.versions_container(container)
    marker: str | None = None
    while True:
        resp, rows = await ctx.client.list_container(account, hidden, prefix=names.version_object_prefix(obj),
                                                     marker=marker, limit=NULL_SCAN_PAGE)
        await resp.close()
        if resp.status == 404:
            return None
        if not 200 <= resp.status < 300:
            raise HTTPError(503)
        for row in rows:
            if is_null_row(row):
                stored = await head(ctx, account, hidden, row["name"])
                if stored.exists:
                    return Found(hidden, row["name"], names.NULL_VERSION, False, stored.headers)
        if len(rows) < NULL_SCAN_PAGE:
            return None
        marker = rows[-1]["name"]


async def find_version(ctx: Any, account: str, container: str, obj: str, version_id: str, *,
                       null_anywhere: bool = False) -> Found | None:
    """Where ``obj``'s version ``version_id`` is stored (``null`` included), None when it is not.
    ``null`` is the current object's id only (Swift), or, with ``null_anywhere``, the ``null`` version
    wherever it sits (S3: archived under its write time after versioning was enabled again)."""
    current = await head(ctx, account, container, obj)
    if current.exists and version_id_of(current.headers) == version_id:
        return Found(container, obj, version_id, True, current.headers)
    if version_id == names.NULL_VERSION:
        return await find_archived_null(ctx, account, container, obj) if null_anywhere else None
    hidden, name = names.versions_container(container), names.version_object(obj, version_id)
    stored = await head(ctx, account, hidden, name)
    if not stored.exists:
        return None
    return Found(hidden, name, version_id, False, stored.headers)


async def newest_archived(ctx: Any, account: str, container: str, obj: str) -> tuple[str, dict] | None:
    """(versions-container name, listing row) of ``obj``'s newest archived version or marker."""
    hidden = names.versions_container(container)
    resp, rows = await ctx.client.list_container(account, hidden, prefix=names.version_object_prefix(obj),
                                                 limit=1)
    await resp.close()
    if resp.status == 404 or not rows:
        return None
    if not 200 <= resp.status < 300:
        raise HTTPError(503)
    return rows[0]["name"], rows[0]


async def delete_version(ctx: Any, account: str, container: str, obj: str, version_id: str, *,
                         null_anywhere: bool = False) -> Found | None:
    """Delete one version for good (no marker written): the current one removes the object (the name
    then answers 404 until written again, as Swift and S3 do); None when there is no such version.
    ``null_anywhere`` as for ``find_version``. A version that moves while this runs (an archived one
    promoted to current by a concurrent delete) is followed to where it went."""
    first: Found | None = None
    misses = 0
    for _attempt in range(MOVE_ATTEMPTS):
        found = await find_version(ctx, account, container, obj, version_id, null_anywhere=null_anywhere)
        if found is None:
            # it may have moved between the two places find_version looks (current, then archived): an
            # archived version is copied to current before its archived entry goes, a current one archived
            # before it is replaced, so a second look (current, archived again) finds one that exists
            misses += 1
            if first is not None or misses == 2:
                break
            continue
        first = first or found
        if not found.is_delete_marker:
            await guard(ctx, found.headers)
        if found.is_current:  # that write only: a version written over it meanwhile stays
            done = await delete_if_current(ctx, account, found.container, found.obj, Stored(200, found.headers))
        else:
            done = await delete_stored(ctx, account, found.container, found.obj)
        ctx.state.invalidate_info(account, container)
        if done and not found.is_current:
            # a concurrent delete may have been promoting this archived version to current (it copies it
            # there before removing the archived entry, and two deletes of one entry can both succeed
            # while the first tombstone is still being committed): the promoted copy goes too
            current = await head(ctx, account, container, obj)
            if current.exists and version_id_of(current.headers) == found.version_id:
                await delete_if_current(ctx, account, container, obj, current)
        if done:
            break
    return first


async def remove_archived_null(ctx: Any, account: str, container: str, obj: str) -> bool:
    """S3, suspended bucket: a write or delete replaces the ``null`` version, so an archived ``null`` version
    or marker of ``obj`` goes (after the guards: a held version is refused). True when one was removed."""
    found = await find_archived_null(ctx, account, container, obj)
    if found is None:
        return False
    if not found.is_delete_marker:
        await guard(ctx, found.headers)
    await delete_stored(ctx, account, found.container, found.obj)
    ctx.state.invalidate_info(account, container)
    return True


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""  # an async generator with no chunks
