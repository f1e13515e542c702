"""Fixtures: real storage node processes (``python -m store.server``) on free ports."""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from stackstore.timestamp import Timestamp

ROOT = Path(__file__).resolve().parents[2]
SUFFIX = "store-tests-suffix"
BLOCK = 65536
_ticks = itertools.count()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def next_ts(offset: float = 0.0) -> str:
    """Strictly increasing X-Timestamps (10 µs apart) for this test process."""
    return Timestamp(time.time() + offset + next(_ticks) * 0.00001).normal


class NodeProcess:
    """One storage node process serving ``devices_root``."""

    def __init__(self, tmp: Path, port: int | None = None, devices: tuple[str, ...] = ("d1",), **store_conf):
        self.tmp = tmp
        self.devices_root = tmp / "devices"
        for dev in devices:
            (self.devices_root / dev).mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        conf = {"block_size": BLOCK, "container_update_timeout": 1.0, "updater_interval": 3600.0}
        conf.update(store_conf)
        lines = ["[cluster]", f'hash_path_suffix = "{SUFFIX}"', f'data_dir = "{tmp / "data"}"', "[store]"]
        for key, value in conf.items():
            lines.append(f"{key} = {str(value).lower() if isinstance(value, bool) else value!r}".replace("'", '"'))
        self.conf_path = tmp / "store.toml"
        self.conf_path.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen | None = None
        self.url = f"http://127.0.0.1:{self.port}"
        self.hostport = f"127.0.0.1:{self.port}"

    def start(self) -> NodeProcess:
        self.log = open(self.tmp / f"node-{self.port}.log", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "store.server", "--config", str(self.conf_path), "--host", "127.0.0.1",
             "--port", str(self.port), "--devices", str(self.devices_root)],
            cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"node exited: {(self.tmp / f'node-{self.port}.log').read_text()}")
            try:
                if httpx.get(self.url + "/healthcheck", timeout=0.5).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("node did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self.log.close()

    def logs(self) -> str:
        return (self.tmp / f"node-{self.port}.log").read_text(errors="replace")


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory):
    n = NodeProcess(tmp_path_factory.mktemp("node")).start()
    yield n
    n.stop()
    assert "Traceback" not in n.logs(), n.logs()


@pytest.fixture(scope="module")
def client(node: NodeProcess):
    with httpx.Client(base_url=node.url, timeout=10) as c:
        yield c


@pytest.fixture
def make_node(tmp_path_factory: pytest.TempPathFactory):
    """Factory for extra nodes; all stopped at the end of the test."""
    started: list[NodeProcess] = []

    def factory(port: int | None = None, start: bool = True, **conf) -> NodeProcess:
        n = NodeProcess(tmp_path_factory.mktemp("extra"), port=port, **conf)
        started.append(n)
        return n.start() if start else n

    yield factory
    for n in started:
        if n.proc is not None:
            n.stop()


def object_dir(devices_root: Path, device: str, part: int, account: str, container: str, obj: str) -> Path:
    from ring import hash_path

    h = hash_path(SUFFIX, account, container, obj).hex()
    return devices_root / device / "objects" / str(part) / h[-3:] / h


def wait_for(predicate, timeout: float = 5.0, interval: float = 0.05):
    deadline = time.time() + timeout
    while True:
        result = predicate()
        if result or time.time() > deadline:
            return result
        time.sleep(interval)


os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
