"""Which node works on a container in the node-side tasks that act once per container for the whole
cluster (the orphaned-segment reaper, the S3 lifecycle runner): the first
container primary, in ring order, that is up and holds the container.

The primaries before this device are asked (a HEAD each); any that answers 2xx does the work instead.
So one node works on a container while the cluster is healthy, the next primary takes over while the
first is down or lost its copy, and should two briefly both work on it (a slow answer), the tasks'
actions are idempotent.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar

import objclient
from objclient import paths
from objclient.client import StorageClient
from objclient.rings import rings_exist
from store import layout
from store.node import Node
from store.node_address import NodeAddress
from store.recon import read_stats, write_stats

T = TypeVar("T")


async def runs_container(client: StorageClient, device: str, address: NodeAddress,
                         account: str, container: str) -> bool:
    """This device (of the node at ``address``) is the container's first primary that is up and holds
    it (a handoff never is)."""
    ring = client.rings.container
    part = ring.partition(account, container)
    for dev in ring.primaries(part):
        if dev.device == device and address.owns(dev):
            return True
        answer = await client.nio.call_small(dev, "HEAD", paths.cont_path(dev, part, account, container), {})
        if answer is not None and answer.status // 100 == 2:
            return False
    return False


class ContainerDutyTask:
    """The scaffolding of a node task that works once per container for the cluster (lifecycle, segment
    reaper): the internal client built once the rings exist, disk work off the loop, one pass over the
    node's devices, and per-device stats kept in the device's recon file (``STATS_NAME``, with running
    totals of the ``TOTALS`` counters). Subclasses implement ``run_device``."""

    STATS_NAME = ""
    TOTALS: tuple[str, ...] = ()

    def __init__(self, node: Node):
        self.node = node
        self.address = NodeAddress.from_store_conf(node.conf["store"])  # node_ip/port: set by the server entry
        self._client: StorageClient | None = None

    def client(self) -> StorageClient | None:
        """The internal client (rings loaded on first use); None while the rings do not exist."""
        if self._client is None:
            if not rings_exist(self.node.conf.ring_dir):
                return None
            self._client = objclient.from_config(self.node.conf)
        return self._client

    async def _io(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.node.executor, functools.partial(fn, *args))

    async def run_pass(self) -> dict[str, dict[str, Any]]:
        """One pass over every device of the node (registered as a background task)."""
        client = self.client()
        if client is None:
            return {}
        devices = await self._io(layout.list_devices, self.node.devices_root)
        return {device: await self.run_device(client, device) for device in devices}

    async def run_device(self, client: StorageClient, device: str) -> dict[str, Any]:
        raise NotImplementedError

    async def _record(self, path: str, stats: Any, started: float) -> dict[str, Any]:
        """Write a device's pass stats (``stats.as_dict()`` plus running totals) to its recon file."""
        previous = await self._io(read_stats, path, self.STATS_NAME) or {}
        out: dict[str, Any] = dict(stats.as_dict(), last_pass=time.time(),
                                   pass_duration=round(time.time() - started, 3))
        for key in self.TOTALS:
            out[f"{key}_total"] = int(previous.get(f"{key}_total", 0)) + getattr(stats, key)
        try:
            await self._io(write_stats, path, self.STATS_NAME, out)
        except OSError:  # the device vanished
            pass
        return out

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
