"""`stackstore up` survives the crash of any one service: it is restarted, the others keep serving.

A real `stackstore up` process, write load through python-swiftclient, `kill -9` of a storage node and
of the identity service: every acknowledged write stays readable, writes keep succeeding while the node
is down, both services come back by themselves (`stackstore status` shows their restarts), and SIGTERM
still stops the whole cloud.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import httpx
import pytest
from swiftclient import client as swift
from swiftclient.exceptions import ClientException

from stackstore.supervisor import read_states
from stackstore.tomlwrite import dumps
from tests.harness import Cluster


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _state(data_dir, name: str):
    return next((s for s in read_states(data_dir) if s.name == name), None)


@pytest.fixture(scope="module")
def up(tmp_path_factory):
    """A `stackstore up` process on free ports; yields (process, conf)."""
    tmp = tmp_path_factory.mktemp("up")
    conf = Cluster(tmp / "data", compute={"enabled": False}, volumes={"enabled": False},
                   images={"enabled": False}).conf
    config = tmp / "stackstore.toml"
    config.write_text(dumps(conf))
    log = open(tmp / "up.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "stackstore.cli", "up", "--config", str(config)],
                            stdout=log, stderr=subprocess.STDOUT)
    proxy = f"http://127.0.0.1:{conf['proxy']['port']}"
    try:
        _wait(lambda: proc.poll() is not None or (_state(conf.data_dir, "proxy") is not None
                                                  and _healthy(proxy + "/healthcheck")), 60, "stackstore up")
        assert proc.poll() is None, (tmp / "up.log").read_text()
        yield proc, conf
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
        log.close()


def test_a_crashed_node_and_identity_are_restarted_and_nothing_acknowledged_is_lost(up):
    proc, conf = up
    data_dir = conf.data_dir
    proxy = f"http://127.0.0.1:{conf['proxy']['port']}"
    url, token = swift.get_auth(proxy + "/auth/v1.0", "test:tester", "testing")
    container = "sup-" + uuid.uuid4().hex[:8]
    swift.put_container(url, token, container)

    acknowledged: dict[str, bytes] = {}
    acked_while_down: list[str] = []
    failures: list[str] = []
    node_down = threading.Event()
    stop = threading.Event()

    def writer(worker: int) -> None:
        conn = swift.Connection(preauthurl=url, preauthtoken=token, retries=0, timeout=20)
        i = 0
        while not stop.is_set():
            name, body = f"w{worker}-{i}", os.urandom(2048) + str(i).encode()
            i += 1
            try:
                conn.put_object(container, name, body)
            except (ClientException, OSError) as exc:
                failures.append(f"{name}: {exc}")
                continue
            acknowledged[name] = body
            if node_down.is_set():
                acked_while_down.append(name)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    try:
        _wait(lambda: len(acknowledged) >= 40, 60, "writes before the crash")
        node2, identity = _state(data_dir, "node2"), _state(data_dir, "identity")
        assert node2 is not None and identity is not None and node2.pid and identity.pid
        os.kill(node2.pid, signal.SIGKILL)
        os.kill(identity.pid, signal.SIGKILL)
        node_down.set()
        restarted = _wait(lambda: all((s := _state(data_dir, n)) is not None and s.restarts == 1
                                      and s.state == "running" for n in ("node2", "identity")),
                          30, "node2 and identity to be restarted")
        assert restarted
        _wait(lambda: len(acked_while_down) >= 40, 60, "writes while and after node2 was down")
    finally:
        stop.set()
        for t in threads:
            t.join(60)

    assert proc.poll() is None, "stackstore up stopped"
    for name in ("node2", "identity"):
        state = _state(data_dir, name)
        assert state.last_exit == -signal.SIGKILL and state.pid not in (node2.pid, identity.pid)
    for port in (conf["identity"]["port"], conf["store"]["base_port"] + 2):
        _wait(lambda port=port: _healthy(f"http://127.0.0.1:{port}/healthcheck"), 30, f"port {port} to answer")
    # a handful of writes may fail in the instant the node dies; nearly all must succeed
    assert len(failures) <= max(8, len(acknowledged) // 10), failures[:10]
    for name, body in acknowledged.items():
        _, got = swift.get_object(url, token, container, name)
        assert got == body, name

    status = subprocess.run([sys.executable, "-m", "stackstore.cli", "status", "--config",
                             str(data_dir / "stackstore.effective.toml")], capture_output=True, text=True,
                            timeout=60)
    lines = {ln.split()[0]: ln.split() for ln in status.stdout.splitlines() if ln.strip()}
    assert lines["node2"][1:2] == ["running"] and lines["node2"][3] == "1", status.stdout
    assert lines["identity"][3] == "1" and lines["proxy"][3] == "0", status.stdout


def test_sigterm_stops_every_service(up):
    proc, conf = up
    pids = [s.pid for s in read_states(conf.data_dir) if s.pid]
    assert len(pids) >= 6  # four nodes, the proxy and identity
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0
    for pid in pids:
        _wait(lambda pid=pid: not os.path.exists(f"/proc/{pid}") or _zombie(pid), 15, f"pid {pid} to exit")
    assert all(s.state == "stopped" for s in read_states(conf.data_dir))


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True
