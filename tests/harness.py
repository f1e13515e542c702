"""The one test harness for every process the tests start, all through the launcher ``stackstore up`` uses.

* :class:`Cluster`: a whole cloud (rings, storage nodes, proxy, API services) on free loopback ports;
* :class:`NodeProcess`: one storage node serving its own devices, without rings or proxy;
* :class:`ServiceProcess`: one API service (identity, volumes...) from its config section;
* :class:`NodeAuth`: an ``httpx`` auth that signs requests to storage nodes with a cluster's node key
  (nodes refuse unsigned requests, ``stackstore.node_signing``).
"""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Generator, Mapping
from pathlib import Path
from typing import Any

import httpx

from stackstore import internal_tls, node_signing
from stackstore.config import Config, load_config
from stackstore.launcher import Cloud, Service, api_service, node_service, prepare_config
from stackstore.secrets import ensure_secret


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


def make_config(data_dir: Path, **sections: Mapping[str, Any]) -> Config:
    """The default configuration (the environment ignored) with ``data_dir`` and ``sections`` applied."""
    conf = load_config(environ={})
    conf["cluster"]["data_dir"] = str(data_dir)
    for section, values in sections.items():
        conf[section].update(values)
    return conf


class NodeAuth(httpx.Auth):
    """Signs every request (``X-Backend-Signature``) with a cluster's node key, as its processes do."""

    def __init__(self, key: str | bytes):
        self.key = key.encode() if isinstance(key, str) else key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        target = request.url.raw_path.decode("latin-1")
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in request.headers.raw}
        request.headers[node_signing.SIGNATURE_HEADER] = node_signing.sign(self.key, request.method, target,
                                                                           headers)
        yield request


def _stop_services(services: list[Service]) -> None:
    for svc in services:
        if svc.running:
            os.kill(svc.proc.pid, signal.SIGCONT)  # a test may have paused it
        svc.stop()


class NodeProcess:
    """One storage node process (``store.server`` started by the launcher) serving ``devices_root``.

    ``conf`` is resolved and written by the launcher (``prepare_config``) first; the node listens on
    ``127.0.0.1:port``. Requests to it must be signed: use :attr:`auth`."""

    def __init__(self, conf: Config, devices_root: Path, port: int, name: str = "node"):
        self.conf = conf
        self.devices_root = Path(devices_root)
        self.port = port
        self.conf_path = prepare_config(conf)
        self.service = node_service(conf, name, port, self.devices_root, host="127.0.0.1")
        self.url = f"http://127.0.0.1:{port}"
        self.hostport = f"127.0.0.1:{port}"
        self.auth = NodeAuth(conf["cluster"]["node_key"])

    @property
    def proc(self):
        """The running process (``subprocess.Popen``), None before start and after stop."""
        return self.service.proc if self.service.running else None

    def start(self, timeout: float = 15.0) -> NodeProcess:
        """Start the node and wait for its health check; the log's tail in the error when it fails."""
        self.service.start()
        try:
            self.service.wait_healthy(timeout)
        except RuntimeError as exc:
            self.service.stop()
            raise RuntimeError(f"node did not start: {exc}: {self.logs()[-3000:]}") from None
        return self

    def stop(self) -> None:
        _stop_services([self.service])
        self.service.proc = None

    def logs(self) -> str:
        path = self.service.log_path
        return path.read_text(errors="replace") if path.exists() else ""


class ServiceProcess:
    """One API service process (``kind``: identity, volumes, ...) started by the launcher from ``conf``.

    Several may share a data directory: each gets its own config file and log (``name``)."""

    def __init__(self, conf: Config, kind: str, name: str | None = None):
        self.conf = conf
        self.name = name or kind
        self.config_path = prepare_config(conf, conf.data_dir / f"{self.name}.effective.toml")
        self.service = api_service(conf, kind, self.name, self.config_path)
        section = conf["proxy" if kind == "proxy" else kind]
        self.port = int(section["port"])
        self.url = f"http://{section['host']}:{self.port}"

    @property
    def proc(self):
        return self.service.proc if self.service.running else None

    def start(self, timeout: float = 60.0, env: dict[str, str] | None = None) -> ServiceProcess:
        """Start (``env``: the child's whole environment) and wait for the health check."""
        self.service.start(env)
        try:
            self.service.wait_healthy(timeout)
        except RuntimeError as exc:
            self.service.stop()
            raise RuntimeError(f"{self.name} did not start: {exc}: {self.logs()[-3000:]}") from None
        return self

    def stop(self) -> None:
        _stop_services([self.service])

    def logs(self) -> str:
        path = self.service.log_path
        return path.read_text(errors="replace") if path.exists() else ""


class Cluster:
    """One running cloud; `nodes` storage nodes (1-based names node1..nodeN) and a proxy."""

    def __init__(self, data_dir: Path, nodes: int = 4, **overrides: dict):
        base = free_port_block(nodes + 10)
        conf = make_config(data_dir, cluster={"nodes": nodes, "zones": nodes, "part_power": 8})
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

    @classmethod
    def object_store_only(cls, data_dir: Path, nodes: int = 4, **overrides: dict) -> Cluster:
        """A cloud of the object store alone (proxy and nodes: no identity, volumes, compute or images
        service), for tests that need settings of their own; not started."""
        off = {section: {"enabled": False} for section in ("identity", "volumes", "compute", "images")}
        return cls(data_dir, nodes, **{**off, **overrides})

    @property
    def node_key(self) -> bytes:
        """The cluster's node key: every request to one of its nodes must be signed with it."""
        return ensure_secret(self.conf, "node_key").encode()  # the value the launcher hands the nodes

    @property
    def node_auth(self) -> NodeAuth:
        """``httpx`` auth signing requests to this cluster's nodes."""
        return NodeAuth(self.node_key)

    def node_url(self, index: int) -> str:
        """``http://host:port`` of storage node ``index`` (1-based; ``https`` with ``[cluster] internal_tls``)."""
        return f"{internal_tls.node_scheme(self.conf)}://{self.conf['store']['host']}:{self.cloud.node_port(index)}"

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
