"""The node's container sync daemon (Swift's ``container-sync``): every ``[container_sync] interval`` seconds,
send the object rows of each sync-enabled container this node is responsible for to the container its
``X-Container-Sync-To`` names (in this cluster or another of the realm).

Which containers: each device scans its container records for live containers with both
``X-Container-Sync-To`` and ``X-Container-Sync-Key`` and works on those it holds as first container primary
that is up (``store.container_duty``), so one node sends each container's rows while the cluster is healthy.

What is sent: the rows changed since the container's *sync point* (the change sequence of this replica of
the record, ``store.listing_changes``), in change order. A deleted row is a signed ``DELETE`` with the
tombstone's timestamp (404/409 from the remote count as done); a live row is first asked of the remote (a
signed ``HEAD``: a copy as new or newer is left alone), then read from this cluster and streamed to the
remote (a signed ``PUT`` with the object's metadata and its own ``X-Timestamp``, so the newest write wins on
both sides; the body never buffered). Large objects are synced as Swift does: the manifest (a DLO's
``X-Object-Manifest`` header, an SLO's manifest with ``X-Static-Large-Object``), segments being the user's to
sync. Requests are signed with the realm's key and the container's sync key (``X-Container-Sync-Auth``,
``stackstore.container_sync_realms``) or, for a full-URL target, carry the sync key itself.

Progress: the sync point goes to ``<device>/container_sync/<container key>.json`` with the replica's id and
the target, after every batch whose rows all went through (a container is worked on for at most
``container_time`` seconds a pass, as Swift's), so a restart resumes where the last pass stopped
and a failed row (and those after it) is retried next pass. A new target, or a rebuilt replica, starts again
from the first row (the remote's HEAD answers make that cheap); the point of a container no longer synced is
removed. Stats go to ``<device>/.recon/container_sync.json``
(``containers``, ``puts``, ``deletes``, ``bytes``, ``skipped``, ``failures`` and running totals).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import ssl
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote, unquote, urlparse

import httpx

from objclient.client import StorageClient
from stackstore.container_sync_realms import SECTION, SyncRealms, SyncTarget, signature, target_of
from stackstore.timestamp import Timestamp
from store import layout
from store.container_duty import ContainerDutyTask, runs_container
from store.fsutil import make_dir_once
from store.listings import F_DELETED, F_LONG_NAME, OBJ_ROW, ContainerStore, container_key, live_meta
from store.node import Node

log = logging.getLogger("store.container_sync")
STATS_NAME = "container_sync"
TOTALS = ("puts", "posts", "deletes", "bytes", "skipped", "failures")
SYNC_DIR = "container_sync"
BATCH = 200
AS_STORED = {"multipart-manifest": "get", "symlink": "get"}  # a HEAD of the object as stored (not its target)
ANSWER_BODY_LIMIT = 65536  # bytes of a remote's answer body read (and dropped) to keep its connection
# object headers a synced copy keeps (what the proxy stores for a client), besides user metadata
KEPT_HEADERS = ("content-type", "content-encoding", "content-disposition", "content-language", "cache-control",
                "expires", "x-delete-at", "x-object-manifest", "x-static-large-object", "x-robots-tag", "etag")
SLO_SYSMETA = ("x-object-sysmeta-slo-etag", "x-object-sysmeta-slo-size")
SYMLINK_HEADERS = {"x-object-sysmeta-symlink-target": "X-Symlink-Target",
                   "x-object-sysmeta-symlink-target-account": "X-Symlink-Target-Account",
                   "x-object-sysmeta-symlink-target-etag": "X-Symlink-Target-Etag"}


@dataclass
class SyncStats:
    containers: int = 0
    puts: int = 0
    posts: int = 0
    deletes: int = 0
    bytes: int = 0
    skipped: int = 0
    failures: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class SyncedContainer:
    """A live container of this device with a sync target and key."""

    account: str
    container: str
    sync_to: str
    sync_key: str


@dataclass(frozen=True)
class Row:
    seq: int
    name: str
    ticks: int
    size: int
    deleted: bool

    @property
    def timestamp(self) -> Timestamp:
        return Timestamp(f"{self.ticks // 100000}.{self.ticks % 100000:05d}")


def synced_containers(store: ContainerStore) -> list[SyncedContainer]:
    """Every live container of a device with ``X-Container-Sync-To`` and ``-Key`` (blocking)."""
    out = []
    for rec in store.live_containers():
        meta = rec.get("meta") or {}
        if not (meta.get("x-container-sync-to") or [""])[0] or not (meta.get("x-container-sync-key") or [""])[0]:
            continue
        live = live_meta(meta)
        if live.get("x-container-sync-to"):
            out.append(SyncedContainer(rec["account"], rec["container"], live["x-container-sync-to"],
                                       live.get("x-container-sync-key", "")))
    return out


def changed_rows(store: ContainerStore, account: str, container: str, since: int,
                 limit: int) -> tuple[bytes, list[Row]]:
    """(this replica's id, up to ``limit`` rows changed after ``since`` in change order), blocking."""
    ckey = container_key(account, container)
    store.changes.ensure(store.env, [ckey])
    rows: list[Row] = []
    with store.env.begin() as txn:
        state = store.changes.peek(txn, ckey)
        uid = state.uid if state is not None else b""
        for seq, nkey in store.changes.changed_since(txn, ckey, since):
            value = txn.get(ckey + nkey, db=store.rows_db)
            if value is None:
                continue
            ticks, size, flags, elen, clen = OBJ_ROW.unpack_from(value)
            raw_name = value[OBJ_ROW.size + elen + clen:] if flags & F_LONG_NAME else nkey
            rows.append(Row(seq, raw_name.decode("utf-8", "surrogateescape"), ticks, size,
                            bool(flags & F_DELETED)))
            if len(rows) >= limit:
                break
    return uid, rows


def _point_path(device_path: str, account: str, container: str) -> str:
    return os.path.join(device_path, SYNC_DIR, container_key(account, container).hex() + ".json")


def read_point(device_path: str, account: str, container: str) -> dict[str, Any]:
    """The container's stored sync point (``{"uid", "to", "point"}``; {} when none)."""
    try:
        with open(_point_path(device_path, account, container)) as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_point(device_path: str, account: str, container: str, data: dict[str, Any]) -> None:
    """Atomically replace the container's sync point."""
    path = _point_path(device_path, account, container)
    make_dir_once(os.path.dirname(path))
    tmp = f"{path}.{uuid.uuid4().hex[:8]}.tmp"
    with open(tmp, "w") as fh:
        json.dump(data, fh)
    os.replace(tmp, path)


def forget_points(device_path: str, keep: set[str]) -> int:
    """Remove the sync points of containers no longer synced from this device (deleted, or sync turned off):
    every point file whose container key is not in ``keep``; returns how many (blocking)."""
    directory = os.path.join(device_path, SYNC_DIR)
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return 0
    removed = 0
    for name in names:
        if name.endswith(".json") and name[:-5] not in keep:
            try:
                os.unlink(os.path.join(directory, name))
                removed += 1
            except FileNotFoundError:
                pass
    return removed


class RemoteContainer:
    """The sync target: signed requests to ``<url>/<object>``."""

    def __init__(self, http: httpx.AsyncClient, target: SyncTarget, sync_key: str):
        self.http, self.target, self.sync_key = http, target, sync_key
        parsed = urlparse(target.url)
        self.origin = f"{parsed.scheme}://{parsed.netloc}"
        self.base = unquote(parsed.path).rstrip("/")

    def _signed(self, method: str, name: str, timestamp: str, headers: dict[str, str]) -> str:
        path = quote(f"{self.base}/{name}", safe="/")
        headers["X-Timestamp"] = timestamp
        if self.target.realm is not None and self.target.realm_key is not None:
            nonce = uuid.uuid4().hex
            sig = signature(method, path, timestamp, nonce, self.target.realm_key, self.sync_key)
            headers["X-Container-Sync-Auth"] = f"{self.target.realm} {nonce} {sig}"
        else:
            headers["X-Container-Sync-Key"] = self.sync_key
        return self.origin + path

    async def _send(self, method: str, url: str, headers: dict[str, str], body: AsyncIterator[bytes] | None = None,
                    params: Mapping[str, str] | None = None) -> tuple[int, httpx.Headers]:
        """Status and headers of one request. The answer's body is read (and dropped) up to
        ``ANSWER_BODY_LIMIT`` bytes so the connection can serve the next request; a longer one is left
        unread and its connection closed, so no answer, whatever its size, is held in memory."""
        async with self.http.stream(method, url, headers=headers, content=body, params=params) as resp:
            seen = 0
            async for chunk in resp.aiter_raw():
                seen += len(chunk)
                if seen > ANSWER_BODY_LIMIT:
                    break
            return resp.status_code, resp.headers

    async def newest(self, name: str) -> tuple[Timestamp | None, Mapping[str, str]]:
        """The remote copy's timestamp (None: none there) and its headers: of the stored object itself, a
        manifest or a link as such (never its segments or target, which the sync may not reach)."""
        headers: dict[str, str] = {}
        url = self._signed("HEAD", name, Timestamp.now().normal, headers)
        status, answer = await self._send("HEAD", url, headers, params=AS_STORED)
        if status == 404:
            return None, {}
        if status // 100 != 2:
            raise RemoteError(f"HEAD {status}")
        try:
            return Timestamp(answer.get("x-timestamp", "0")), answer
        except ValueError:
            return None, answer

    async def post(self, name: str, timestamp: Timestamp, object_headers: dict[str, str]) -> None:
        """Replace the remote copy's metadata (its data kept): the sync of a source's metadata-only POST."""
        headers = dict(object_headers)
        url = self._signed("POST", name, timestamp.normal, headers)
        status, _ = await self._send("POST", url, headers)
        if status // 100 != 2 and status != 409:  # 409: the remote holds newer metadata
            raise RemoteError(f"POST {status}")

    async def delete(self, name: str, timestamp: Timestamp) -> None:
        headers: dict[str, str] = {}
        url = self._signed("DELETE", name, timestamp.normal, headers)
        status, _ = await self._send("DELETE", url, headers)
        if status // 100 != 2 and status not in (404, 409):
            raise RemoteError(f"DELETE {status}")

    async def put(self, name: str, timestamp: Timestamp, object_headers: dict[str, str],
                  body: AsyncIterator[bytes]) -> None:
        """Stream ``body`` (the local object's chunks, never joined) to the remote copy."""
        headers = dict(object_headers)
        url = self._signed("PUT", name, timestamp.normal, headers)
        status, _ = await self._send("PUT", url, headers, body)
        if status // 100 != 2 and status != 409:  # 409: the remote holds a newer write
            raise RemoteError(f"PUT {status}")


class RemoteError(Exception):
    """The remote refused or failed a sync request."""


class SyncSettingError(Exception):
    """A ``[container_sync]`` setting this node cannot use (a CA file it cannot read)."""


def tls_context(section: Mapping[str, Any]) -> ssl.SSLContext:
    """How https sync targets are verified: their certificate chain and host name, against the CA bundle of
    ``[container_sync] ca_file`` when set, else the system's trust store. Verification is never switched off
    (blocking: reads the bundle); ``SyncSettingError`` when the file cannot be used."""
    ca_file = str(section.get("ca_file") or "")
    try:
        return ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file or None)
    except (OSError, ssl.SSLError) as exc:
        raise SyncSettingError(f"[{SECTION}] ca_file {ca_file!r} is not a usable CA bundle: {exc}") from exc


