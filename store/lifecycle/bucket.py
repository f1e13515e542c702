"""One bucket's lifecycle pass: expire current objects that a rule makes due, abort stale uploads.

Objects: the bucket's rows are listed from this node's own copy of the container (it is the first
primary; the rows of every replica converge there by replication), one listing per distinct rule prefix.
A row whose prefix and size match an enabled ``Expiration`` rule and whose expiry (``Rule.expiry`` of
its last-modified time) has passed is then HEADed through the internal client: the object as it is now
(tags, exact X-Timestamp) decides. It is deleted with ``X-Timestamp`` one tick after its own, so a
newer write of the key always survives (the nodes answer 409) and a retried pass is harmless. A
completed multipart upload's parts (in ``<bucket>+segments``) go once its manifest is deleted.

Uploads: ``<bucket>+segments`` is listed through the internal client (it lives on other container
nodes); an upload marker (``<key>/<upload id>``) older than an ``AbortIncompleteMultipartUpload`` rule
allows is deleted first (UploadPart and CompleteMultipartUpload then answer NoSuchUpload), then its
parts, unless a CompleteMultipartUpload that raced the marker's deletion made them the key's object.

Versioned buckets (versioning enabled or suspended, docs/versioning.md): ``expire_current`` keeps the
current version in the versions container and writes a delete marker instead of deleting it (a ``null``
current version of a suspended bucket is removed, as AWS), through the versioning engine's layout
(``versioned``); ``noncurrent`` then runs ``NoncurrentVersionExpiration`` and removes expired object
delete markers over the versions container.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from objclient.client import StorageClient
from stackstore import versioning_names as names
from stackstore.lifecycle import Rule, object_tags
from stackstore.timestamp import Timestamp
from store.lifecycle import retention, s3_layout, version_layout
from store.lifecycle.noncurrent import NoncurrentPass
from store.lifecycle.rows import covering_prefixes, parse_listing_time
from store.lifecycle.versioned import VersionedBucket, just_after
from store.listings import ContainerStore

log = logging.getLogger("store.lifecycle")
PAGE = 1000


@dataclass
class PassStats:
    """Counters of one pass (summed over a device's buckets)."""

    buckets: int = 0
    examined: int = 0  # object rows and upload markers looked at
    expired: int = 0
    aborted: int = 0
    failures: int = 0
    noncurrent: int = 0  # noncurrent versions (and noncurrent delete markers) removed
    markers: int = 0  # expired object delete markers removed
    locked: int = 0  # versions kept because Object Lock holds them

    def as_dict(self) -> dict[str, int]:
        return {"buckets": self.buckets, "examined": self.examined, "expired": self.expired,
                "aborted": self.aborted, "failures": self.failures, "noncurrent": self.noncurrent,
                "markers": self.markers, "locked": self.locked}


class BucketLifecycle:
    """The rules of one bucket applied once, at ``now``."""

    def __init__(self, client: StorageClient, store: ContainerStore, io: Callable[..., Awaitable[Any]],
                 account: str, bucket: str, policy: int, rules: list[Rule], day_seconds: float,
                 concurrency: int, stats: PassStats, now: float | None = None, versioning: str | None = None):
        self.client = client
        self.store = store
        self.io = io
        self.account = account
        self.bucket = bucket
        self.policy = policy
        self.rules = [r for r in rules if r.enabled]
        self.day_seconds = day_seconds
        self.concurrency = max(1, concurrency)
        self.sem = asyncio.Semaphore(self.concurrency)
        self.stats = stats
        self.now = time.time() if now is None else now
        self.versioning = versioning  # version_layout.ENABLED / SUSPENDED, None: never versioned
        self.versions = VersionedBucket(client, account, bucket, policy) if versioning else None

    async def run(self) -> None:
        await self.expire_objects()
        if self.versions is not None:
            await NoncurrentPass(self, self.versions).run()
        await self.abort_uploads()

    # -- current versions ------------------------------------------------------------------------
    def _due_rules(self, key: str, size: int | None, created: float) -> list[Rule]:
        """Expiration rules due for this object, tags not yet considered."""
        out = []
        for rule in self.rules:
            if rule.expires_current and rule.filter.matches_untagged(key, size):
                when = rule.expiry(created, self.day_seconds)
                if when is not None and when <= self.now:
                    out.append(rule)
        return out

    async def expire_objects(self) -> None:
        rules = [r for r in self.rules if r.expires_current]
        for prefix in covering_prefixes([r.filter.prefix for r in rules]):
            marker: str | None = None
            while True:
                rows = await self.io(functools.partial(self.store.list_objects, self.account, self.bucket,
                                                       prefix=prefix or None, marker=marker, limit=PAGE))
                objects = [r for r in rows if "name" in r]
                self.stats.examined += len(objects)
                due = []
                for row in objects:
                    created = parse_listing_time(row.get("last_modified", ""))
                    if created is not None and self._due_rules(row["name"], int(row.get("bytes") or 0), created):
                        due.append(row)
                await asyncio.gather(*(self.guarded(self.expire_if_due(row["name"], int(row.get("bytes") or 0)))
                                       for row in due))
                if len(rows) < PAGE:
                    break
                marker = rows[-1].get("name") or rows[-1].get("subdir")

    async def guarded(self, work: Awaitable[None]) -> None:
        async with self.sem:
            try:
                await work
            except Exception:  # one object must not stop the pass
                log.exception("lifecycle of /%s/%s failed", self.account, self.bucket)
                self.stats.failures += 1

    async def expire_if_due(self, key: str, size: int) -> None:
        """Look at the object as stored now; expire it when a rule (tags included) makes it due."""
        head = await self.client.head_object(self.account, self.bucket, key, policy=self.policy)
        if head.status == 404:
            return
        if head.status != 200:
            self.stats.failures += 1
            return
        raw_ts = s3_layout.header(head.headers, "X-Timestamp")
        try:
            stamp = Timestamp(raw_ts or "")
        except ValueError:
            self.stats.failures += 1
            return
        tags = object_tags(head.headers)
        due = [r for r in self._due_rules(key, size, stamp.seconds) if r.filter.matches(key, size, tags)]
        if due:
            await self.expire_current(key, stamp, dict(head.headers.items()), due[0])

    async def expire_current(self, key: str, stamp: Timestamp, headers: dict[str, str], rule: Rule) -> None:
        """Expire the current version written at ``stamp`` (a newer write survives: 409). In a versioned
        bucket it is kept as a noncurrent version under a new delete marker."""
        if self.versions is not None:
            await self.expire_versioned(key, stamp, headers, rule)
            return
        parts = await self._manifest_parts(key) if s3_layout.is_multipart_manifest(headers) else []
        if await self._delete_current(key, stamp):
            log.info("lifecycle rule %r expired /%s/%s/%s", rule.id, self.account, self.bucket, key)
            await self._delete_paths(parts)

    async def _delete_current(self, key: str, stamp: Timestamp) -> bool:
        """Delete the current object written at ``stamp``; True when this pass deleted it."""
        resp = await self.client.delete_object(self.account, self.bucket, key,
                                               headers={"X-Timestamp": just_after(stamp).normal}, policy=self.policy)
        await resp.close()
        if resp.status in (404, 409):  # gone already, or overwritten since it was looked at
            return False
        if resp.status // 100 != 2:
            self.stats.failures += 1
            return False
        self.stats.expired += 1
        return True

    async def expire_versioned(self, key: str, stamp: Timestamp, headers: dict[str, str], rule: Rule) -> None:
        """AWS's Expiration in a versioned bucket: the current version becomes noncurrent under a new
        delete marker (the engine's delete: archive, marker, remove the current object). While
        suspended, a ``null`` current version is removed instead of kept (after the Object Lock check),
        and the marker is the ``null`` one, replacing an archived ``null`` version or marker."""
        assert self.versions is not None
        version_id = version_layout.version_id_of(headers)
        suspended = self.versioning != version_layout.ENABLED
        keep = version_id != names.NULL_VERSION or not suspended
        parts: list[str] = []
        if suspended and not await self._remove_archived_null(key):
            return
        if keep:
            if not await self.versions.archive_current(key, stamp, version_id if version_id != names.NULL_VERSION
                                                       else stamp.normal):
                return  # overwritten or deleted since it was looked at
        else:
            if retention.is_locked(headers, self.now):
                self.stats.locked += 1
                return
            if s3_layout.is_multipart_manifest(headers):
                parts = await self._manifest_parts(key)
        marker = await self.versions.add_delete_marker(key, null=suspended)
        if not await self._delete_current(key, stamp):
            # written again (or deleted) since: that write is current, this marker would only lie under it
            await self.versions.remove_archived(names.version_object(key, marker), Timestamp(marker))
            return
        log.info("lifecycle rule %r expired /%s/%s/%s (delete marker %s)", rule.id, self.account, self.bucket,
                 key, marker)
        await self._delete_paths(parts)

    async def _remove_archived_null(self, key: str) -> bool:
        """A suspended bucket's expiration replaces the ``null`` version: remove ``key``'s archived one (and its
        multipart parts), if any. False when it is held by Object Lock (the expiration then waits)."""
        assert self.versions is not None
        found = await self.versions.archived_null(key)
        if found is None:
            return True
        name, stored = found
        parts: list[str] = []
        if not version_layout.is_delete_marker(s3_layout.header(stored, "Content-Type")):
            if retention.is_locked(stored, self.now):
                self.stats.locked += 1
                return False
            if s3_layout.is_multipart_manifest(stored):
                parts = await self._manifest_parts(name, container=self.versions.hidden)
        stamp = Timestamp(s3_layout.header(stored, "X-Timestamp") or "0")
        status = await self.versions.remove_archived(name, stamp)
        if status // 100 != 2 and status != 404:
            self.stats.failures += 1
            return False
        await self._delete_paths(parts)
        return True

    async def _manifest_parts(self, key: str, container: str | None = None) -> list[str]:
        """``/container/object`` paths of a completed multipart upload's parts (in the segments container);
        ``container``: where the manifest is stored when not the bucket (an archived version)."""
        resp = await self.client.get_object(self.account, container or self.bucket, key, policy=self.policy)
        if resp.status != 200:
            await resp.close()
            return []
        try:
            entries = json.loads(await resp.read())
        except ValueError:
            return []
        prefix = f"/{s3_layout.segments_container(self.bucket)}/"
        return [str(e["name"]) for e in entries
                if isinstance(e, dict) and str(e.get("name", "")).startswith(prefix)]

    async def _delete_paths(self, paths: list[str]) -> None:
        """Delete ``/container/object`` paths, a few at a time (callers may hold ``self.sem``)."""
        sem = asyncio.Semaphore(self.concurrency)

        async def one(path: str) -> None:
            container, _, obj = path[1:].partition("/")
            async with sem:
                await self.client.delete_object(self.account, container, obj)

        await asyncio.gather(*(one(p) for p in paths))

    # -- incomplete multipart uploads ------------------------------------------------------------
    async def abort_uploads(self) -> None:
        rules = [r for r in self.rules if r.abort_days is not None]
        if not rules:
            return
        seg = s3_layout.segments_container(self.bucket)
        for prefix in covering_prefixes([r.filter.prefix for r in rules]):
            marker: str | None = None
            while True:
                resp, rows = await self.client.list_container(self.account, seg, prefix=prefix or None,
                                                              marker=marker, limit=PAGE)
                if resp.status // 100 != 2:
                    if resp.status != 404:
                        self.stats.failures += 1
                    return
                due = []
                for row in rows:
                    if (row.get("content_type") or "").partition(";")[0].strip() != s3_layout.UPLOAD_TYPE:
                        continue
                    self.stats.examined += 1
                    key, upload_id = s3_layout.upload_of(row.get("name", ""))
                    initiated = parse_listing_time(row.get("last_modified", ""))
                    if initiated is not None and self._abort_due(rules, key, initiated):
                        due.append((key, upload_id))
                await asyncio.gather(*(self.guarded(self.abort_upload(k, u)) for k, u in due))
                if len(rows) < PAGE:
                    break
                marker = rows[-1].get("name")

    def _abort_due(self, rules: list[Rule], key: str, initiated: float) -> bool:
        for rule in rules:
            when = rule.abort_due(initiated, self.day_seconds)
            if when is not None and when <= self.now and key.startswith(rule.filter.prefix):
                return True
        return False

    async def abort_upload(self, key: str, upload_id: str) -> None:
        """Delete the upload's marker, then its parts (unless a racing Complete made them the object)."""
        seg = s3_layout.segments_container(self.bucket)
        resp = await self.client.delete_object(self.account, seg, f"{key}/{upload_id}")
        if resp.status == 404:
            return
        if resp.status // 100 != 2:
            self.stats.failures += 1
            return
        if await self._completed_from(key, upload_id):
            return
        prefix = s3_layout.part_prefix(key, upload_id)
        marker: str | None = None
        while True:
            listing, rows = await self.client.list_container(self.account, seg, prefix=prefix, marker=marker,
                                                             limit=PAGE)
            names = [r["name"] for r in rows if "name" in r]
            if listing.status // 100 != 2 or not names:
                break
            await self._delete_paths([f"/{seg}/{name}" for name in names])
            if len(rows) < PAGE:
                break
            marker = names[-1]
        self.stats.aborted += 1
        log.info("lifecycle aborted upload %s of /%s/%s/%s", upload_id, self.account, self.bucket, key)

    async def _completed_from(self, key: str, upload_id: str) -> bool:
        """The key's object is a completed multipart upload built from this upload's parts."""
        head = await self.client.head_object(self.account, self.bucket, key, policy=self.policy)
        if head.status != 200 or not s3_layout.is_multipart_manifest(head.headers):
            return False
        seg = s3_layout.segments_container(self.bucket)
        wanted = f"/{seg}/{s3_layout.part_prefix(key, upload_id)}"
        return any(p.startswith(wanted) for p in await self._manifest_parts(key))
