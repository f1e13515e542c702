"""``stackstore status``: a stopped node shows as down, quarantined copies are counted."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest

from tests import ondisk
from tests.durability.bg_helpers import Layout, Swift, start_cluster, wait_for


@pytest.fixture(scope="module")
def cl(tmp_path_factory):
    c = start_cluster(tmp_path_factory.mktemp("status"))
    yield c
    c.stop()


def _status(cl, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stackstore.cli", "status", "--config",
                           str(cl.cloud.config_path), *args], capture_output=True, text=True, timeout=60)


def _line(out: str, port: int) -> list[str]:
    (line,) = [ln for ln in out.splitlines() if ln.startswith(f"127.0.0.1:{port} ")]
    return line.split()


def test_status_shows_down_node_and_quarantined(cl):
    swift, layout = Swift(cl), Layout(cl)
    container = "st-" + uuid.uuid4().hex[:6]
    assert swift.put(container).status_code in (201, 202)
    assert swift.put(container, "o", b"z" * 5000).status_code == 201
    dev = layout.object.get_nodes(swift.account, container, "o")[1][0]
    hdir = layout.hash_dir(dev, swift.account, container, "o")
    (data,) = ondisk.with_ext(hdir, ".data")
    raw = bytearray(ondisk.read(hdir, data))
    raw[100] ^= 0xFF
    ondisk.write(hdir, data, bytes(raw))
    bad = layout.node_index(dev)
    wait_for(lambda: layout.recon(bad)["quarantined"] >= 1)

    down = next(i for i in range(1, 5) if i != bad)
    cl.stop_node(down)
    try:
        result = _status(cl)
        assert result.returncode == 1, result.stderr
        assert result.stdout.splitlines()[0].split()[:2] == ["NODE", "STATUS"]
        assert _line(result.stdout, layout.base_port + down)[1] == "DOWN"
        bad_line = _line(result.stdout, layout.base_port + bad)
        assert bad_line[1] == "up" and int(bad_line[4]) >= 1  # QUARANTINED column
        for i in range(1, 5):
            if i != down:
                assert _line(result.stdout, layout.base_port + i)[1] == "up"
        docs = json.loads(_status(cl, "--json").stdout)
        assert docs[f"127.0.0.1:{layout.base_port + down}"] == {"up": False}
        assert docs[f"127.0.0.1:{layout.base_port + bad}"]["quarantined"] >= 1
    finally:
        cl.start_node(down)
    result = _status(cl)
    assert result.returncode == 0, result.stdout