def synced_headers(stored: Mapping[str, str]) -> dict[str, str]:
    """The headers of a stored object that its synced copy is written with."""
    out: dict[str, str] = {}
    for name, value in stored.items():
        low = name.lower()
        if low in KEPT_HEADERS or low.startswith("x-object-meta-") or low in SLO_SYSMETA:
            out[name] = value
    lowered = {name.lower(): value for name, value in stored.items()}
    for sysmeta, header in SYMLINK_HEADERS.items():  # a link stays a link (Swift's ``symlink=get`` read)
        if lowered.get(sysmeta):
            out[header] = lowered[sysmeta]
    if "content-length" in lowered:
        out["Content-Length"] = lowered["content-length"]
    return out


def newest_timestamp(stored: Mapping[str, str]) -> Timestamp:
    """When a stored object last changed: its data's ``X-Timestamp`` or, after a POST, the metadata's
    (the node's ``X-Backend-Timestamp``), the time its synced copy is written with (as Swift's row
    ``ts_meta``), so a POST on either side wins over an older write."""
    lowered = {name.lower(): value for name, value in stored.items()}
    stamps = []
    for name in ("x-timestamp", "x-backend-timestamp"):
        try:
            stamps.append(Timestamp(lowered.get(name) or "0"))
        except ValueError:
            continue
    return max(stamps, default=Timestamp("0"))


