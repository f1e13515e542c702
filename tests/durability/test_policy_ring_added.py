"""A storage policy's ring that appears after the cloud started (built later, published with `stackstore
ring push`) is used by the running proxy and nodes without a restart: before the push a write to a
container of that policy answers 503 (no ring for it), after it the write lands on the policy's ring
(objects-1/ on its two primaries) and reads back."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from ring import Ring, hash_path
from stackstore.launcher import effective_config_path
from tests import ondisk
from tests.durability.bg_helpers import start_cluster, wait_for
from tests.harness import Cluster


@pytest.fixture
def cl(tmp_path):
    admin = tmp_path / "admin-rings"

    def withhold_silver_ring(c: Cluster) -> None:  # the operator has not built policy 1's ring yet
        admin.mkdir()
        for name in ("object-1.ring", "object-1.builder.json"):
            if (c.conf.ring_dir / name).exists():
                shutil.move(c.conf.ring_dir / name, admin / name)

    c = start_cluster(tmp_path / "cloud", prepare=withhold_silver_ring)
    c.admin_rings = admin
    yield c
    c.stop()


def _copies(cl: Cluster, device: str, hash_hex: str) -> list[str]:
    node = int(device[1:].split("d")[0])  # devices are named n<node>d<j>
    device_path = cl.node_devices_root(node) / device
    return [f"{part}/{name}" for part, h, name in ondisk.object_files(device_path, 1)
            if h == hash_hex and name.endswith(".data")]


def test_a_policy_ring_pushed_after_start_is_used_without_restart(cl):
    admin: Path = cl.admin_rings
    assert not (cl.conf.ring_dir / "object-1.ring").exists() and (admin / "object-1.ring").exists()
    url, token = cl.auth()
    account = url.rstrip("/").rsplit("/", 1)[1]
    http = httpx.Client(base_url=url + "/", headers={"X-Auth-Token": token}, timeout=30)
    container = "silver-" + uuid.uuid4().hex[:6]
    assert http.put(container, headers={"X-Storage-Policy": "silver"}).status_code == 201
    assert http.put(f"{container}/early", content=b"x").status_code == 503  # no ring for policy 1 yet

    push = subprocess.run([sys.executable, "-m", "stackstore.cli", "ring", "push", "--config",
                           str(effective_config_path(cl.conf)), "--ring-dir", str(admin), "object-1"],
                          capture_output=True, text=True, timeout=60)
    assert push.returncode == 0, push.stdout + push.stderr
    assert (cl.conf.ring_dir / "object-1.ring").exists()

    wait_for(lambda: http.put(f"{container}/obj", content=b"silver data").status_code == 201, timeout=30)
    assert http.get(f"{container}/obj").content == b"silver data"
    suffix = cl.conf["cluster"]["hash_path_suffix"]
    ring = Ring(cl.conf.ring_dir / "object-1.ring", suffix)
    hash_hex = hash_path(suffix, account, container, "obj").hex()
    primaries = ring.get_nodes(account, container, "obj")[1]
    assert len(primaries) == 2
    assert all(_copies(cl, dev.device, hash_hex) for dev in primaries)  # stored by policy 1's ring
    assert sorted(r["name"] for r in http.get(container, params={"format": "json"}).json()) == ["obj"]
