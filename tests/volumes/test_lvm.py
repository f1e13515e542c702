"""The LVM backend: what lvm2 can do here (PV/VG on a loop device) and clear errors without device-mapper.

Creating LVs needs the kernel's device-mapper; the end-to-end test runs only where it exists.
"""

from __future__ import annotations

import os
import subprocess
import uuid

import pytest

from tests.conftest import require_tool
from volumes.backends.lvm import LvmBackend, device_mapper_available, run_lvm
from volumes.errors import BackendUnavailable


@pytest.fixture
def volume_group(tmp_path):
    """A VG on a loop device backed by a sparse file (removed afterwards)."""
    for tool in ("losetup", "pvcreate", "vgcreate"):
        require_tool(tool)
    if os.geteuid() != 0:
        pytest.fail("the LVM tests need root (loop devices)")
    img = tmp_path / "pv.img"
    with open(img, "wb") as fh:
        fh.truncate(256 * 1024**2)
    loop = subprocess.run(["losetup", "-f", "--show", str(img)], capture_output=True, text=True, check=True)
    dev = loop.stdout.strip()
    vg = f"sstest-{uuid.uuid4().hex[:8]}"
    try:
        run_lvm("pvcreate", "-y", dev)
        run_lvm("vgcreate", vg, dev)
        yield vg
    finally:
        subprocess.run(["vgremove", "-f", vg], capture_output=True)
        subprocess.run(["pvremove", "-y", dev], capture_output=True)
        subprocess.run(["losetup", "-d", dev], capture_output=True)


def test_volume_group_on_loop_device(volume_group):
    out = run_lvm("vgs", "--noheadings", "-o", "vg_name,vg_size", "--units", "m", volume_group)
    assert volume_group in out


def test_backend_unavailable_without_device_mapper(volume_group, monkeypatch):
    monkeypatch.setattr("volumes.backends.lvm.device_mapper_available", lambda: False)
    backend = LvmBackend(volume_group)
    with pytest.raises(BackendUnavailable, match="device-mapper"):
        backend.check()
    with pytest.raises(BackendUnavailable, match="device-mapper"):
        backend.create(str(uuid.uuid4()), 1)
    if not device_mapper_available():  # and lvm2 itself refuses to create an LV here
        with pytest.raises(Exception, match="device-mapper"):
            run_lvm("lvcreate", "-y", "-L", "8m", "-n", "probe", volume_group)


@pytest.mark.skipif(not device_mapper_available(), reason="no device-mapper (/dev/mapper/control missing)")
@pytest.mark.parametrize("lvm_type", ["default", "thin"])
def test_lvm_end_to_end(volume_group, lvm_type):
    backend = LvmBackend(volume_group, lvm_type)
    backend.check()
    vid, sid, cid = (str(uuid.uuid4()) for _ in range(3))
    if lvm_type == "thin":
        backend.create(vid, 1)  # thin: virtual size, no space needed up front
    else:  # a 256 MiB VG has no room for 1 GiB thick LVs: same command, smaller size
        run_lvm("lvcreate", "-y", "-L", "16m", "-n", f"volume-{vid}", volume_group)
    with open(backend.path(vid), "r+b") as fh:
        fh.write(b"\x5a" * 4096)
    backend.create_snapshot(sid, vid, 1 if lvm_type == "thin" else 0)
    backend.clone(cid, vid, 1)
    with open(backend.path(cid), "rb") as fh:
        assert fh.read(4096) == b"\x5a" * 4096
    backend.delete_snapshot(sid, vid)
    backend.delete(cid)
    backend.delete(vid)
    assert not backend._lv_exists(f"volume-{vid}")
