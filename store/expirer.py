"""The object expirer: deletes objects whose ``X-Delete-At`` has passed, cluster-wide.

Each node scans its devices' delete-at indexes (``store.expiring``) for entries due by now, every
``[store] expirer_interval``: objects without X-Delete-At, or expiring later, are never read. Each
due entry is checked against the object as stored (opened; still there with the same X-Delete-At?):

* it matches and this device is the object ring's first primary (so only one node does the work):
  a DELETE through the internal client to every primary (handoffs standing in for failed ones)
  with ``X-Timestamp`` and ``X-If-Delete-At`` both set to the delete-at time, as Swift's expirer
  does (a current version with a version id is first kept in its versions container:
  ``keep_version``). The nodes write tombstones at that timestamp and send container row
  deletes, so listings drop the object; a newer overwrite (or a POST that changed ``X-Delete-At``) makes the node answer
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
import logging
import time
from dataclasses import dataclass
from typing import Any

from objclient.client import StorageClient
from stackstore import versioning_names as names
from stackstore.timestamp import Timestamp
from store import layout
from store.diskfile import DiskFileError
from store.expiring import Entry, ExpiringIndex, parse_delete_at
from store.lifecycle.versioned import VersionedBucket
from store.node import Node
from store.node_task import NodeTask

log = logging.getLogger("store.expirer")
DONE = frozenset({404, 409, 412})  # already gone, overwritten, or its X-Delete-At changed
BATCH = 256  # index entries read per transaction
TOTALS = ("expired", "failures", "examined", "stale")


@dataclass
class StoredState:
    """What the expirer reads of the object an index entry points at (its local copy)."""

    delete_at: str | None  # None: no live copy (deleted, overwritten by a tombstone, quarantined)
    name: str = ""  # /account/container/object
    version_id: str = names.NULL_VERSION  # a current version's id in a versioned container
    timestamp: Timestamp | None = None  # its write's


def stored_state(node: Node, device: str, entry: Entry) -> StoredState:
    """The object an entry points at, as stored now (blocking)."""
    df = node.diskfiles.get(device, entry.partition, entry.hash_hex, entry.name, entry.policy)
    try:
        reader = df.open(now=0.0)  # now=0: an expired object still opens
    except DiskFileError:
        return StoredState(None)
    reader.close()
    name = reader.meta.get("name")
    return StoredState(reader.headers.get("X-Delete-At"), name if isinstance(name, str) else "",
                       names.stored_version_id(reader.headers), reader.timestamp)


async def keep_version(client: StorageClient, account: str, container: str, obj: str, state: StoredState,
                       policy: int) -> bool:
    """Before a current version with an id expires, keep it in its versions container (as stored, without
    its X-Delete-At): its expiry ends its being current, not its data (docs/versioning.md, "Expiry"; the
    proxy's engine.settle_expired does the same when a request reaches it first). True when kept, or when it
    is no longer that write (whoever replaced it archived it); False when the copy failed (retried)."""
    if state.version_id == names.NULL_VERSION or state.timestamp is None:
        return True
    hidden = await client.head_container(account, names.versions_container(container))
    await hidden.close()
    if hidden.status == 404:
        return True  # no versions container (a copy that kept a version id elsewhere): a plain expiry
    if hidden.status // 100 != 2:
        return False
    bucket = VersionedBucket(client.opening_expired(), account, container, policy)
    try:
        await bucket.archive_current(obj, state.timestamp, state.version_id)
    except RuntimeError as exc:
        log.info("keeping version %s of /%s/%s/%s failed: %s", state.version_id, account, container, obj, exc)
        return False
    return True


class Expirer(NodeTask):
    """One node's expirer; ``run_pass`` is registered as a background task."""

    STATS_NAME = "expirer"
    TOTALS = TOTALS

    def __init__(self, node: Node):
        super().__init__(node)
        self.concurrency = max(1, int(node.conf["store"].get("expirer_concurrency", 4)))

    def is_first_primary(self, client: StorageClient, device: str, name: str,
                         policy: int = 0) -> tuple[bool, tuple[str, str, str]]:
        account, container, obj = name[1:].split("/", 2)
        ring = client.rings.object_ring(policy)
        first = ring.primaries(ring.partition(account, container, obj))[0]
        mine = first.device == device and self.address.owns(first)
        return mine, (account, container, obj)

    async def expire(self, client: StorageClient, account: str, container: str, obj: str, delete_at: str,
                     policy: int = 0, state: StoredState | None = None) -> bool:
        if state is not None and not await keep_version(client, account, container, obj, state, policy):
            return False
        ts = Timestamp(delete_at).normal
        resp = await client.delete_object(account, container, obj,
                                          headers={"X-Timestamp": ts, "X-If-Delete-At": delete_at}, policy=policy)
        ok = 200 <= resp.status < 300 or resp.status in DONE
        if not ok:
            log.info("expiring /%s/%s/%s answered %s; retrying next pass", account, container, obj, resp.status)
        return ok

    async def run_device(self, client: StorageClient, device: str) -> dict[str, Any]:
        """Expire what is due in one device's delete-at index; records the pass's counters."""
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
        return await self._record(path, stats, started, entries=entries)

    async def _expire_due(self, client: StorageClient, device: str, index: ExpiringIndex, now: float,
                          stats: dict[str, int]) -> None:
        """Handle every entry due by ``now``, a batch at a time; stale and finished entries go."""
        sem = asyncio.Semaphore(self.concurrency)

        async def one(entry: Entry) -> bool:
            """True when the entry is done with (stale or expired)."""
            async with sem:
                try:
                    state = await self._io(stored_state, self.node, device, entry)
                    delete_at, name = state.delete_at, state.name
                    stats["examined"] += 1
                    if delete_at is None or parse_delete_at(delete_at) != entry.delete_at or not name:
                        stats["stale"] += 1
                        return True
                    mine, (a, c, o) = self.is_first_primary(client, device, name, entry.policy)
                    if not mine:
                        stats["skipped_not_first"] += 1
                        return False
                    ok = await self.expire(client, a, c, o, delete_at, entry.policy, state)
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
