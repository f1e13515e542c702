"""Fixtures: real storage node processes (``python -m store.server``) on free ports."""

from __future__ import annotations

import itertools
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from stackstore.timestamp import Timestamp
from tests import harness

SUFFIX = "store-tests-suffix"
NODE_KEY = "store-tests-node-key"
NODE_AUTH = harness.NodeAuth(NODE_KEY)  # signs requests to any node of these tests
BLOCK = 65536
_ticks = itertools.count()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def next_ts(offset: float = 0.0) -> str:
    """Strictly increasing X-Timestamps (10 µs apart) for this test process."""
    return Timestamp(time.time() + offset + next(_ticks) * 0.00001).normal


class NodeProcess(harness.NodeProcess):
    """One storage node process serving ``tmp/devices`` (the harness's, with these tests' defaults).

    Every node of these tests shares the hash suffix and the node key, so they can talk to each other."""

    def __init__(self, tmp: Path, port: int | None = None, devices: tuple[str, ...] = ("d1",), **store_conf):
        self.tmp = tmp
        devices_root = tmp / "devices"
        for dev in devices:
            (devices_root / dev).mkdir(parents=True, exist_ok=True)
        conf = harness.make_config(tmp / "data", cluster={"hash_path_suffix": SUFFIX, "node_key": NODE_KEY},
                                   store={"block_size": BLOCK, "container_update_timeout": 1.0,
                                          "updater_interval": 3600.0, **store_conf})
        super().__init__(conf, devices_root, port or free_port())


@pytest.fixture(autouse=True)
def _peer_requests_signed():
    """Node code run in the test process (updater passes, replication calls) signs like a node would."""
    from objclient import loop_pool

    loop_pool.set_signing_key(NODE_KEY.encode())
    yield
    loop_pool.set_signing_key(None)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory):
    n = NodeProcess(tmp_path_factory.mktemp("node")).start()
    yield n
    n.stop()
    assert "Traceback" not in n.logs(), n.logs()


@pytest.fixture(scope="module")
def client(node: NodeProcess):
    with httpx.Client(base_url=node.url, timeout=10, auth=NODE_AUTH) as c:
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


def signed_head(head: bytes) -> bytes:
    """A hand-written request head (request line and header lines, without the blank line) with an
    ``X-Backend-Signature`` line added, made with these tests' node key over the bytes as sent."""
    from stackstore import node_signing

    first, *lines = head.split(b"\r\n")
    method, target, _ = first.decode("latin-1").split(" ", 2)
    headers = {}
    for line in lines:
        name, _, value = line.decode("latin-1").partition(":")
        headers[name] = value
    signature = node_signing.sign(NODE_KEY.encode(), method, target, headers)
    return head + f"\r\n{node_signing.SIGNATURE_HEADER}: {signature}".encode()


def object_dir(devices_root: Path, device: str, part: int, account: str, container: str, obj: str) -> Path:
    from ring import hash_path

    h = hash_path(SUFFIX, account, container, obj).hex()
    return devices_root / device / "objects" / str(part) / h[-3:] / h


def evict_pages(path: Path) -> None:
    """Drop one file's pages from the page cache (clean once fsynced): its next read must come from the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def wait_for(predicate, timeout: float = 5.0, interval: float = 0.05):
    deadline = time.time() + timeout
    while True:
        result = predicate()
        if result or time.time() > deadline:
            return result
        time.sleep(interval)


os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")


async def commit_object(mgr, device: str, part: int, hash_hex: str, ts, body: bytes = b"x" * 100,
                        midway=None) -> None:
    """Write, finish and commit one object through ``mgr``'s DiskFileWriter (``midway()`` runs after the body's
    write, before the commit), releasing the writer either way."""
    writer = mgr.get(device, part, hash_hex, "/a/c/o").writer()
    try:
        await writer.write(body)
        if midway is not None:
            midway()
        await writer.finish()
        await writer.commit(ts, {"Content-Type": "text/plain"})
    finally:
        writer.close()


@pytest.fixture
def executor():
    """Four I/O threads for an in-process DiskFileManager."""
    pool = ThreadPoolExecutor(4)
    yield pool
    pool.shutdown()
