"""The object expirer: deletes objects whose ``X-Delete-At`` has passed, cluster-wide.

Each node walks its own objects' metadata (``[store] expirer_interval``). An expired object is
handled by the node holding it on the object ring's first primary device (so only one node does
the work): a DELETE through the internal client to every primary (handoffs standing in for failed
ones) with ``X-Timestamp`` and ``X-If-Delete-At`` both set to the delete-at time, as Swift's
expirer does. The nodes write tombstones at that timestamp and send container row deletes, so
listings drop the object; a newer overwrite (or a POST that changed ``X-Delete-At``) makes the
node answer 409/412 and survives. Expired objects already read as 404 before this runs.
Counters go to ``<device>/.recon/expirer.json``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

from stackstore.timestamp import Timestamp
from store.diskfile import DiskFileError, object_partitions, walk_hash_dirs
from store.node import Node
from store.recon import read_stats, write_stats

log = logging.getLogger("store.expirer")
DONE = frozenset({404, 409, 412})  # already gone, overwritten, or its X-Delete-At changed


def _expired_objects(node: Node, device: str, partition: int, now: float) -> list[tuple[str, str]]:
    """``(name, delete_at)`` of the expired objects of one partition on a device (blocking)."""
    out = []
    path = os.path.join(node.devices_root, device)
    for part, hash_hex in walk_hash_dirs(path, [partition]):
        df = node.diskfiles.get(device, part, hash_hex, "")
        try:
            reader = df.open(now=0.0)
        except DiskFileError:
            continue
        reader.close()
        delete_at = reader.headers.get("X-Delete-At")
        name = reader.meta.get("name")
        try:
            due = delete_at is not None and int(delete_at) <= now
        except ValueError:
            due = False
        if due and isinstance(name, str):
            out.append((name, delete_at))
    return out


class Expirer:
    """One node's expirer; ``run_pass`` is registered as a background task."""

    def __init__(self, node: Node):
        self.node = node
        sconf = node.conf["store"]
        self.concurrency = max(1, int(sconf.get("expirer_concurrency", 4)))
        self.node_port = sconf.get("node_port")  # set by the server entry point
        self._client: Any = None

    def client(self) -> Any:
        """The internal client (rings loaded on first use); None while the rings do not exist."""
        if self._client is None:
            ring_dir = self.node.conf.ring_dir
            if not all((ring_dir / f"{n}.ring").exists() for n in ("account", "container", "object")):
                return None
            from proxy.backend.client import StorageClient
            from proxy.backend.rings import Rings

            self._client = StorageClient(self.node.conf, Rings.load(ring_dir, self.node.hash_suffix))
        return self._client

    def is_first_primary(self, client: Any, device: str, name: str) -> tuple[bool, tuple[str, str, str]]:
        account, container, obj = name[1:].split("/", 2)
        ring = client.rings.object
        first = ring.primaries(ring.partition(account, container, obj))[0]
        mine = first.device == device and (self.node_port is None or int(first.port) == int(self.node_port))
        return mine, (account, container, obj)

    async def expire(self, client: Any, account: str, container: str, obj: str, delete_at: str) -> bool:
        ts = Timestamp(delete_at).normal
        resp = await client.delete_object(account, container, obj,
                                          headers={"X-Timestamp": ts, "X-If-Delete-At": delete_at})
        ok = 200 <= resp.status < 300 or resp.status in DONE
        if not ok:
            log.info("expiring /%s/%s/%s answered %s; retrying next pass", account, container, obj, resp.status)
        return ok

    async def run_pass(self) -> dict[str, dict[str, Any]]:
        client = self.client()
        if client is None:
            return {}
        root = self.node.devices_root
        try:
            devices = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
        except FileNotFoundError:
            return {}
        return {device: await self.expire_device(client, device) for device in devices}

    async def expire_device(self, client: Any, device: str) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        path = os.path.join(self.node.devices_root, device)
        stats = {"expired": 0, "failures": 0, "skipped_not_first": 0}
        sem = asyncio.Semaphore(self.concurrency)
        started = time.time()

        async def one(name: str, delete_at: str) -> None:
            mine, (a, c, o) = self.is_first_primary(client, device, name)
            if not mine:
                stats["skipped_not_first"] += 1
                return
            async with sem:
                try:
                    ok = await self.expire(client, a, c, o, delete_at)
                except Exception:  # noqa: BLE001 - one object must not stop the pass
                    log.exception("expiring %s failed", name)
                    ok = False
            stats["expired" if ok else "failures"] += 1

        for part in await loop.run_in_executor(self.node.executor, object_partitions, path):
            due = await loop.run_in_executor(self.node.executor, _expired_objects, self.node, device, part,
                                             time.time())
            await asyncio.gather(*(one(name, delete_at) for name, delete_at in due))
        previous = read_stats(path, "expirer") or {}
        out: dict[str, Any] = dict(stats, last_pass=time.time(), pass_duration=round(time.time() - started, 3),
                                   expired_total=int(previous.get("expired_total", 0)) + stats["expired"],
                                   failures_total=int(previous.get("failures_total", 0)) + stats["failures"])
        write_stats(path, "expirer", out)
        return out

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
