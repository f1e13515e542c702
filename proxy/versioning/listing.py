"""All-versions listings: the container's current objects merged with its versions container.

Order: names ascending, each name's versions newest first (the current object, then the versions
container's rows, whose inverted ids sort newest first); ``reverse`` is the exact reverse. Each source
is listed from the position the markers give with at most ``limit`` rows, so one page costs two
bounded listings whatever the number of versions. A row's ``is_latest`` is true for the current
object, or for a name's newest delete marker when there is no current object (Swift's API: except the marker
name's current version after ``version_marker=null``, as Swift 2.38 lists it: ``marker_name_latest``).

S3's view (``null_ids``): an archived ``null`` version or marker (stored under its write time, its stored
id ``null``) lists as ``null`` where that time puts it, and ``version_marker=null`` continues after it
there. Swift's view lists it with the id its name carries (its write time), as Swift does.
"""

from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from proxy.http.errors import HTTPError
from proxy.versioning import engine
from stackstore import versioning_names as names


@dataclass
class VersionsQuery:
    """What one page of an all-versions listing asks for."""

    prefix: str = ""
    delimiter: str | None = None
    marker: str = ""
    version_marker: str = ""
    end_marker: str = ""
    limit: int = 10000
    reverse: bool = False
    null_ids: bool = False  # S3: archived null versions list as ``null`` (see the module's docstring)
    # Swift 2.38 lists the marker name's current version as not latest after ``version_marker=null`` (its
    # current-objects listing starts after the marker name; pinned by test_list_marker_and_version_marker_is_null,
    # launchpad bug 2147042): False copies that for Swift's API; S3 keeps the true answer
    marker_name_latest: bool = True


def _current_marker(q: VersionsQuery) -> str | None:
    """Where the current objects' listing starts. A name's versions sort by id, newest first, with a
    ``null`` current first; a current object with an id sits among its archived versions."""
    if not q.marker:
        return None
    if q.reverse and q.version_marker and q.version_marker != names.NULL_VERSION:
        return q.marker + "\x00"  # NUL after a name: a reverse listing includes the name itself
    return q.marker


def _after_version_marker(row: dict[str, Any], q: VersionsQuery) -> bool:
    """Whether the marker name's current row comes after (``marker``, ``version_marker``) in this order."""
    version_id = row.get("version_id") or names.NULL_VERSION
    if q.version_marker == names.NULL_VERSION:  # null sorts first: every other version comes after it
        return not q.reverse and version_id != names.NULL_VERSION
    if version_id == names.NULL_VERSION:
        return False
    return version_id > q.version_marker if q.reverse else version_id < q.version_marker


def _archive_marker(q: VersionsQuery) -> str | None:
    if not q.marker:
        return None
    if not q.version_marker:
        # past every version of the name (forward), or before all of them (reverse)
        return names.after_all_versions(q.marker) if not q.reverse else names.version_object_prefix(q.marker)
    if q.version_marker == names.NULL_VERSION:  # a null version sorts before the name's other versions
        return names.version_object_prefix(q.marker)
    return names.version_object(q.marker, q.version_marker)


