"""Replication settings from the ``[store]`` section."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WEEK = 7 * 24 * 3600.0


@dataclass(frozen=True)
class Settings:
    interval: float = 30.0  # seconds between passes
    concurrency: int = 4  # partitions replicated at once
    reclaim_age: float = WEEK  # tombstones older than this are removed
    max_bytes_per_sec: float = 0.0  # object bytes pushed per second (0: unlimited)
    node_timeout: float = 10.0  # per request to a peer
    sync_batch: int = 1000  # listing rows per push request

    @classmethod
    def from_conf(cls, sconf: dict[str, Any]) -> Settings:
        return cls(
            interval=float(sconf.get("replicator_interval", cls.interval)),
            concurrency=max(1, int(sconf.get("replicator_concurrency", cls.concurrency))),
            reclaim_age=float(sconf.get("reclaim_age", cls.reclaim_age)),
            max_bytes_per_sec=float(sconf.get("replicator_max_bytes_per_sec", cls.max_bytes_per_sec)),
            node_timeout=float(sconf.get("replicator_node_timeout", cls.node_timeout)),
            sync_batch=max(1, int(sconf.get("replicator_sync_batch", cls.sync_batch))),
        )
