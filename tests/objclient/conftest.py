"""A cluster of real storage node processes (no proxy) with real rings, for the internal client tests."""

from __future__ import annotations

import dataclasses
import os
import signal
from pathlib import Path

import pytest

from objclient.client import StorageClient
from objclient.rings import Rings
from objclient.settings import ClientSettings
from stackstore.launcher import Cloud
from tests.harness import free_port_block, make_config


class NodeCluster:
    """``nodes`` storage nodes (node1..nodeN, one device each) and rings with 3 replicas."""

    def __init__(self, data_dir: Path, nodes: int = 4):
        base = free_port_block(nodes)
        conf = make_config(data_dir, cluster={"nodes": nodes, "zones": nodes, "part_power": 6, "replicas": 3},
                           store={"base_port": base, "container_update_timeout": 1.0},
                           proxy={"node_timeout": 2.0, "conn_timeout": 0.5})
        self.conf = conf
        self.cloud = Cloud(conf)
        self.cloud.prepare()
        self.suffix = conf["cluster"]["hash_path_suffix"]
        self.node_names = [f"node{i}" for i in range(1, nodes + 1)]

    def start(self) -> None:
        for name in self.node_names:
            self.cloud.services[name].start()
        self.cloud.wait_healthy(self.node_names)

    def stop(self) -> None:
        for name in self.node_names:
            svc = self.cloud.services[name]
            if svc.running:
                os.kill(svc.proc.pid, signal.SIGCONT)
        self.cloud.stop()

    def rings(self) -> Rings:
        return Rings.load(self.conf.ring_dir, self.suffix)

    def client(self, **proxy_overrides) -> StorageClient:
        """A new client (create it inside the event loop that uses it)."""
        conf = dict(self.conf["proxy"], **proxy_overrides)
        settings = dataclasses.replace(ClientSettings.from_conf({"proxy": conf}),
                                       node_key=self.conf["cluster"]["node_key"].encode())
        return StorageClient(settings, self.rings())

    def index_of(self, dev) -> int:
        """1-based node index serving ``dev``."""
        return dev.port - int(self.conf["store"]["base_port"])

    def devices_root(self, index: int) -> Path:
        return self.cloud.node_devices_root(index)

    def pid(self, index: int) -> int:
        return self.cloud.services[f"node{index}"].proc.pid

    def kill(self, index: int, sig: int = signal.SIGKILL) -> None:
        self.cloud.stop_service(f"node{index}", sig)

    def restart(self, index: int) -> None:
        if not self.cloud.services[f"node{index}"].running:
            self.cloud.start_service(f"node{index}")


@pytest.fixture(scope="session")
def nodes(tmp_path_factory):
    c = NodeCluster(tmp_path_factory.mktemp("backend"))
    try:
        c.start()
    except Exception:
        c.stop()
        raise
    yield c
    c.stop()


@pytest.fixture
def cluster_nodes(nodes):
    """The shared node cluster; every node is running again after the test."""
    yield nodes
    for i in range(1, len(nodes.node_names) + 1):
        svc = nodes.cloud.services[f"node{i}"]
        if svc.running:
            os.kill(svc.proc.pid, signal.SIGCONT)
        nodes.restart(i)
