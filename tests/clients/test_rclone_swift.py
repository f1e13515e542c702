"""rclone's swift backend against the cloud: copy, check, sync, lsjson, cat with offsets, delete, purge."""

from __future__ import annotations

import json
import time

import pytest

from tests.clients.helpers import make_tree, run
from tests.conftest import require_tool

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def rclone(cluster, tmp_path_factory):
    exe = require_tool("rclone")
    env = {
        "RCLONE_CONFIG": str(tmp_path_factory.mktemp("rclone") / "rclone.conf"),
        "RCLONE_CONFIG_SW_TYPE": "swift",
        "RCLONE_CONFIG_SW_AUTH": f"{cluster.proxy_url}/auth/v1.0",
        "RCLONE_CONFIG_SW_USER": "test:tester",
        "RCLONE_CONFIG_SW_KEY": "testing",
        "RCLONE_CONFIG_SW_CHUNK_SIZE": "1M",  # files above 1 MiB go up as segmented large objects
    }

    def call(*args: str, check: bool = True, text: bool = True):
        return run([exe, "--retries", "1", "--low-level-retries", "2", *args], env=env, check=check, text=text)

    return call


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("rclone-src")
    sums = make_tree(root, 300, seed=7, max_size=200_000,
                     big={"large/three-and-a-bit.bin": 3 * MiB + 12345, "large/exactly-two.bin": 2 * MiB})
    return root, sums


def test_copy_check_lsjson(rclone, tree):
    root, sums = tree
    rclone("copy", str(root), "sw:rc-tree", "--transfers", "8")
    check = rclone("check", str(root), "sw:rc-tree")
    assert "0 differences found" in check.stderr
    entries = json.loads(rclone("lsjson", "-R", "--files-only", "sw:rc-tree").stdout)
    assert {e["Path"] for e in entries} == set(sums)
    sizes = {e["Path"]: e["Size"] for e in entries}
    assert sizes["large/three-and-a-bit.bin"] == 3 * MiB + 12345
    segments = json.loads(rclone("lsjson", "-R", "--files-only", "sw:rc-tree_segments").stdout)
    assert len(segments) >= 4 + 2  # the two large files were chunked


def test_cat_offset_count(rclone, tree):
    root, _ = tree
    data = (root / "large/three-and-a-bit.bin").read_bytes()
    for offset, count in ((1, 3), (MiB - 2, 5), (3 * MiB, 12345)):
        out = rclone("cat", "--offset", str(offset), "--count", str(count),
                     "sw:rc-tree/large/three-and-a-bit.bin", text=False).stdout
        assert out == data[offset:offset + count]


def test_sync_then_delete_and_purge(rclone, tree, tmp_path):
    root, sums = tree
    rclone("copy", str(root), "sw:rc-sync")
    # change the source: remove some files, modify one, add one
    removed = sorted(sums)[:10]
    for rel in removed:
        (root / rel).unlink()
    (root / "top-0000.txt").write_bytes(b"changed")
    (root / "new/added.txt").parent.mkdir(exist_ok=True)
    (root / "new/added.txt").write_bytes(b"added")
    rclone("sync", str(root), "sw:rc-sync")
    assert "0 differences found" in rclone("check", str(root), "sw:rc-sync").stderr
    names = set(rclone("lsf", "-R", "--files-only", "sw:rc-sync").stdout.split())
    assert not names & set(removed)
    assert "new/added.txt" in names
    rclone("delete", "sw:rc-sync/d1")
    names = set(rclone("lsf", "-R", "--files-only", "sw:rc-sync").stdout.split())
    assert not any(n.startswith("d1/") for n in names)
    rclone("purge", "sw:rc-sync")
    # the account listing follows a container's deletion asynchronously when the container server's update
    # of the account times out under load (Swift's eventual consistency, as real Swift): bounded wait
    deadline = time.monotonic() + 30
    while "rc-sync/" in (containers := rclone("lsf", "sw:").stdout.split()) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert "rc-sync/" not in containers
