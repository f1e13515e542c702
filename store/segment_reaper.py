"""The orphaned-segment reaper: parts in S3's hidden ``<bucket>+segments`` containers that nothing
references any more are deleted, once older than ``[store] segment_reaper_grace``.

How parts become orphans: an S3 multipart object (an SLO manifest over its parts) overwritten or deleted
through the Swift API (Swift's SLO leaves segments to their owner, the S3 API released them itself), a
proxy that died between an S3 overwrite and the release of the old parts, an UploadPart racing the
upload's Abort or Complete (the part lands after its marker is gone), an Abort that died between its
parts and its marker.

Every ``[store] segment_reaper_interval`` seconds each device scans its own container records for live
``*+segments`` containers and works on those it is the first up primary of (``store.container_duty``).
The container's rows are read from this device's copy, page by page (never whole); parts
(``<key>/<upload id>/<5-digit number>``) are grouped by upload, rows of other shapes are never touched.
An upload's parts are deleted only when all of these hold, checked in this order through the internal
object client (the cluster's answer, not this replica's):

1. the part is older than the grace period (its listing time);
2. the upload's marker ``<key>/<upload id>`` does not exist (HEAD 404): an upload in progress, even an
   abandoned one, is never touched (lifecycle's AbortIncompleteMultipartUpload is the tool for those).
   Complete writes its manifest before it deletes the marker, so a missing marker means the manifest,
   if any, is already readable;
3. no manifest names the part: neither the object now at ``<bucket>/<key>`` nor, when the bucket keeps
   Swift versions (``X-Versions-Location`` / ``X-History-Location``), any archived version of the key,
   nor any version of the key in the bucket's versions container (S3 versioning / ``X-Versions-Enabled``,
   docs/versioning.md).

Any answer that is not a clear 404 or a readable manifest (a node error, a manifest that does not
parse) keeps the parts for the next pass. Segments of Swift SLOs in ordinary containers are the
user's (as in Swift) and never looked at; an SLO in another container that names parts of a
``+segments`` container is not seen (documented limit).

Progress goes to ``<device>/.recon/segment_reaper.json`` (``containers`` worked on, ``examined`` parts,
``reaped`` parts and ``reaped_bytes``, ``failures``, ``last_pass``, ``pass_duration``, running totals).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import unquote

from objclient.client import StorageClient
from store import layout
from store.container_duty import ContainerDutyTask, runs_container
from store.lifecycle import s3_layout
from store.lifecycle.bucket import parse_listing_time
from store.listings import ContainerStore
from store.node import Node

T = TypeVar("T")
log = logging.getLogger("store.segment_reaper")
STATS_NAME = "segment_reaper"
TOTALS = ("reaped", "reaped_bytes", "failures")
PAGE = 1000
# proxy/s3/multipart.py: part names; upload ids are secrets.token_urlsafe(24) (32 characters)
PART_NAME = re.compile(r"(?P<key>.+)/(?P<upload>[A-Za-z0-9_-]{32})/(?P<number>\d{5})", re.DOTALL)
# proxy/swift/headers.py: where a container's Swift versions are archived
VERSIONS_LOCATION = "X-Container-Sysmeta-Versions-Location"
# stackstore/versioning_names.py: a bucket's object versions (S3 versioning, Swift X-Versions-Enabled) live in
# ``\x00versions\x00<bucket>`` as ``\x00<key>\x00<inverted version id>``
VERSIONS_CONTAINER_PREFIX = "\x00versions\x00"
MAX_MANIFEST_BYTES = 8 * 1024 * 1024 + 65536  # proxy/large_objects/slo_manifest.py's limit, with room


@dataclass
class ReapStats:
    """Counters of one pass of one device."""

    containers: int = 0
    examined: int = 0  # parts looked at
    reaped: int = 0
    reaped_bytes: int = 0
    failures: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"containers": self.containers, "examined": self.examined, "reaped": self.reaped,
                "reaped_bytes": self.reaped_bytes, "failures": self.failures}


@dataclass(frozen=True)
class SegmentsContainer:
    """A live ``<bucket>+segments`` container of this device."""

    account: str
    container: str

    @property
    def bucket(self) -> str:
        return self.container[:-len(s3_layout.SEGMENTS_SUFFIX)]


@dataclass
class Upload:
    """The old parts of one upload seen in the listing: ``(name, bytes)``."""

    key: str
    upload_id: str
    parts: list[tuple[str, int]] = field(default_factory=list)


def segments_containers(store: ContainerStore) -> list[SegmentsContainer]:
    """Every live ``*+segments`` container of a device's listing store (blocking)."""
    suffix = s3_layout.SEGMENTS_SUFFIX
    return [SegmentsContainer(rec["account"], rec["container"]) for rec in store.live_containers()
            if rec["container"].endswith(suffix) and len(rec["container"]) > len(suffix)]