COMPARED_HEADERS = ("content-type", "content-encoding", "content-disposition", "content-language",
                    "cache-control", "expires", "x-delete-at", "x-object-manifest", "x-static-large-object",
                    "x-robots-tag", "x-symlink-target", "x-symlink-target-account")


def remote_holds(remote: Mapping[str, str], synced: Mapping[str, str]) -> bool:
    """The remote copy already is what would be sent (same ETag, type, metadata): a copy written by this
    sync (with the source's newest time) of an object whose remote ``X-Timestamp`` shows only its data
    time, so two containers syncing both ways do not send a POSTed object back and forth."""
    mine = {name.lower(): value for name, value in synced.items()}
    theirs = {name.lower(): value for name, value in remote.items()}
    if not mine.get("etag") or mine["etag"].strip('"') != (theirs.get("etag") or "").strip('"'):
        return False
    for name in set(mine) | set(theirs):
        if name.startswith("x-object-meta-") or name in COMPARED_HEADERS:
            if mine.get(name) != theirs.get(name):
                return False
    return True


# what a metadata POST sends (and replaces) on the remote copy, besides user metadata
POSTED_HEADERS = ("content-type", "content-encoding", "content-disposition", "content-language", "cache-control",
                  "expires", "x-delete-at", "x-robots-tag")
