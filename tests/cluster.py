"""A real cloud for tests: rings, storage node processes and a proxy on free loopback ports."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import httpx

from stackstore.config import load_config
from stackstore.launcher import Cloud


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# Test servers listen below the kernel's ephemeral range (32768+), where outgoing connections would
# otherwise take a port a test server is about to bind. Each xdist worker gets its own slice.
PORT_RANGE_START, PORT_SLICE = 10000, 2500
_next_offset = int.from_bytes(os.urandom(2), "big")  # random start: parallel sessions differ


def free_port_block(count: int) -> int:
    """A base port such that base+1 .. base+count are all free right now (in this worker's slice)."""
    global _next_offset
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    start = PORT_RANGE_START + (int(worker) % 8 if worker.isdigit() else 0) * PORT_SLICE
    for _ in range(PORT_SLICE):
        base = start + _next_offset % (PORT_SLICE - count - 1)
        _next_offset += count + 1
        if all(_port_free(base + i) for i in range(1, count + 1)):
            return base
    raise RuntimeError("no free port block")


class Cluster:
    """One running cloud; `nodes` storage nodes (1-based names node1..nodeN) and a proxy."""

    def __init__(self, data_dir: Path, nodes: int = 4, **overrides: dict):
        conf = load_config(environ={})
        base = free_port_block(nodes + 10)
        conf["cluster"].update(data_dir=str(data_dir), nodes=nodes, zones=nodes, part_power=8)
        conf["store"].update(base_port=base)
        conf["proxy"].update(port=base + nodes + 1, tls_port=base + nodes + 2)
        for offset, section in enumerate(("identity", "volumes", "compute", "images"), start=nodes + 3):
            conf[section].update(port=base + offset)
        # the volumes service's iSCSI portal and tgtd control channel (1..32767, a socket name, not a TCP
        # port): parallel test clouds must not share them
        conf["volumes"].update(iscsi_port=base + nodes + 9, tgt_control_port=1 + (base + nodes + 10) % 32767)
        for section, values in overrides.items():
            conf[section].update(values)
        self.conf = conf
        self.cloud = Cloud(conf)
        self.data_dir = Path(data_dir)

    def start(self) -> Cluster:
        """Start every service; a cloud that does not come up is stopped before the error propagates."""
        try:
            self.cloud.start()
        except BaseException:
            self.cloud.stop()
            raise
        return self

    def stop(self) -> None:
        self.cloud.stop()

    @property
    def proxy_url(self) -> str:
        return self.cloud.proxy_url

    @property
    def tls_url(self) -> str:
        return f"https://127.0.0.1:{self.conf['proxy']['tls_port']}"

    @property
    def tls_cafile(self) -> str:
        """The proxy's self-signed certificate (generated at start), to verify HTTPS against."""
        return str(self.data_dir / "tls" / "proxy-cert.pem")

    @property
    def node_names(self) -> list[str]:
        return [n for n in self.cloud.services if n.startswith("node")]

    @property
    def node_pids(self) -> dict[str, int]:
        return {n: self.cloud.services[n].proc.pid for n in self.node_names if self.cloud.services[n].running}

    def node_devices_root(self, index: int) -> Path:
        return self.cloud.node_devices_root(index)

    def stop_node(self, index: int, sig: int = signal.SIGTERM) -> None:
        self.cloud.stop_service(f"node{index}", sig)

    def start_node(self, index: int) -> None:
        self.cloud.start_service(f"node{index}")

    def auth(self, user: str = "test:tester", key: str = "testing") -> tuple[str, str]:
        """TempAuth v1.0 login: (storage_url, token)."""
        resp = httpx.get(f"{self.proxy_url}/auth/v1.0", headers={"X-Auth-User": user, "X-Auth-Key": key})
        resp.raise_for_status()
        return resp.headers["X-Storage-Url"], resp.headers["X-Auth-Token"]
