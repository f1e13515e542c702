"""The replication state of one node process: settings, rings, the object and listing replicators."""

from __future__ import annotations

import time
import weakref
from dataclasses import asdict
from typing import Any

from store.node import Node
from store.replication.db_replicator import DBReplicator
from store.replication.db_sync import ACCOUNT, CONTAINER
from store.replication.local import LocalView
from store.replication.object_replicator import ObjectReplicator
from store.replication.settings import Settings


class Replication:
    def __init__(self, node: Node):
        self.node = node
        self.settings = Settings.from_conf(node.conf["store"])
        self.view = LocalView(node.conf, node.devices_root, node.hash_suffix)
        self.objects = ObjectReplicator(node, self.view, self.settings)
        self.containers = DBReplicator(node, self.view, self.settings, CONTAINER)
        self.accounts = DBReplicator(node, self.view, self.settings, ACCOUNT)
        self.last_pass_end = 0.0

    async def run_pass(self) -> None:
        """Objects first, then container and account listings."""
        await self.objects.run_pass()
        await self.containers.run_pass()
        await self.accounts.run_pass()
        self.last_pass_end = time.time()

    def stats(self) -> dict[str, Any]:
        return {
            "passes": self.objects.passes,
            "last_pass_end": self.last_pass_end,
            "objects": {"last": asdict(self.objects.last), "totals": asdict(self.objects.totals)},
            "containers": asdict(self.containers.last),
            "accounts": asdict(self.accounts.last),
            "container_rows_sent": self.containers.rows_sent,
            "account_rows_sent": self.accounts.rows_sent,
            "container_tombstones_reclaimed": self.containers.tombstones_reclaimed,
            "account_tombstones_reclaimed": self.accounts.tombstones_reclaimed,
        }


_services: weakref.WeakKeyDictionary[Node, Replication] = weakref.WeakKeyDictionary()


def replication_for(node: Node) -> Replication:
    svc = _services.get(node)
    if svc is None:
        svc = _services[node] = Replication(node)
    return svc


async def run_replication(node: Node) -> None:
    """The background task body (``store.background``)."""
    await replication_for(node).run_pass()