# a copy with these is a manifest or a link: always sent whole (a POST would not carry them)
NOT_POSTED = ("x-object-manifest", "x-static-large-object", "x-symlink-target", "x-symlink-target-account",
              "x-symlink-target-etag", *SLO_SYSMETA)


def metadata_post(remote: Mapping[str, str], local: Mapping[str, str],
                  synced: Mapping[str, str]) -> dict[str, str] | None:
    """The headers of a metadata-only POST that brings the remote copy up to date, when the remote holds the
    same data as this one (the same ETag and data ``X-Timestamp``) of a plain object (not a manifest or a
    link); None when the object must be sent whole."""
    theirs = {name.lower(): value for name, value in remote.items()}
    mine = {name.lower(): value for name, value in synced.items()}
    data_time = {name.lower(): value for name, value in local.items()}.get("x-timestamp")
    if any(name in mine for name in NOT_POSTED) or not data_time or not mine.get("etag"):
        return None
    if mine["etag"].strip('"') != (theirs.get("etag") or "").strip('"'):
        return None
    try:
        if Timestamp(theirs.get("x-timestamp") or "0") != Timestamp(data_time):
            return None
    except ValueError:
        return None
    return {name: value for name, value in synced.items()
            if name.lower().startswith("x-object-meta-") or name.lower() in POSTED_HEADERS}


class ContainerSyncer:
    """One pass over one container: its rows since the sync point, sent to the remote."""

    def __init__(self, task: ContainerSyncTask, client: StorageClient, http: httpx.AsyncClient, store: ContainerStore,
                 device_path: str, container: SyncedContainer, target: SyncTarget, stats: SyncStats):
        self.task, self.client, self.store, self.device_path = task, client, store, device_path
        self.container, self.stats = container, stats
        self.remote = RemoteContainer(http, target, container.sync_key)

    async def run(self) -> None:
        c = self.container
        saved = await self.task._io(read_point, self.device_path, c.account, c.container)
        point = int(saved.get("point", 0))
        uid, _ = await self.task._io(changed_rows, self.store, c.account, c.container, 0, 1)
        if saved.get("uid") != uid.hex() or saved.get("to") != c.sync_to:
            point = 0  # a new target or a rebuilt replica: every row again
        deadline = time.monotonic() + self.task.container_time
        while time.monotonic() < deadline:  # then the next container; this one resumes next pass
            uid, rows = await self.task._io(changed_rows, self.store, c.account, c.container, point, BATCH)
            if not rows:
                break
            done = await self._send_batch(rows)
            reached = point
            for row, ok in zip(rows, done, strict=True):
                if not ok:
                    break
                reached = row.seq
            if reached != point or saved.get("uid") != uid.hex() or saved.get("to") != c.sync_to:
                point = reached
                saved = {"uid": uid.hex(), "to": c.sync_to, "point": point, "updated": time.time()}
                await self.task._io(write_point, self.device_path, c.account, c.container, saved)
            if not all(done):
                break  # the failed row (and those after it) next pass

    async def _send_batch(self, rows: list[Row]) -> list[bool]:
        limit = asyncio.Semaphore(self.task.concurrency)
        failed: list[tuple[Row, Exception]] = []

        async def one(row: Row) -> bool:
            async with limit:
                try:
                    await self._send(row)
                    return True
                except Exception as exc:  # one row must not stop the others; retried next pass
                    failed.append((row, exc))
                    self.stats.failures += 1
                    return False

        done = list(await asyncio.gather(*(one(row) for row in rows)))
        if failed:  # one line per batch (an unreachable or untrusted remote fails every row alike)
            c, (row, exc) = self.container, failed[0]
            log.warning("container sync of /%s/%s to %s: %d of %d rows failed (retried next pass); first "
                        "/%s/%s/%s: %s: %s", c.account, c.container, self.remote.origin, len(failed), len(rows),
                        c.account, c.container, row.name, type(exc).__name__, exc)
        return done

    async def _send(self, row: Row) -> None:
        if row.deleted:
            await self.remote.delete(row.name, row.timestamp)
            self.stats.deletes += 1
            return
        remote, remote_headers = await self.remote.newest(row.name)
        if remote is not None and remote >= row.timestamp:
            self.stats.skipped += 1
            return
        c = self.container
        local = await self.client.get_object(c.account, c.container, row.name)
        if local.status == 404:
            await local.close()
            self.stats.skipped += 1  # deleted since: its tombstone row comes later
            return
        if 400 <= local.status < 500:  # not readable here (an SSE-C object: only its customer has the key)
            await local.close()
            log.warning("container sync skips /%s/%s/%s: local GET %d", c.account, c.container, row.name,
                        local.status)
            self.stats.skipped += 1
            return
        if local.status // 100 != 2:
            await local.close()
            raise RemoteError(f"local GET {local.status}")
        try:
            stamp = newest_timestamp(local.headers)
            if stamp < row.timestamp:  # a replica that missed the write or POST: read it again next pass
                raise RemoteError(f"local copy {stamp.normal} older than its row {row.timestamp.normal}")
            headers = synced_headers(local.headers)
            if remote is not None and (remote >= stamp or remote_holds(remote_headers, headers)):
                self.stats.skipped += 1
                return
            posted = metadata_post(remote_headers, local.headers, headers) if remote is not None else None
            if posted is not None:  # the remote has this data: only the metadata moves (Swift sends it all)
                await self.remote.post(row.name, stamp, posted)
                self.stats.posts += 1
                return
            await self.remote.put(row.name, stamp, headers, local.body)
        finally:
            await local.close()
        self.stats.puts += 1
        self.stats.bytes += row.size