async def list_versions(ctx: Any, account: str, container: str, q: VersionsQuery) -> list[dict[str, Any]]:
    """One page of ``container``'s versions (Swift ``?versions`` JSON rows: ``name``, ``hash``,
    ``bytes``, ``content_type``, ``last_modified``, ``version_id``, ``is_latest``; ``subdir`` rows
    with a delimiter). 404 when the container is missing, 503 when a listing fails."""
    if q.null_ids and q.marker and q.version_marker == names.NULL_VERSION and not q.reverse:
        archived_at = await _archived_null_id(ctx, account, container, q.marker)
        if archived_at is not None:  # continue after the null version where it sits
            q = dataclasses.replace(q, version_marker=archived_at)
    resp, current = await ctx.client.list_container(
        account, container, prefix=q.prefix or None, delimiter=q.delimiter, marker=_current_marker(q),
        end_marker=q.end_marker or None, limit=q.limit, reverse=q.reverse)
    await resp.close()
    if not 200 <= resp.status < 300:
        raise HTTPError(404 if resp.status == 404 else 503)
    if q.marker and q.version_marker:
        if q.reverse:
            current = [row for row in current if row.get("name") != q.marker or _after_version_marker(row, q)]
        else:
            head_resp, named = await ctx.client.list_container(account, container, prefix=q.marker, limit=1)
            await head_resp.close()
            if named and named[0].get("name") == q.marker and _after_version_marker(named[0], q):
                shown = named[0]
                if q.version_marker == names.NULL_VERSION and not q.marker_name_latest:
                    shown = dict(shown, _not_latest=True)
                current.insert(0, shown)
    hidden = names.versions_container(container)
    hresp, archived = await ctx.client.list_container(
        account, hidden, prefix=names.object_prefix(q.prefix), marker=_archive_marker(q),
        delimiter=q.delimiter, end_marker=names.object_prefix(q.end_marker) if q.end_marker else None,
        limit=q.limit, reverse=q.reverse)
    await hresp.close()
    if hresp.status == 404:
        archived = []
    elif not 200 <= hresp.status < 300:
        raise HTTPError(503)
    merged = heapq.merge(_current_rows(current), _archived_rows(archived), key=lambda item: item[0],
                         reverse=q.reverse)
    out: list[dict[str, Any]] = []
    seen_subdirs: set[str] = set()
    for _key, row in merged:
        if "subdir" in row:
            if row["subdir"] in seen_subdirs:
                continue
            seen_subdirs.add(row["subdir"])
        out.append(row)
        if len(out) >= q.limit:
            break
    names_with_current = {row["name"] for row in current if "name" in row}
    await _mark_newest_archived(ctx, account, hidden, out, names_with_current)
    for row in out:
        if row.pop("_null", False) and q.null_ids:
            row["version_id"] = names.NULL_VERSION
    return out


async def _archived_null_id(ctx: Any, account: str, container: str, name: str) -> str | None:
    """The id (write time) an archived ``null`` version of ``name`` is stored under; None when ``name``'s
    null version is its current object, or when it has none."""
    current = await engine.head(ctx, account, container, name)
    if current.exists and engine.version_id_of(current.headers) == names.NULL_VERSION:
        return None
    found = await engine.find_archived_null(ctx, account, container, name)
    parsed = names.parse_version_object(found.obj) if found is not None else None
    return parsed[1] if parsed is not None else None


async def _mark_newest_archived(ctx: Any, account: str, hidden: str, rows: list[dict[str, Any]],
                                names_with_current: set[str]) -> None:
    """A name without a current object: its newest archived row is latest when it is a delete marker.
    The newest is found per name with a one-row listing (only for names this page shows)."""
    by_name: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if "subdir" not in row and not row["is_latest"] and row["name"] not in names_with_current:
            by_name.setdefault(row["name"], []).append(row)
    for name, versions in by_name.items():
        newest = max(versions, key=lambda r: r["version_id"])
        if not engine.is_delete_marker(newest):
            continue
        resp, top = await ctx.client.list_container(account, hidden, prefix=names.version_object_prefix(name),
                                                    limit=1)
        await resp.close()
        if top and names.parse_version_object(top[0]["name"]) == (name, newest["version_id"]):
            newest["is_latest"] = True


def _current_rows(rows: list[dict[str, Any]]) -> Iterator[tuple[tuple, dict[str, Any]]]:
    for row in rows:
        if "subdir" in row:
            yield (row["subdir"], -1, ""), dict(row)
            continue
        out = dict(row)
        out["version_id"] = row.get("version_id") or names.NULL_VERSION  # from the row's hash (stackstore/wire.py)
        out["is_latest"] = not out.pop("_not_latest", False)
        if out["version_id"] == names.NULL_VERSION:
            yield (row["name"], 0, ""), out
        else:
            yield (row["name"], 1, names.invert(out["version_id"])), out


def _archived_rows(rows: list[dict[str, Any]]) -> Iterator[tuple[tuple, dict[str, Any]]]:
    for row in rows:
        if "subdir" in row:
            subdir = row["subdir"][len(names.RESERVED):]
            yield (subdir, -1, ""), {"subdir": subdir}
            continue
        parsed = names.parse_version_object(row["name"])
        if parsed is None:
            continue
        name, version_id = parsed
        out = dict(row, name=name, version_id=version_id, is_latest=False)
        if row.get("version_id") == names.NULL_VERSION:  # stored id null: S3's null version, archived
            out["_null"] = True
        written = engine.version_time(version_id)
        if written is not None:  # its write time is its Last-Modified, not when it was moved here
            out["last_modified"] = written.isoformat
        yield (name, 1, names.invert(version_id)), out
