"""The object expirer: deletes objects whose ``X-Delete-At`` has passed, cluster-wide.

Each node scans its devices' delete-at indexes (``store.expiring``) for entries due by now, every
``[store] expirer_interval``: objects without X-Delete-At, or expiring later, are never read. Each
due entry is checked against the object as stored (opened; still there with the same X-Delete-At?):

* it matches and this device is the object ring's first primary (so only one node does the work):
  a DELETE through the internal client to every primary (handoffs standing in for failed ones)
  with ``X-Timestamp`` and ``X-If-Delete-At`` both set to the delete-at time, as Swift's expirer
  does. The nodes write tombstones at that timestamp and send container row deletes, so listings
  drop the object; a newer overwrite (or a POST that changed ``X-Delete-At``) makes the node answer
  409/412 and survives. Done (or 404/409/412): the entry goes; another answer: retried next pass.
* it matches but another device is the first primary: the entry stays, until that node's DELETE
  has tombstoned this copy (or replication moved the partition away) and the entry is stale.
* it does not match (overwritten, deleted, X-Delete-At changed by a POST, partition no longer
  here, quarantined): the entry is stale and removed. A device that receives the object later
  (rebalance, handoff revert, replication) indexes it on receipt.

Expired objects already read as 404 before this runs. Counters go to
``<device>/.recon/expirer.json``: ``due`` entries seen, ``examined`` objects opened, ``expired``,
``stale`` entries removed, ``skipped_not_first``, ``failures``, ``entries`` left in the index,
plus running totals.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import objclient
from objclient.client import StorageClient
from objclient.rings import rings_exist
from stackstore.timestamp import Timestamp
from store import layout
from store.diskfile import DiskFileError
from store.expiring import Entry, ExpiringIndex, parse_delete_at
from store.node import Node
from store.node_address import NodeAddress
from store.recon import read_stats, write_stats

T = TypeVar("T")
log = logging.getLogger("store.expirer")
DONE = frozenset({404, 409, 412})  # already gone, overwritten, or its X-Delete-At changed
BATCH = 256  # index entries read per transaction
TOTALS = ("expired", "failures", "examined", "stale")


def stored_delete_at(node: Node, device: str, entry: Entry) -> tuple[str | None, str]:
    """The X-Delete-At and name of the object an entry points at, as stored now (blocking);
    ``(None, "")`` when there is no live copy (deleted, overwritten by a tombstone, quarantined)."""
    df = node.diskfiles.get(device, entry.partition, entry.hash_hex, entry.name, entry.policy)
    try:
        reader = df.open(now=0.0)  # now=0: an expired object still opens
    except DiskFileError:
        return None, ""
    reader.close()
    name = reader.meta.get("name")
    return reader.headers.get("X-Delete-At"), name if isinstance(name, str) else ""


class Expirer:
    """One node's expirer; ``run_pass`` is registered as a background task."""

    def __init__(self, node: Node):
        self.node = node
        sconf = node.conf["store"]
        self.concurrency = max(1, int(sconf.get("expirer_concurrency", 4)))
        self.address = NodeAddress.from_store_conf(sconf)  # node_ip/node_port: set by store.server
        self._client: StorageClient | None = None

    def client(self) -> StorageClient | None:
        """The internal client (rings loaded on first use); None while the rings do not exist."""
        if self._client is None:
            if not rings_exist(self.node.conf.ring_dir):
                return None
            self._client = objclient.from_config(self.node.conf)
        return self._client

    def is_first_primary(self, client: StorageClient, device: str, name: str,
                         policy: int = 0) -> tuple[bool, tuple[str, str, str]]:
        account, container, obj = name[1:].split("/", 2)
        ring = client.rings.object_ring(policy)
        first = ring.primaries(ring.partition(account, container, obj))[0]
        mine = first.device == device and self.address.owns(first)
        return mine, (account, container, obj)

    async def expire(self, client: StorageClient, account: str, container: str, obj: str, delete_at: str,
                     policy: int = 0) -> bool:
        ts = Timestamp(delete_at).normal
        resp = await client.delete_object(account, container, obj,
                                          headers={"X-Timestamp": ts, "X-If-Delete-At": delete_at}, policy=policy)
        ok = 200 <= resp.status < 300 or resp.status in DONE
        if not ok:
            log.info("expiring /%s/%s/%s answered %s; retrying next pass", account, container, obj, resp.status)
        return ok

    async def _io(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.node.executor, functools.partial(fn, *args))

    async def run_pass(self) -> dict[str, dict[str, Any]]:
        client = self.client()
        if client is None:
            return {}
        devices = await self._io(layout.list_devices, self.node.devices_root)
        return {device: await self.expire_device(client, device) for device in devices}

    async def expire_device(self, client: StorageClient, device: str) -> dict[str, Any]:
        path = layout.device_path(self.node.devices_root, device)
        stats = {"due": 0, "examined": 0, "expired": 0, "stale": 0, "skipped_not_first": 0, "failures": 0}
        started = time.time()
        try:
            index: ExpiringIndex | None = await self._io(self.node.expiring, device, False)
        except OSError:  # the device vanished
            return stats
        entries = 0
        if index is not None:
            await self._expire_due(client, device, index, started, stats)
            entries = await self._io(index.count)
        previous = await self._io(read_stats, path, "expirer") or {}
        out: dict[str, Any] = dict(stats, entries=entries, last_pass=time.time(),
                                   pass_duration=round(time.time() - started, 3))
        for key in TOTALS:
            out[f"{key}_total"] = int(previous.get(f"{key}_total", 0)) + stats[key]
        try:
            await self._io(write_stats, path, "expirer", out)
        except OSError:
            pass
        return out

    async def _expire_due(self, client: StorageClient, device: str, index: ExpiringIndex, now: float,
                          stats: dict[str, int]) -> None:
        """Handle every entry due by ``now``, a batch at a time; stale and finished entries go."""
        sem = asyncio.Semaphore(self.concurrency)

        async def one(entry: Entry) -> bool:
            """True when the entry is done with (stale or expired)."""
            async with sem:
                try:
                    delete_at, name = await self._io(stored_delete_at, self.node, device, entry)
                    stats["examined"] += 1
                    if delete_at is None or parse_delete_at(delete_at) != entry.delete_at or not name:
                        stats["stale"] += 1
                        return True
                    mine, (a, c, o) = self.is_first_primary(client, device, name, entry.policy)
                    if not mine:
                        stats["skipped_not_first"] += 1
                        return False
                    ok = await self.expire(client, a, c, o, delete_at, entry.policy)
                except Exception:  # one object must not stop the pass
                    log.exception("expiring %s failed", entry.name)
                    ok = False
                stats["expired" if ok else "failures"] += 1
                return ok

        after = None
        while batch := await self._io(index.due, now, after, BATCH):
            stats["due"] += len(batch)
            after = batch[-1].key
            done = await asyncio.gather(*(one(entry) for entry in batch))
            finished = [entry.key for entry, ok in zip(batch, done, strict=True) if ok]
            if finished:
                await self._io(index.remove, finished)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
