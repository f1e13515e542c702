"""With one storage node stopped, every client operation still works (handoffs, fallback reads)."""

from __future__ import annotations

import hashlib

import pytest

from tests.clients.helpers import make_tree, run, tree_md5s
from tests.conftest import require_tool


@pytest.fixture
def one_node_down(cluster):
    cluster.stop_node(2)
    try:
        yield cluster
    finally:
        cluster.start_node(2)


def test_swift_cli_with_a_node_down(one_node_down, tmp_path):
    cluster = one_node_down
    exe = require_tool("swift")
    auth = ["-A", f"{cluster.proxy_url}/auth/v1.0", "-U", "test:tester", "-K", "testing"]
    src = tmp_path / "src"
    sums = make_tree(src, 30, seed=11, big={"big.bin": 3 * 1024 * 1024})
    run([exe, *auth, "upload", "down-cli", str(src), "--object-name", "t", "--segment-size", "1M",
         "--use-slo"])
    names = run([exe, *auth, "list", "down-cli"]).stdout.split()
    assert sorted(names) == sorted(f"t/{r}" for r in sums)
    dest = tmp_path / "dest"
    run([exe, *auth, "download", "down-cli", "-D", str(dest), "--prefix", "t/", "--remove-prefix"])
    assert tree_md5s(dest) == sums
    run([exe, *auth, "post", "down-cli", "-m", "k:v"])
    assert "Meta K: v" in run([exe, *auth, "stat", "down-cli"]).stdout
    run([exe, *auth, "delete", "down-cli"])
    assert run([exe, *auth, "list", "down-cli"], check=False).returncode != 0


def test_rclone_with_a_node_down(one_node_down, tmp_path):
    cluster = one_node_down
    exe = require_tool("rclone")
    env = {"RCLONE_CONFIG": str(tmp_path / "rc.conf"), "RCLONE_CONFIG_SW_TYPE": "swift",
           "RCLONE_CONFIG_SW_AUTH": f"{cluster.proxy_url}/auth/v1.0",
           "RCLONE_CONFIG_SW_USER": "test:tester", "RCLONE_CONFIG_SW_KEY": "testing"}
    src = tmp_path / "src"
    make_tree(src, 40, seed=12)
    run([exe, "copy", str(src), "sw:down-rc"], env=env)
    assert "0 differences found" in run([exe, "check", str(src), "sw:down-rc"], env=env).stderr
    data = (src / "top-0000.txt").read_bytes()
    got = run([exe, "cat", "sw:down-rc/top-0000.txt"], env=env, text=False).stdout
    assert hashlib.md5(got).digest() == hashlib.md5(data).digest()
    run([exe, "purge", "sw:down-rc"], env=env)
