"""Run a whole cloud on one machine: prepare data dirs and rings, start every service, stop them cleanly.

Used by `stackstore up` and by the test suite's harness (tests/harness.py), so both run the same thing.
A single storage node or API service is defined from a Config the same way (``node_service``,
``api_service`` after ``prepare_config``): the tests that need one process start exactly what
``stackstore up`` would.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from stackstore import internal_tls
from stackstore.config import Config, ensure_hash_path_suffix
from stackstore.container_sync_realms import ensure_realm_keys
from stackstore.secrets import (
    CONFIG_KEYS,
    ensure_encryption_keys,
    ensure_secret,
    make_private_dir,
    open_private_log,
    write_private,
)
from stackstore.storage_policies import policies_from_conf

# service name -> (package run as `python -m <package>`, config section): the API services started after
# the proxy when they exist
OPTIONAL_SERVICES = {"identity": ("identity", "identity"), "volumes": ("volumes", "volumes"),
                     "compute": ("compute_shim", "compute"), "images": ("images", "images")}


def die_with_parent() -> None:
    """In the child: get SIGTERM when the launcher dies, even by SIGKILL, so no service is orphaned."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


@dataclass
class Service:
    """One child process of the cloud and the URL that answers 200 once it is ready."""

    name: str
    argv: list[str]
    health_url: str
    log_path: Path
    proc: subprocess.Popen | None = None
    health_tls: ssl.SSLContext | None = None  # verifies an https health URL (a node with internal TLS)

    def start(self, env: dict[str, str] | None = None) -> None:
        log = open_private_log(self.log_path)
        try:
            self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT, env=env,
                                         start_new_session=True, preexec_fn=die_with_parent)
        finally:
            os.close(log)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        if not self.running:
            return
        assert self.proc is not None
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.health_url, timeout=1, context=self.health_tls) as resp:
                status: int = resp.status
                return status == 200
        except (urllib.error.URLError, OSError):
            return False

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """Block until the health check answers 200; RuntimeError when the process exits or time runs out."""
        wait_healthy([self], timeout)


def wait_healthy(services: list[Service], timeout: float = 30.0) -> None:
    """Block until every service answers its health check (RuntimeError naming its log otherwise)."""
    deadline = time.monotonic() + timeout
    pending = list(services)
    while pending:
        pending = [svc for svc in pending if not svc.healthy()]
        for svc in pending:
            if not svc.running:
                raise RuntimeError(f"{svc.name} exited; see {svc.log_path}")
        if pending and time.monotonic() > deadline:
            raise RuntimeError(f"not healthy after {timeout}s: {[svc.name for svc in pending]}")
        if pending:
            time.sleep(0.1)


def prepare_config(conf: Config, path: Path | None = None) -> Path:
    """Resolve what every process of the cloud must share and write it for them to read.

    Creates the data and log directories, the hash path suffix and every secret (``stackstore.secrets``),
    then writes the effective configuration (owner-only: it holds the keys) to ``path`` (default
    ``effective_config_path(conf)``) and returns that path."""
    from stackstore.tomlwrite import dumps

    data = conf.data_dir
    conf["cluster"]["data_dir"] = str(data)  # children must not depend on our cwd
    make_private_dir(data / "logs")
    data.chmod(0o700)  # older data directories too: nothing below is other users' business
    ensure_hash_path_suffix(conf)
    for secret in CONFIG_KEYS:  # resolved once here: every child reads the same values
        ensure_secret(conf, secret)
    ensure_encryption_keys(conf)  # kept in its own file, never in the effective config
    ensure_realm_keys(conf)  # container sync realm keys left empty: generated once (0600)
    path = path or effective_config_path(conf)
    write_private(path, dumps(conf))
    return path


def effective_config_path(conf: Config) -> Path:
    """Where ``prepare_config`` writes the configuration the children read."""
    return conf.data_dir / "stackstore.effective.toml"


def node_service(conf: Config, name: str, port: int, devices_root: Path, host: str | None = None,
                 config_path: Path | None = None) -> Service:
    """The storage node process ``name`` serving the devices under ``devices_root`` on ``host:port``
    (``[store] host`` by default), reading the config ``prepare_config`` wrote (to ``config_path``)."""
    host = host or conf["store"]["host"]
    config = config_path or effective_config_path(conf)
    return Service(
        name,
        [sys.executable, "-m", "store.server", "--config", str(config), "--host", host,
         "--port", str(port), "--devices", str(devices_root)],
        f"{internal_tls.node_scheme(conf)}://{host}:{port}/healthcheck", conf.data_dir / "logs" / f"{name}.log",
        health_tls=internal_tls.client_context(conf))


