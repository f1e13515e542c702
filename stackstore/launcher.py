"""Run a whole cloud on one machine: prepare data dirs and rings, start every service, stop them cleanly.

Used by `stackstore up` and by the test suite's cluster fixture, so both run the same thing.
"""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from stackstore.config import Config, ensure_hash_path_suffix
from stackstore.secrets import CONFIG_KEYS, ensure_secret, write_private

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

    def start(self, env: dict[str, str] | None = None) -> None:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True, preexec_fn=die_with_parent)
        log.close()

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
            with urllib.request.urlopen(self.health_url, timeout=1) as resp:
                return resp.status == 200
        except (urllib.error.URLError, OSError):
            return False


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

        data = self.conf.data_dir
        self.conf["cluster"]["data_dir"] = str(data)  # children must not depend on our cwd
        (data / "logs").mkdir(parents=True, exist_ok=True)
        ensure_hash_path_suffix(self.conf)
        for secret in CONFIG_KEYS:  # resolved once here: every child reads the same values
            ensure_secret(self.conf, secret)
        zones = max(1, int(self.conf["cluster"]["zones"]))
        host = self.conf["store"]["host"]
        devices = []
        for i in range(1, self.node_count + 1):
            for name in self.device_names(i):
                (self.node_devices_root(i) / name).mkdir(parents=True, exist_ok=True)
                devices.append((1, (i - 1) % zones + 1, host, self.node_port(i), name, 100.0))
        build_default_rings(self.conf.ring_dir, devices, int(self.conf["cluster"]["part_power"]),
                            int(self.conf["cluster"]["replicas"]), int(self.conf["cluster"]["min_part_hours"]))
        self.write_effective_config()
        self._define_services()

    @property
    def config_path(self) -> Path:
        return self.conf.data_dir / "stackstore.effective.toml"

    def write_effective_config(self) -> None:
        """Children read the exact configuration the launcher resolved (defaults + file + environment).

        It holds the cloud's keys and TempAuth passwords: readable by its owner only."""
        from stackstore.tomlwrite import dumps

        write_private(self.config_path, dumps(self.conf))

    def _define_services(self) -> None:
        py = sys.executable
        logs = self.conf.data_dir / "logs"
        host = self.conf["store"]["host"]
        for i in range(1, self.node_count + 1):
            port = self.node_port(i)
            self.services[f"node{i}"] = Service(
                f"node{i}",
                [py, "-m", "store.server", "--config", str(self.config_path), "--host", host,
                 "--port", str(port), "--devices", str(self.node_devices_root(i))],
                f"http://{host}:{port}/healthcheck", logs / f"node{i}.log")
        self.services["proxy"] = Service(
            "proxy", [py, "-m", "proxy", "--config", str(self.config_path)],
            f"{self.proxy_url}/healthcheck", logs / "proxy.log")
        # The API services join as soon as their package has a __main__ (`python -m <package>`).
        for name, (package, section) in OPTIONAL_SERVICES.items():
            if self.conf[section].get("enabled", True) and importlib.util.find_spec(f"{package}.__main__"):
                sconf = self.conf[section]
                self.services[name] = Service(
                    name, [py, "-m", package, "--config", str(self.config_path)],
                    f"http://{sconf['host']}:{sconf['port']}/healthcheck", logs / f"{name}.log")

    def start(self, timeout: float = 30.0) -> None:
        """Start every service and wait until all answer their health check."""
        if not self.services:
            self.prepare()
        for svc in self.services.values():
            svc.start()
        self.wait_healthy(list(self.services), timeout)

    def wait_healthy(self, names: list[str], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        pending = list(names)
        while pending:
            pending = [n for n in pending if not self.services[n].healthy()]
            for n in pending:
                if not self.services[n].running:
                    raise RuntimeError(f"{n} exited; see {self.services[n].log_path}")
            if pending and time.monotonic() > deadline:
                raise RuntimeError(f"not healthy after {timeout}s: {pending}")
            if pending:
                time.sleep(0.1)

    def stop_service(self, name: str, sig: int = signal.SIGTERM) -> None:
        self.services[name].stop(sig)

    def start_service(self, name: str, timeout: float = 30.0) -> None:
        self.services[name].start()
        self.wait_healthy([name], timeout)

    def stop(self) -> None:
        """Stop the proxy first, then the nodes."""
        for name in sorted(self.services, key=lambda n: n != "proxy"):
            self.services[name].stop()
