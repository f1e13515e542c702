"""Lifecycle over a versioned bucket's older versions: ``NoncurrentVersionExpiration`` and the removal
of expired object delete markers, as AWS runs them ("How lifecycle works with versioned buckets").

The versions container ``\\x00versions\\x00<bucket>`` is listed through the internal client, page by
page, once per distinct rule prefix. Its rows come name by name, newest first, so one name's history
is walked without holding it in memory:

* **When a version became noncurrent** is when its successor (the next newer version, delete marker or
  the current object) was written: the successor's version id, which is its write's timestamp (for a
  ``null`` current, its last-modified time; for the newest archived row of a name with no current
  object and no delete marker on top, nothing newer is known and the time it was archived is used).
* **NoncurrentVersionExpiration** removes a noncurrent version once ``NoncurrentDays`` have passed since
  then (rounded up to the day boundary, as ``Days``) and, with ``NewerNoncurrentVersions: n``, only
  when at least ``n`` newer noncurrent versions exist (so the newest ``n`` are kept). Noncurrent delete
  markers are noncurrent versions like any other (counted and removed alike).
* **An expired object delete marker** is a delete marker that is the current version (no current
  object) with no noncurrent version left. It is removed under ``ExpiredObjectDeleteMarker: true``, or
  under an ``Expiration`` ``Days``/``Date`` rule once the marker is as old as the rule asks (AWS removes
  such markers with the expiration action too). This pass's own removals count: a marker whose
  versions all went in the same pass goes as well. Before removing one, the cluster is asked again
  (the current object and the name's versions), so a stale listing never removes a marker in use.

Filters apply to versions: the prefix to the key, size bounds to the version's size, tags to the
version's own tags (read with a HEAD before removal). A delete marker has no size and no tags: size
bounds are not applied to it, a tag filter never selects it. A version under S3 Object Lock (retention
or legal hold, ``retention.is_locked``) is never removed.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stackstore import versioning_names as names
from stackstore.lifecycle import Rule, day_boundary_after, object_tags
from stackstore.timestamp import Timestamp
from stackstore.wire import split_version_param
from store.lifecycle import retention, s3_layout, version_layout
from store.lifecycle.rows import covering_prefixes, parse_listing_time
from store.lifecycle.versioned import VersionedBucket

if TYPE_CHECKING:
    from store.lifecycle.bucket import BucketLifecycle

log = logging.getLogger("store.lifecycle")
PAGE = 1000


@dataclass
class NameHistory:
    """What the walk knows of one key's versions so far (newest first)."""

    key: str
    successor: float | None  # when the next row to come became noncurrent (None: not known)
    marker_on_top: tuple[str, float] | None = None  # a delete marker that is the current version (name, id time)
    noncurrent: int = 0  # noncurrent rows seen (the next row has this many newer noncurrent versions)
    removed: int = 0  # of those, removed (or found gone) in this pass


def applies_to_markers(rule: Rule) -> bool:
    """The rule removes expired object delete markers (explicitly, or by its Expiration's age)."""
    return bool(rule.expired_object_delete_marker) or rule.expires_current


