"""python-swiftclient's `swift` command against the cloud, as a user would run it."""

from __future__ import annotations

import hashlib

import pytest

from tests.clients.helpers import make_tree, run, tree_md5s
from tests.conftest import require_tool

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def swift(cluster):
    exe = require_tool("swift")

    def call(*args: str, check: bool = True):
        return run([exe, "-A", f"{cluster.proxy_url}/auth/v1.0", "-U", "test:tester", "-K", "testing",
                    *args], check=check)

    return call


def test_stat_and_post_metadata(swift):
    out = swift("stat").stdout
    assert "Account: AUTH_test" in out
    swift("post", "cli-meta", "-m", "color:blue", "-r", ".r:*,.rlistings")
    out = swift("stat", "cli-meta").stdout
    assert "Meta Color: blue" in out
    assert "Read ACL: .r:*,.rlistings" in out


def test_upload_tree_list_download_delete(swift, tmp_path):
    src = tmp_path / "src"
    sums = make_tree(src, 40)
    swift("upload", "cli-tree", str(src), "--object-name", "tree")
    names = swift("list", "cli-tree").stdout.split()
    assert sorted(names) == sorted(f"tree/{rel}" for rel in sums)
    assert swift("list", "cli-tree", "--prefix", "tree/d1/").stdout.split() == sorted(
        f"tree/{rel}" for rel in sums if rel.startswith("d1/"))
    top = swift("list", "cli-tree", "--prefix", "tree/", "--delimiter", "/").stdout.split()
    assert {"tree/d0/", "tree/d1/"} <= set(top)
    assert all(n.endswith("/") or n.count("/") == 1 for n in top)
    long_listing = swift("list", "--lh", "cli-tree").stdout
    assert "tree/top-0000.txt" in long_listing
    dest = tmp_path / "dest"
    swift("download", "cli-tree", "-D", str(dest), "--prefix", "tree/", "--remove-prefix")
    assert tree_md5s(dest) == sums
    swift("delete", "cli-tree")
    assert swift("list", "cli-tree", check=False).returncode != 0  # container gone


@pytest.mark.parametrize("mode", ["slo", "dlo"])
def test_segmented_30mib_upload_roundtrip(swift, tmp_path, mode):
    src = tmp_path / "big.bin"
    sums = make_tree(tmp_path / "x", 0, seed=3, big={"big.bin": 30 * MiB})
    (tmp_path / "x" / "big.bin").rename(src)
    cont = f"cli-{mode}"
    extra = ["--use-slo"] if mode == "slo" else ["--use-dlo"]
    swift("upload", cont, str(src), "--object-name", "big.bin", "--segment-size", "5M", *extra)
    stat = swift("stat", cont, "big.bin").stdout
    assert "Content Length: 31457280" in stat
    assert ("Manifest:" in stat) == (mode == "dlo")
    segs = swift("list", f"{cont}_segments").stdout.split()
    assert len(segs) == 6
    out = tmp_path / "out.bin"
    swift("download", cont, "big.bin", "-o", str(out))
    assert hashlib.md5(out.read_bytes()).hexdigest() == sums["big.bin"]
    swift("delete", cont, "big.bin")
    assert swift("list", f"{cont}_segments").stdout.split() == []


def test_delete_all(cluster, tmp_path):
    """`swift delete --all` empties an account (its own account: the cluster is shared)."""
    exe = require_tool("swift")
    auth = ["-A", f"{cluster.proxy_url}/auth/v1.0", "-U", "test5:tester5", "-K", "testing5"]
    src = tmp_path / "s"
    make_tree(src, 25)
    run([exe, *auth, "upload", "cli-all-1", str(src), "--object-name", "a"])
    run([exe, *auth, "upload", "cli-all-2", str(src), "--object-name", "b"])
    assert run([exe, *auth, "list"]).stdout.split() == ["cli-all-1", "cli-all-2"]
    run([exe, *auth, "delete", "--all"])
    assert run([exe, *auth, "list"]).stdout.split() == []