class ContainerSyncTask(ContainerDutyTask):
    """One node's container sync daemon; ``run_pass`` is registered as a background task."""

    STATS_NAME = STATS_NAME
    TOTALS = TOTALS

    def __init__(self, node: Node):
        super().__init__(node)
        section = node.conf.get(SECTION, {})
        self.concurrency = max(1, int(section.get("concurrency", 4)))
        self.timeout = float(section.get("request_timeout", 60.0))
        self.container_time = float(section.get("container_time", 60.0))
        self.realms = SyncRealms.from_conf(node.conf)

    def client(self) -> StorageClient | None:
        """The internal client; with the cluster's encryption keys on this host, one that decrypts (a
        synced copy is the object's data, encrypted again by the remote as it chooses)."""
        if self._client is None:
            from objclient.rings import rings_exist

            if not rings_exist(self.node.conf.ring_dir):
                return None
            from stackstore.secrets import encryption_key_path

            if encryption_key_path(self.node.conf).exists():
                from objclient.crypto.client import encrypting_client  # the decrypting reader of the proxy

                self._client = encrypting_client(self.node.conf)
            else:
                return super().client()
        return self._client

    async def run_device(self, client: StorageClient, device: str) -> dict[str, Any]:
        path = layout.device_path(self.node.devices_root, device)
        stats = SyncStats()
        started = time.time()
        if await self._io(os.path.isdir, layout.containers_db_path(path)):
            store = await self._io(self.node.containers, device)
            containers = await self._io(synced_containers, store)
            keep = {container_key(c.account, c.container).hex() for c in containers}
            await self._io(forget_points, path, keep)
            if containers:
                try:
                    tls = await self._io(tls_context, self.node.conf.get(SECTION, {}))
                except SyncSettingError as exc:  # nothing is sent unverified; the next pass tries again
                    log.error("container sync of device %s skipped: %s", device, exc)
                    stats.failures += 1
                    return await self._record(path, stats, started)
                async with httpx.AsyncClient(timeout=self.timeout, verify=tls) as http:
                    for container in containers:
                        await self._sync_one(client, http, store, path, device, container, stats)
        return await self._record(path, stats, started)

    async def _sync_one(self, client: StorageClient, http: httpx.AsyncClient, store: ContainerStore, path: str,
                        device: str, container: SyncedContainer, stats: SyncStats) -> None:
        target = target_of(container.sync_to, self.node.conf, self.realms)
        if not isinstance(target, SyncTarget):
            return  # a realm or cluster no longer configured here: nothing to send to
        if not await runs_container(client, device, self.address, container.account, container.container):
            return
        stats.containers += 1
        try:
            await ContainerSyncer(self, client, http, store, path, container, target, stats).run()
        except Exception:  # one container must not stop the pass
            log.exception("container sync of /%s/%s failed", container.account, container.container)
            stats.failures += 1

