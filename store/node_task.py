"""The scaffolding every node-side background task shares (expirer, reconciler, segment reaper, lifecycle
runner): the internal object client built once the rings exist, blocking disk work off the event loop, one pass
over the node's devices, and per-device pass stats kept in the device's recon file with running totals.

A task subclasses ``NodeTask``, names its recon file (``STATS_NAME``) and the counters that get running totals
(``TOTALS``), and implements ``run_device``; ``store.background`` registers ``run_pass``.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import objclient
from objclient.client import StorageClient
from objclient.rings import rings_exist
from store import layout
from store.io_threads import run_blocking
from store.node import Node
from store.node_address import NodeAddress
from store.recon import read_stats, write_stats

T = TypeVar("T")


class NodeTask:
    """One node's background task: subclasses implement ``run_device`` (and may override ``run_pass``)."""

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

    async def _io(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking (disk) work on the node's executor, never on the event loop."""
        return await run_blocking(self.node.executor, functools.partial(fn, **kwargs) if kwargs else fn, *args)

    async def run_pass(self) -> dict[str, dict[str, Any]]:
        """One pass over every device of the node (registered as a background task)."""
        client = self.client()
        if client is None:
            return {}
        devices = await self._io(layout.list_devices, self.node.devices_root)
        return {device: await self.run_device(client, device) for device in devices}

    async def run_device(self, client: StorageClient, device: str) -> dict[str, Any]:
        """One device's share of the pass; returns the stats it recorded."""
        raise NotImplementedError

    async def _record(self, path: str, stats: Any, started: float, **extra: Any) -> dict[str, Any]:
        """Write a device's pass stats (a mapping, or an object with ``as_dict()``, plus ``extra``) and the
        running totals of ``TOTALS`` to its recon file; returns what was written."""
        counters: Mapping[str, Any] = stats if isinstance(stats, Mapping) else stats.as_dict()
        previous = await self._io(read_stats, path, self.STATS_NAME) or {}
        out: dict[str, Any] = dict(counters, **extra, last_pass=time.time(),
                                   pass_duration=round(time.time() - started, 3))
        for key in self.TOTALS:
            out[f"{key}_total"] = int(previous.get(f"{key}_total", 0)) + int(counters[key])
        try:
            await self._io(write_stats, path, self.STATS_NAME, out)
        except OSError:  # the device vanished
            pass
        return out

    async def close(self) -> None:
        """Close the internal client, if one was built."""
        if self._client is not None:
            await self._client.close()