class NoncurrentPass:
    """One pass of a versioned bucket's noncurrent-version and delete-marker rules."""

    def __init__(self, lc: BucketLifecycle, versions: VersionedBucket):
        self.lc = lc
        self.versions = versions
        self.noncurrent_rules = [r for r in lc.rules if r.noncurrent_days is not None]
        self.marker_rules = [r for r in lc.rules if applies_to_markers(r)]

    async def run(self) -> None:
        rules = self.noncurrent_rules + self.marker_rules
        if not rules:
            return
        for prefix in covering_prefixes([r.filter.prefix for r in rules]):
            history: NameHistory | None = None
            marker: str | None = None
            while True:
                resp, rows = await self.lc.client.list_container(
                    self.lc.account, self.versions.hidden, prefix=names.object_prefix(prefix), marker=marker,
                    limit=PAGE)
                if resp.status // 100 != 2:
                    if resp.status != 404:
                        self.lc.stats.failures += 1
                    return
                work: list[Awaitable[None]] = []
                finished: list[NameHistory] = []
                for row in rows:
                    parsed = names.parse_version_object(row.get("name", ""))
                    if parsed is None:
                        continue
                    key, version_id = parsed
                    if history is None or history.key != key:
                        if history is not None:
                            finished.append(history)
                        history = await self._start(key)
                    self.lc.stats.examined += 1
                    listed = parse_listing_time(row.get("last_modified", "")) or 0.0
                    row_time = version_layout.id_seconds(version_id) or listed
                    if work_item := self._step(history, row, row_time, listed):
                        work.append(work_item)
                await asyncio.gather(*work)
                await self._finish(finished)
                if len(rows) < PAGE:
                    break
                marker = rows[-1].get("name")
            if history is not None:
                await self._finish([history])

    async def _start(self, key: str) -> NameHistory:
        """A new key's walk: the current object (from this node's copy of the bucket) is the successor
        of the newest archived row."""
        rows = await self.lc.io(functools.partial(self.lc.store.list_objects, self.lc.account, self.lc.bucket,
                                                  prefix=key, limit=1))
        if not rows or rows[0].get("name") != key:
            return NameHistory(key, None)
        row = dict(rows[0])
        split_version_param(row)
        since = version_layout.id_seconds(str(row.get("version_id") or "")) or parse_listing_time(
            row.get("last_modified", ""))
        return NameHistory(key, since if since is not None else 0.0)

    def _step(self, history: NameHistory, row: dict, row_time: float, listed: float) -> Awaitable[None] | None:
        """Account for the next (older) row of ``history``'s key (``row_time``: its version id's time,
        ``listed``: when it was stored here); the removal to run, if it is due."""
        is_marker = version_layout.is_delete_marker(row.get("content_type"))
        first = history.successor is None and history.noncurrent == 0 and history.marker_on_top is None
        if first and is_marker:
            history.marker_on_top = (row["name"], row_time)  # no current object: the marker is the current version
            history.successor = row_time
            return None
        # nothing newer known (no current object, no marker on top): it became noncurrent when archived
        since = history.successor if history.successor is not None else listed
        history.successor = row_time
        newer = history.noncurrent
        history.noncurrent += 1
        size = None if is_marker else int(row.get("bytes") or 0)
        due = [r for r in self.noncurrent_rules if self._selects(r, history.key, size, is_marker)
               and day_boundary_after(since, r.noncurrent_days or 0, self.lc.day_seconds) <= self.lc.now
               and (r.newer_noncurrent_versions is None or newer >= r.newer_noncurrent_versions)]
        if not due:
            return None
        return self.lc.guarded(self._remove_noncurrent(history, row["name"], size, is_marker, due))

    @staticmethod
    def _selects(rule: Rule, key: str, size: int | None, is_marker: bool) -> bool:
        """The rule's filter before tags are known (a marker: no size, no tags)."""
        if is_marker:
            return rule.filter.matches(key, None, {})
        return rule.filter.matches_untagged(key, size)

    async def _remove_noncurrent(self, history: NameHistory, name: str, size: int | None, is_marker: bool,
                                 rules: list[Rule]) -> None:
        head = await self.versions.head_archived(name)
        if head.status == 404:
            history.removed += 1
            return
        if head.status != 200:
            self.lc.stats.failures += 1
            return
        if not is_marker:
            tags = object_tags(head.headers)
            if not any(r.filter.matches(history.key, size, tags) for r in rules):
                return
            if retention.is_locked(head.headers, self.lc.now):
                self.lc.stats.locked += 1
                return
        status = await self.versions.remove_archived(name, Timestamp(s3_layout.header(head.headers, "X-Timestamp")
                                                                     or "0"))
        if status == 404:
            history.removed += 1
        elif status // 100 == 2:
            history.removed += 1
            self.lc.stats.noncurrent += 1
            log.info("lifecycle rule %r expired a noncurrent version of /%s/%s/%s", rules[0].id, self.lc.account,
                     self.lc.bucket, history.key)
        elif status != 409:  # 409: written again since it was looked at
            self.lc.stats.failures += 1

    async def _finish(self, histories: list[NameHistory]) -> None:
        """Keys whose rows are all walked: remove their expired object delete markers."""
        work = []
        for history in histories:
            if history.marker_on_top is None or history.removed < history.noncurrent:
                continue
            name, marker_time = history.marker_on_top
            due = [r for r in self.marker_rules if r.filter.matches(history.key, None, {}) and (
                r.expired_object_delete_marker or (r.expiry(marker_time, self.lc.day_seconds) or self.lc.now + 1)
                <= self.lc.now)]
            if due:
                work.append(self.lc.guarded(self._remove_marker(history.key, name, due[0])))
        await asyncio.gather(*work)

    async def _remove_marker(self, key: str, name: str, rule: Rule) -> None:
        """Remove the delete marker ``name`` if it is still ``key``'s only version and the current one."""
        if await self.versions.head_current(key) is not None:
            return
        resp, rows = await self.lc.client.list_container(self.lc.account, self.versions.hidden,
                                                         prefix=names.version_object_prefix(key), limit=2)
        if resp.status // 100 != 2:
            self.lc.stats.failures += 1
            return
        if [r.get("name") for r in rows] != [name]:
            return
        head = await self.versions.head_archived(name)
        if head.status != 200 or not version_layout.is_delete_marker(s3_layout.header(head.headers, "Content-Type")):
            return
        status = await self.versions.remove_archived(name, Timestamp(s3_layout.header(head.headers, "X-Timestamp")
                                                                     or "0"))
        if status // 100 == 2:
            self.lc.stats.markers += 1
            log.info("lifecycle rule %r removed the expired delete marker of /%s/%s/%s", rule.id, self.lc.account,
                     self.lc.bucket, key)
        elif status not in (404, 409):
            self.lc.stats.failures += 1
