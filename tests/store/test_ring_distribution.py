"""Rings distributed by version between real node processes, each with its own ring directory (as on
separate hosts): a push to one node reaches the other through its periodic check; stale, damaged or
unsigned rings are refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from objclient import ring_distribution as dist
from ring.builder import RingBuilder
from tests import harness
from tests.store.conftest import NODE_KEY, SUFFIX, free_port, wait_for

KEY = NODE_KEY.encode()


@pytest.fixture
def two_nodes(tmp_path: Path):
    """Nodes A and B on 127.0.0.1 with separate data dirs, both holding version 1 of the rings."""
    ports = [free_port(), free_port()]
    builders: dict[str, RingBuilder] = {}
    admin = tmp_path / "admin"
    for name in ("account", "container", "object"):
        builder = RingBuilder(4, 2, 0)
        for port in ports:
            builder.add_device(1, 1, "127.0.0.1", port, "d1", 100.0)
        builder.rebalance(seed=1)
        builder.write_ring(dist.ring_path(admin, name))
        builders[name] = builder
    nodes = []
    for label, port in zip("ab", ports, strict=True):
        conf = harness.make_config(tmp_path / label / "data",
                                   cluster={"hash_path_suffix": SUFFIX, "node_key": NODE_KEY,
                                            "ring_check_interval": 0.5})
        for name in builders:
            dist.install(conf.ring_dir, name, dist.ring_path(admin, name).read_bytes())
        (tmp_path / label / "devices" / "d1").mkdir(parents=True)
        nodes.append(harness.NodeProcess(conf, tmp_path / label / "devices", port, name=f"node-{label}"))
    for node in nodes:
        node.start()
    yield nodes, builders, admin
    for node in nodes:
        node.stop()
    for node in nodes:
        assert "Traceback" not in node.logs(), node.logs()


def _next_version(builder: RingBuilder, path: Path) -> bytes:
    builder.set_weight(0, 150.0)
    builder.pretend_min_part_hours_passed()
    builder.rebalance(seed=2)
    builder.write_ring(path)
    return path.read_bytes()


def test_a_ring_pushed_to_one_node_reaches_the_others(two_nodes, tmp_path: Path) -> None:
    (a, b), builders, admin = two_nodes
    old = dist.ring_path(admin, "object").read_bytes()
    v1 = builders["object"].version
    new = _next_version(builders["object"], tmp_path / "object.ring")
    v2 = builders["object"].version
    assert v2 > v1

    assert dist.push_ring("127.0.0.1", a.port, KEY, "object", new)[0] == 201
    assert dist.peer_versions("127.0.0.1", a.port, KEY)["object"] == v2
    # B was not pushed to: it asks its peers (A) and installs the newer version itself
    assert wait_for(lambda: dist.peer_versions("127.0.0.1", b.port, KEY)["object"] == v2, timeout=10)
    assert dist.local_versions(b.conf.ring_dir)["object"] == v2
    assert dist.ring_path(b.conf.ring_dir, "object").read_bytes() == new

    # the same version again is a no-op; an older one never rolls the node back
    assert dist.push_ring("127.0.0.1", a.port, KEY, "object", new)[0] == 200
    status, answer = dist.push_ring("127.0.0.1", a.port, KEY, "object", old)
    assert status == 409 and str(v2) in answer
    assert dist.local_versions(a.conf.ring_dir)["object"] == v2


def test_damaged_unsigned_or_misnamed_rings_are_refused(two_nodes) -> None:
    (a, _), _, admin = two_nodes
    blob = dist.ring_path(admin, "object").read_bytes()
    before = dist.ring_path(a.conf.ring_dir, "object").read_bytes()
    damaged = blob[:-10] + bytes(10)
    assert dist.push_ring("127.0.0.1", a.port, KEY, "object", damaged)[0] == 422
    url = f"http://127.0.0.1:{a.port}"
    # unsigned, or signed with another key: 401, like every node request
    assert httpx.put(f"{url}/rings/object", content=blob).status_code == 401
    assert httpx.get(f"{url}/rings/object").status_code == 401
    assert httpx.put(f"{url}/rings/object", content=blob, auth=harness.NodeAuth("another-key")).status_code == 401
    signed = harness.NodeAuth(NODE_KEY)
    assert httpx.put(f"{url}/rings/passwd", content=blob, auth=signed).status_code == 404
    assert httpx.get(f"{url}/rings/..%2Fhash_path_suffix", auth=signed).status_code in (400, 404)
    assert httpx.put(f"{url}/rings/object", content=b"", auth=signed).status_code == 400
    assert dist.ring_path(a.conf.ring_dir, "object").read_bytes() == before


def test_ring_push_command_publishes_to_every_node_of_the_rings(two_nodes, tmp_path: Path) -> None:
    (a, b), builders, admin = two_nodes
    _next_version(builders["container"], dist.ring_path(admin, "container"))
    version = builders["container"].version
    config = tmp_path / "admin.toml"
    config.write_text(f'[cluster]\nnode_key = "{NODE_KEY}"\ndata_dir = "{tmp_path / "admin-data"}"\n')
    proc = subprocess.run([sys.executable, "-m", "stackstore.cli", "ring", "push", "--config", str(config),
                           "--ring-dir", str(admin), "container"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count(" 201 ") == 2, proc.stdout
    for node in (a, b):
        assert dist.local_versions(node.conf.ring_dir)["container"] == version
    versions = subprocess.run([sys.executable, "-m", "stackstore.cli", "ring", "versions", "--config",
                               str(config), "--ring-dir", str(admin)], capture_output=True, text=True, timeout=60)
    assert versions.returncode == 0 and versions.stdout.count(f"'container': {version}") == 3, versions.stdout
    assert "2 of 2 nodes hold these versions" in versions.stdout
