"""A full device: its node answers 507, the proxy writes to a handoff, nothing partial is listed
or served. Node 2's device is a small loop-mounted ext4 filled to ~1.5 MB free (root needed);
without root, node 2 runs with a huge ``fallocate_reserve`` instead (the chunked case then skips)."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid

import httpx
import pytest

from tests import ondisk
from tests.conftest import missing_prerequisite
from tests.durability.bg_helpers import Layout, Swift, start_cluster, wait_for

FULL = 2  # the node whose device fills up
LEFT_FREE = 1536 * 1024
BIG = os.urandom(4 * 1024 * 1024)


def _mount_small_fs(device_dir, image) -> bool:
    """Mount a 64 MiB ext4 on ``device_dir`` and fill it; False when this host cannot."""
    if os.geteuid() != 0 or not shutil.which("mkfs.ext4"):
        return False
    subprocess.run(["truncate", "-s", "64M", str(image)], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-m", "0", str(image)], check=True, capture_output=True)
    if subprocess.run(["mount", "-o", "loop", str(image), str(device_dir)], capture_output=True).returncode:
        return False
    st = os.statvfs(device_dir)
    fd = os.open(device_dir / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        os.posix_fallocate(fd, 0, st.f_bavail * st.f_frsize - LEFT_FREE)
    finally:
        os.close(fd)
    return True


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fulldev")
    image = tmp / "small.img"
    state = {"loop": False}

    def prepare(c) -> None:
        device_dir = c.node_devices_root(FULL) / c.cloud.device_names(FULL)[0]
        state["loop"] = _mount_small_fs(device_dir, image)
        state["dir"] = device_dir

    c = start_cluster(tmp / "cloud", prepare=prepare)
    try:
        if not state["loop"]:  # per-node override: node 2 alone keeps a reserve bigger than its disk
            c.stop_node(FULL)
            svc = c.cloud.services[f"node{FULL}"]
            svc.start(env={**os.environ, "STACKSTORE_STORE_FALLOCATE_RESERVE": str(1 << 62)})
            c.cloud.wait_healthy([svc.name])
        yield c, state["loop"]
    finally:
        c.stop()
        if state["loop"]:
            subprocess.run(["umount", str(state["dir"])], check=False)
            if os.path.ismount(state["dir"]):
                subprocess.run(["umount", "-l", str(state["dir"])], check=False)


def _names_on_full_node(swift: Swift, layout: Layout, container: str, count: int) -> list[str]:
    """Object names with the full node among their primaries."""
    names = []
    for i in range(10_000):
        name = f"big-{i}"
        devs = layout.object.get_nodes(swift.account, container, name)[1]
        if FULL in [layout.node_index(d) for d in devs]:
            names.append(name)
            if len(names) == count:
                return names
    raise AssertionError("no such names")


def _container_off_full_node(layout: Layout, account: str) -> str:
    while True:
        name = "full-" + uuid.uuid4().hex[:6]
        if FULL not in [layout.node_index(d) for d in layout.container.get_nodes(account, name)[1]]:
            return name


def _holders(layout: Layout, account: str, container: str, obj: str) -> list[int]:
    """Indexes of the nodes with a .data of ``obj`` (primaries or handoffs)."""
    out = []
    for dev in layout.object.devices:
        hdir = layout.hash_dir(dev, account, container, obj)
        if ondisk.with_ext(hdir, ".data"):
            out.append(layout.node_index(dev))
    return sorted(out)


def _assert_nothing_partial(layout: Layout, swift: Swift, container: str, obj: str, body: bytes | None) -> None:
    full_dev = next(d for d in layout.object.devices if layout.node_index(d) == FULL)
    assert not ondisk.exists(layout.hash_dir(full_dev, swift.account, container, obj))
    tmp = layout.cluster.node_devices_root(FULL) / full_dev.device / "tmp"
    assert not (list(tmp.iterdir()) if tmp.exists() else [])
    direct = httpx.get(layout.object_url(full_dev, swift.account, container, obj), timeout=10,
                       auth=layout.cluster.node_auth)
    assert direct.status_code == 404
    if body is None:  # never stored anywhere
        return
    resp = swift.get(container, obj)
    assert resp.status_code == 200 and resp.content == body

    def listed() -> list[tuple[str, int]]:
        rows = swift.http.get(swift.path(container), params={"format": "json", "prefix": obj}).json()
        found = [(r["name"], r["bytes"]) for r in rows if r["name"] == obj]
        assert found in ([], [(obj, len(body))])  # a row, if any, is the whole object
        return found

    wait_for(listed)  # row updates that timed out under load arrive through the updater


def test_chunked_put_that_runs_out_of_space(full):
    c, loop = full
    if not loop:
        missing_prerequisite("a real small filesystem (root and loop devices)")
    swift, layout = Swift(c), Layout(c)
    container = _container_off_full_node(layout, swift.account)
    assert swift.put(container).status_code in (201, 202)
    name = _names_on_full_node(swift, layout, container, 2)[1]
    body = os.urandom(6 * 1024 * 1024)

    def chunks():
        for i in range(0, len(body), 256 * 1024):
            yield body[i:i + 256 * 1024]

    # the node itself: the space check passes (no length), the writes hit ENOSPC, the temp file goes
    full_dev = next(d for d in layout.object.devices if layout.node_index(d) == FULL)
    free_before = shutil.disk_usage(layout.cluster.node_devices_root(FULL) / full_dev.device).free
    direct = httpx.put(layout.object_url(full_dev, swift.account, container, "direct-chunked"), content=chunks(),
                       headers={"X-Timestamp": "1700000000.00000"}, timeout=30, auth=layout.cluster.node_auth)
    assert direct.status_code == 507
    _assert_nothing_partial(layout, swift, container, "direct-chunked", None)
    free_after = shutil.disk_usage(layout.cluster.node_devices_root(FULL) / full_dev.device).free
    assert free_after > free_before - 256 * 1024
    # through the proxy (run first in this module, so the proxy has not error-limited the node yet)
    assert swift.put(container, name, chunks()).status_code == 201  # chunked: no length to check up front
    assert FULL not in _holders(layout, swift.account, container, name)
    _assert_nothing_partial(layout, swift, container, name, body)


def test_put_with_length_goes_to_handoff(full):
    c, _ = full
    swift, layout = Swift(c), Layout(c)
    container = _container_off_full_node(layout, swift.account)
    assert swift.put(container).status_code in (201, 202)
    (name,) = _names_on_full_node(swift, layout, container, 1)
    full_dev = next(d for d in layout.object.devices if layout.node_index(d) == FULL)
    direct = httpx.put(layout.object_url(full_dev, swift.account, container, "direct"), content=BIG,
                       headers={"X-Timestamp": "1700000000.00000"}, timeout=30, auth=layout.cluster.node_auth)
    assert direct.status_code == 507
    assert swift.put(container, name, BIG).status_code == 201
    holders = _holders(layout, swift.account, container, name)
    primaries = [layout.node_index(d) for d in layout.object.get_nodes(swift.account, container, name)[1]]
    assert FULL not in holders and len(holders) == 3
    assert set(holders) - set(primaries), "a handoff took the full node's copy"
    _assert_nothing_partial(layout, swift, container, name, BIG)
