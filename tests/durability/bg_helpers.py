"""Helpers for the auditor/expirer/updater/full-device/status tests (no tests here)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from ring import Ring, hash_path
from stackstore.config import load_config
from tests.harness import Cluster

FAST = {"updater_interval": 1.0, "auditor_interval": 1.0, "auditor_bytes_per_second": 0,
        "auditor_files_per_second": 0, "expirer_interval": 1.0, "replicator_interval": 3600.0,
        "block_size": 65536}


def start_cluster(tmp: Path, nodes: int = 4, prepare: Callable[[Cluster], None] | None = None,
                  sections: dict[str, dict[str, Any]] | None = None, proxy: dict[str, Any] | None = None,
                  **store: Any) -> Cluster:
    """A running cluster with fast background tasks (replication off unless ``store`` says so);
    ``sections``: further config sections (``{"relinker": {...}}``); ``proxy``: proxy settings."""
    off = {"enabled": False}  # only the object store is under test
    others = {s: off for s in ("identity", "volumes", "compute", "images") if s in load_config(environ={})}
    c = Cluster(tmp, nodes=nodes, store={**FAST, **store}, proxy={"node_timeout": 3.0, **(proxy or {})}, **others,
                **(sections or {}))
    if prepare is not None:
        c.cloud.prepare()
        prepare(c)
    return c.start()


def wait_for(predicate: Callable[[], Any], timeout: float = 60.0, interval: float = 0.2) -> Any:
    """Poll until ``predicate()`` is truthy; AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


class Swift:
    """A Swift API client for the cluster's test account."""

    def __init__(self, cluster: Cluster):
        self.url, token = cluster.auth()
        self.account = self.url.rstrip("/").rsplit("/", 1)[1]
        self.http = httpx.Client(headers={"X-Auth-Token": token}, timeout=30.0)

    def path(self, container: str, obj: str | None = None) -> str:
        return f"{self.url}/{quote(container)}" + (f"/{quote(obj)}" if obj is not None else "")

    def put(self, container: str, obj: str | None = None, data: Any = b"", **headers: str) -> httpx.Response:
        return self.http.put(self.path(container, obj), content=data, headers=headers)

    def get(self, container: str, obj: str, **headers: str) -> httpx.Response:
        return self.http.get(self.path(container, obj), headers=headers)

    def names(self, container: str) -> list[str]:
        resp = self.http.get(self.path(container), params={"format": "json"})
        resp.raise_for_status()
        return [row["name"] for row in resp.json()]


class Layout:
    """Ring lookups and on-disk paths of one cluster."""

    def __init__(self, cluster: Cluster):
        self.cluster = cluster
        self.suffix = cluster.conf["cluster"]["hash_path_suffix"]
        rings = cluster.conf.ring_dir
        self.object = Ring(rings / "object.ring", self.suffix)
        self.container = Ring(rings / "container.ring", self.suffix)
        self.base_port = int(cluster.conf["store"]["base_port"])

    def node_index(self, dev: Any) -> int:
        return int(dev.port) - self.base_port

    def containers_on(self, node: int, account: str, prefix: str, count: int) -> list[str]:
        """``count`` new container names (``prefix`` + random) with a replica on node ``node``."""
        names: list[str] = []
        while len(names) < count:
            name = prefix + uuid.uuid4().hex[:10]
            _, devs = self.container.get_nodes(account, name)
            if node in {self.node_index(d) for d in devs}:
                names.append(name)
        return names

    def node_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.base_port + index}"

    def hash_dir(self, dev: Any, account: str, container: str, obj: str) -> Path:
        part = self.object.partition(account, container, obj)
        h = hash_path(self.suffix, account, container, obj).hex()
        root = self.cluster.node_devices_root(self.node_index(dev))
        return root / dev.device / "objects" / str(part) / h[-3:] / h

    def object_url(self, dev: Any, account: str, container: str, obj: str) -> str:
        part = self.object.partition(account, container, obj)
        return f"http://{dev.address}/obj/{dev.device}/{part}/{account}/{quote(container)}/{quote(obj)}"

    def container_url(self, dev: Any, account: str, container: str) -> str:
        part = self.container.partition(account, container)
        return f"http://{dev.address}/cont/{dev.device}/{part}/{account}/{quote(container)}"

    def recon(self, index: int) -> dict[str, Any]:
        resp = httpx.get(self.node_url(index) + "/recon", timeout=10.0, auth=self.cluster.node_auth)
        resp.raise_for_status()
        return resp.json()