def manifest_part_names(body: bytes, segments: str) -> set[str] | None:
    """Names (in ``segments``) of the parts a stored SLO manifest lists; None when it does not parse."""
    try:
        entries = json.loads(body)
    except ValueError:
        return None
    if not isinstance(entries, list):
        return None
    prefix = f"/{segments}/"
    out = set()
    for entry in entries:
        if not isinstance(entry, dict):
            return None
        name = entry.get("name")
        if isinstance(name, str):
            for form in (name, unquote(name)):
                if form.startswith(prefix):
                    out.add(form[len(prefix):])
    return out


class ContainerReap:
    """One pass over one ``+segments`` container."""

    def __init__(self, client: StorageClient, store: ContainerStore, io: Callable[..., Any],
                 target: SegmentsContainer, grace: float, concurrency: int, stats: ReapStats,
                 now: float | None = None):
        self.client = client
        self.store = store
        self.io = io
        self.target = target
        self.grace = grace
        self.sem = asyncio.Semaphore(max(1, concurrency))
        self.stats = stats
        self.now = time.time() if now is None else now
        self._archive: str | None = None
        self._bucket_read = False

    async def run(self) -> None:
        account, seg = self.target.account, self.target.container
        marker: str | None = None
        current: Upload | None = None
        while True:
            rows = await self.io(functools.partial(self.store.list_objects, account, seg, marker=marker,
                                                   limit=PAGE))
            for row in rows:
                name = row.get("name")
                match = PART_NAME.fullmatch(name) if isinstance(name, str) else None
                if match is None:
                    continue
                self.stats.examined += 1
                modified = parse_listing_time(row.get("last_modified", ""))
                if modified is None or modified > self.now - self.grace:
                    continue
                key, upload_id = match["key"], match["upload"]
                if current is None or (current.key, current.upload_id) != (key, upload_id):
                    if current is not None:
                        await self.reap_upload(current)
                    current = Upload(key, upload_id)
                current.parts.append((name, int(row.get("bytes") or 0)))
            if len(rows) < PAGE:
                break
            marker = rows[-1].get("name") or rows[-1].get("subdir")
        if current is not None:
            await self.reap_upload(current)

    async def reap_upload(self, upload: Upload) -> None:
        """Delete the upload's old parts unless its marker exists or a manifest of its key names them."""
        try:
            if await self._marker_exists(upload):
                return
            referenced = await self._referenced(upload.key)
            if referenced is None:
                return
            victims = [(name, size) for name, size in upload.parts if name not in referenced]
            await asyncio.gather(*(self._delete(name, size) for name, size in victims))
        except Exception:  # one upload must not stop the pass
            log.exception("reaping upload %s of /%s/%s failed", upload.upload_id, self.target.account,
                          self.target.bucket)
            self.stats.failures += 1

    async def _marker_exists(self, upload: Upload) -> bool:
        """The upload is in progress (or its marker's state is unknown: then it counts as existing)."""
        resp = await self.client.head_object(self.target.account, self.target.container,
                                             f"{upload.key}/{upload.upload_id}")
        if resp.status == 404:
            return False
        if resp.status != 200:
            self.stats.failures += 1
        return True

    async def _referenced(self, key: str) -> set[str] | None:
        """Part names the key's manifests list (the object now, archived Swift versions); None: unknown.
        Read afresh for every upload, after its marker was found gone (a cached older read could miss
        the manifest of an upload completed meanwhile)."""
        names = await self._manifest_references(self.target.bucket, key)
        if names is None:
            return None
        archived = await self._archived_references(key)
        if archived is None:
            return None
        versions = await self._listed_references(VERSIONS_CONTAINER_PREFIX + self.target.bucket,
                                                 f"\x00{key}\x00")
        return None if versions is None else names | archived | versions

    async def _manifest_references(self, container: str, obj: str) -> set[str] | None:
        """Parts named by the object's manifest: empty for a missing or plain object, None when unknown."""
        account = self.target.account
        resp = await self.client.get_object(account, container, obj)
        try:
            if resp.status == 404:
                return set()
            if resp.status != 200:
                self.stats.failures += 1
                return None
            if (s3_layout.header(resp.headers, "X-Static-Large-Object") or "").lower() not in ("true", "1", "yes"):
                return set()  # a plain object: its body is never read
            length = s3_layout.header(resp.headers, "Content-Length")
            if length is None or not length.isdigit() or int(length) > MAX_MANIFEST_BYTES:
                log.warning("manifest /%s/%s/%s too large: its key's parts are kept", account, container, obj)
                return None
            body = await resp.read()
        finally:
            await resp.close()
        names = manifest_part_names(body, self.target.container)
        if names is None:
            log.warning("manifest /%s/%s/%s does not parse: its key's parts are kept", account, container, obj)
        return names

    async def _archive_container(self) -> str | None | bool:
        """The bucket's Swift versions archive, None without one, False when the bucket cannot be read."""
        if not self._bucket_read:
            head = await self.client.head_container(self.target.account, self.target.bucket)
            if head.status // 100 != 2 and head.status != 404:
                self.stats.failures += 1
                return False
            self._archive = (s3_layout.header(head.headers, VERSIONS_LOCATION) or None) if head.status != 404 else None
            self._bucket_read = True
        return self._archive

    async def _archived_references(self, key: str) -> set[str] | None:
        """Parts named by archived versions of the key (``<len><key>/<timestamp>`` in the archive)."""
        archive = await self._archive_container()
        if archive is False:
            return None
        if not archive:
            return set()
        assert isinstance(archive, str)
        return await self._listed_references(archive, f"{len(key.encode()):03x}{key}/")

    async def _listed_references(self, container: str, prefix: str) -> set[str] | None:
        """Parts named by the manifests among ``container``'s objects under ``prefix`` (a missing
        container: none); None when unknown."""
        archive = container
        out: set[str] = set()
        marker: str | None = None
        while True:
            resp, rows = await self.client.list_container(self.target.account, archive, prefix=prefix,
                                                          marker=marker, limit=PAGE)
            if resp.status == 404:
                return out
            if resp.status // 100 != 2:
                self.stats.failures += 1
                return None
            for row in rows:
                if "name" in row:
                    names = await self._manifest_references(archive, row["name"])
                    if names is None:
                        return None
                    out |= names
            if len(rows) < PAGE:
                return out
            marker = rows[-1].get("name")

    async def _delete(self, name: str, size: int) -> None:
        async with self.sem:
            resp = await self.client.delete_object(self.target.account, self.target.container, name)
        if resp.status // 100 == 2:
            self.stats.reaped += 1
            self.stats.reaped_bytes += size
            log.info("reaped orphaned part /%s/%s/%s", self.target.account, self.target.container, name)
        elif resp.status != 404:
            self.stats.failures += 1


class SegmentReaper(ContainerDutyTask):
    """One node's reaper task; ``run_pass`` is registered as a background task."""

    STATS_NAME = STATS_NAME
    TOTALS = TOTALS

    def __init__(self, node: Node):
        super().__init__(node)
        sconf = node.conf["store"]
        self.grace = max(0.0, float(sconf.get("segment_reaper_grace", 86400.0)))
        self.concurrency = max(1, int(sconf.get("segment_reaper_concurrency", 8)))

    async def run_device(self, client: StorageClient, device: str) -> dict[str, Any]:
        path = layout.device_path(self.node.devices_root, device)
        stats = ReapStats()
        started = time.time()
        if await self._io(os.path.isdir, layout.containers_db_path(path)):
            store = await self._io(self.node.containers, device)  # opening an environment touches the disk
            for target in await self._io(segments_containers, store):
                if not await runs_container(client, device, self.address, target.account, target.container):
                    continue
                stats.containers += 1
                try:
                    await ContainerReap(client, store, self._io, target, self.grace, self.concurrency,
                                        stats).run()
                except Exception:  # one container must not stop the pass
                    log.exception("reaping /%s/%s failed", target.account, target.container)
                    stats.failures += 1
        return await self._record(path, stats, started)