def api_service(conf: Config, kind: str, name: str | None = None, config_path: Path | None = None) -> Service:
    """The API process of ``kind`` (``proxy`` or one of ``OPTIONAL_SERVICES``) on the host and port of its
    config section, reading the config ``prepare_config`` wrote (to ``config_path``); ``name`` (default
    ``kind``) names it and its log."""
    package, section = ("proxy", "proxy") if kind == "proxy" else OPTIONAL_SERVICES[kind]
    sconf, name = conf[section], name or kind
    config = config_path or effective_config_path(conf)
    return Service(name, [sys.executable, "-m", package, "--config", str(config)],
                   f"http://{sconf['host']}:{sconf['port']}/healthcheck",
                   conf.data_dir / "logs" / f"{name}.log")


@dataclass
class Cloud:
    """The services of one single-machine cloud described by a Config."""

    conf: Config
    services: dict[str, Service] = field(default_factory=dict)

    @property
    def node_count(self) -> int:
        return int(self.conf["cluster"]["nodes"])

    def node_port(self, index: int) -> int:
        return int(self.conf["store"]["base_port"]) + index

    def node_devices_root(self, index: int) -> Path:
        return self.conf.data_dir / f"node{index}"

    def device_names(self, index: int) -> list[str]:
        return [f"n{index}d{j}" for j in range(1, int(self.conf["cluster"]["devices_per_node"]) + 1)]

    @property
    def proxy_url(self) -> str:
        return f"http://{self.conf['proxy']['host']}:{self.conf['proxy']['port']}"

    def prepare(self) -> None:
        """Create data dirs, the hash suffix, the effective config file and rings (first start only)."""
        from ring.bootstrap import build_default_rings

        prepare_config(self.conf)
        zones = max(1, int(self.conf["cluster"]["zones"]))
        host = self.conf["store"]["host"]
        devices = []
        for i in range(1, self.node_count + 1):
            for name in self.device_names(i):
                make_private_dir(self.node_devices_root(i) / name)
                devices.append((1, (i - 1) % zones + 1, host, self.node_port(i), name, 100.0))
        policies = policies_from_conf(self.conf)
        build_default_rings(self.conf.ring_dir, devices, int(self.conf["cluster"]["part_power"]),
                            int(self.conf["cluster"]["replicas"]), int(self.conf["cluster"]["min_part_hours"]),
                            policy_rings={p.ring_name: p.replicas for p in policies})
        self.write_effective_config()
        self._define_services()

    @property
    def config_path(self) -> Path:
        return effective_config_path(self.conf)

    def write_effective_config(self) -> None:
        """Children read the exact configuration the launcher resolved (defaults + file + environment).

        It holds the cloud's keys and TempAuth passwords: readable by its owner only."""
        from stackstore.tomlwrite import dumps

        write_private(self.config_path, dumps(self.conf))

    def _define_services(self) -> None:
        for i in range(1, self.node_count + 1):
            self.services[f"node{i}"] = node_service(self.conf, f"node{i}", self.node_port(i),
                                                     self.node_devices_root(i))
        self.services["proxy"] = api_service(self.conf, "proxy")
        # The API services join as soon as their package has a __main__ (`python -m <package>`).
        for name, (package, section) in OPTIONAL_SERVICES.items():
            if self.conf[section].get("enabled", True) and importlib.util.find_spec(f"{package}.__main__"):
                self.services[name] = api_service(self.conf, name)

    def add_node(self, name: str, port: int, devices_root: Path) -> Service:
        """Define (not start) one more storage node of this cloud, e.g. before adding it to the rings."""
        self.services[name] = node_service(self.conf, name, port, devices_root)
        return self.services[name]

    def start(self, timeout: float = 30.0) -> None:
        """Start every service and wait until all answer their health check."""
        if not self.services:
            self.prepare()
        for svc in self.services.values():
            svc.start()
        self.wait_healthy(list(self.services), timeout)

    def wait_healthy(self, names: list[str], timeout: float = 30.0) -> None:
        """Block until the named services answer their health checks."""
        wait_healthy([self.services[n] for n in names], timeout)

    def stop_service(self, name: str, sig: int = signal.SIGTERM) -> None:
        self.services[name].stop(sig)

    def start_service(self, name: str, timeout: float = 30.0) -> None:
        self.services[name].start()
        self.wait_healthy([name], timeout)

    def stop(self) -> None:
        """Stop the proxy first, then the nodes."""
        for name in sorted(self.services, key=lambda n: n != "proxy"):
            self.services[name].stop()
