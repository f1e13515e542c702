"""The file backend's snapshots and clones are reflinks on XFS and btrfs (shared extents, no new space,
copy-on-write afterwards) and sparse full copies on ext4. Each filesystem is a small loop-mounted image
(root, mkfs.* and loop devices needed)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster import Cluster
from tests.conftest import missing_prerequisite, require_tool
from tests.volumes.conftest import VolumesClient
from volumes.backends.file import FileBackend

MiB = 1024 * 1024
MKFS = {"xfs": ["mkfs.xfs", "-q", "-m", "reflink=1"], "btrfs": ["mkfs.btrfs", "-q"], "ext4": ["mkfs.ext4", "-q", "-F"]}
# known data at two places of a 1 GiB volume, the rest is a hole
ORIGINAL = {0: os.urandom(16 * MiB), 600 * MiB: os.urandom(8 * MiB)}
DATA_SIZE = sum(len(d) for d in ORIGINAL.values())
OVERWRITE = {4 * MiB: os.urandom(MiB), 600 * MiB: os.urandom(MiB)}

FS_IOC_FIEMAP = 0xC020660B
FIEMAP_FLAG_SYNC = 0x1
FIEMAP_EXTENT_LAST = 0x1
FIEMAP_EXTENT_SHARED = 0x2000
FIEMAP_HEADER = struct.Struct("=QQIIII")  # fm_start, fm_length, fm_flags, fm_mapped_extents, fm_extent_count
FIEMAP_EXTENT = struct.Struct("=QQQ16xI12x")  # fe_logical, fe_physical, fe_length, fe_flags
FIEMAP_BATCH = 64


def fiemap(path: str | Path) -> list[tuple[int, int, int, int]]:
    """(logical, physical, length, flags) of every extent of ``path``, via the FIEMAP ioctl."""
    extents: list[tuple[int, int, int, int]] = []
    start = 0
    with open(path, "rb") as fh:
        while True:
            buf = bytearray(FIEMAP_HEADER.size + FIEMAP_EXTENT.size * FIEMAP_BATCH)
            FIEMAP_HEADER.pack_into(buf, 0, start, 2**64 - 1, FIEMAP_FLAG_SYNC, 0, FIEMAP_BATCH, 0)
            fcntl.ioctl(fh.fileno(), FS_IOC_FIEMAP, buf)
            mapped = FIEMAP_HEADER.unpack_from(buf)[3]
            batch = [FIEMAP_EXTENT.unpack_from(buf, FIEMAP_HEADER.size + i * FIEMAP_EXTENT.size)
                     for i in range(mapped)]
            extents += batch
            if not batch or batch[-1][3] & FIEMAP_EXTENT_LAST:
                return extents
            start = batch[-1][0] + batch[-1][2]


def block_map(path: str | Path, block: int = 4096) -> dict[int, int]:
    """Logical offset → physical offset of every mapped block: equal maps mean the very same blocks."""
    return {lo + i: ph + i for lo, ph, length, _ in fiemap(path) for i in range(0, length, block)}


def shared_bytes(path: str | Path) -> int:
    return sum(length for _, _, length, flags in fiemap(path) if flags & FIEMAP_EXTENT_SHARED)


def used_bytes(mount: Path) -> int:
    os.sync()  # btrfs accounts space at transaction commit
    st = os.statvfs(mount)
    return (st.f_blocks - st.f_bfree) * st.f_frsize


def write_at(path: str, chunks: dict[int, bytes]) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        for offset, data in chunks.items():
            os.pwrite(fd, data, offset)
        os.fsync(fd)
    finally:
        os.close(fd)


def read_at(path: str, chunks: dict[int, bytes]) -> dict[int, bytes]:
    """The bytes of ``path`` at the offsets and lengths of ``chunks``."""
    with open(path, "rb") as fh:
        return {offset: os.pread(fh.fileno(), len(data), offset) for offset, data in chunks.items()}


@contextlib.contextmanager
def loop_mount(fstype: str, tmp: Path, size: str = "400M") -> Iterator[Path]:
    """A fresh ``fstype`` on a sparse image in ``tmp``, loop-mounted for the duration."""
    if os.geteuid() != 0:
        missing_prerequisite("root, to loop-mount test filesystems")
    require_tool(MKFS[fstype][0])
    image, mount = tmp / f"{fstype}.img", tmp / f"{fstype}-mnt"
    mount.mkdir()
    subprocess.run(["truncate", "-s", size, str(image)], check=True)
    subprocess.run([*MKFS[fstype], str(image)], check=True, capture_output=True)
    proc = subprocess.run(["mount", "-o", "loop", "-t", fstype, str(image), str(mount)], capture_output=True,
                          text=True)
    if proc.returncode:
        missing_prerequisite(f"loop mount of {fstype}: {proc.stderr.strip()}")
    try:
        yield mount
    finally:
        if subprocess.run(["umount", str(mount)], capture_output=True).returncode:
            subprocess.run(["umount", "-l", str(mount)], check=False)
        image.unlink(missing_ok=True)


@pytest.fixture(params=["xfs", "btrfs"])
def reflink_fs(request, tmp_path) -> Iterator[Path]:
    with loop_mount(request.param, tmp_path) as mount:
        yield mount


@pytest.fixture
def ext4(tmp_path) -> Iterator[Path]:
    with loop_mount("ext4", tmp_path) as mount:
        yield mount


def snapshot_and_clones(backend: FileBackend) -> list[str]:
    """From volume ``src``: snapshot ``snap``, clone ``clone`` and volume ``restored`` (2 GiB) from ``snap``."""
    backend.create_snapshot("snap", "src", 1)
    backend.clone("clone", "src", 1)
    backend.create_from_snapshot("restored", "snap", 2)
    return [backend.snapshot_path("snap"), backend.path("clone"), backend.path("restored")]


def source_volume(mount: Path) -> tuple[FileBackend, str]:
    """Volume ``src`` of 1 GiB holding ``ORIGINAL``."""
    backend = FileBackend(mount / "volumes")
    backend.create("src", 1)
    empty = used_bytes(mount)
    write_at(backend.path("src"), ORIGINAL)
    assert used_bytes(mount) - empty >= DATA_SIZE  # the space measure sees data, so "no growth" means something
    return backend, backend.path("src")


def test_snapshot_and_clones_are_reflinks(reflink_fs):
    backend, src = source_volume(reflink_fs)
    src_blocks = block_map(src)
    assert len(src_blocks) * 4096 == DATA_SIZE  # only the written data is allocated
    before = used_bytes(reflink_fs)
    copies = snapshot_and_clones(backend)
    assert used_bytes(reflink_fs) - before < DATA_SIZE // 4, "the copies took new space"
    for copy in copies:
        assert read_at(copy, ORIGINAL) == ORIGINAL
        assert block_map(copy) == src_blocks, f"{copy} does not map the source's blocks"
        assert shared_bytes(copy) == DATA_SIZE
    assert os.path.getsize(copies[2]) == 2 * 1024 * MiB

    write_at(src, OVERWRITE)  # copy-on-write: the source gets new blocks, the copies keep the old ones
    assert read_at(src, OVERWRITE) == OVERWRITE
    for copy in copies:
        assert read_at(copy, ORIGINAL) == ORIGINAL
        assert block_map(copy) == src_blocks
    moved = [off for off in OVERWRITE if block_map(src)[off] != src_blocks[off]]
    assert moved == list(OVERWRITE), "the overwrite went into blocks the copies share"


def test_full_sparse_copies_without_reflink(ext4):
    backend, src = source_volume(ext4)
    before = used_bytes(ext4)
    copies = snapshot_and_clones(backend)
    grown = used_bytes(ext4) - before
    assert 3 * DATA_SIZE <= grown < 3 * DATA_SIZE + 8 * MiB, "copies not full, or holes filled in"
    src_physical = set(block_map(src).values())
    for copy in copies:
        assert read_at(copy, ORIGINAL) == ORIGINAL
        assert shared_bytes(copy) == 0
        assert not src_physical & set(block_map(copy).values())
    write_at(src, OVERWRITE)
    for copy in copies:
        assert read_at(copy, ORIGINAL) == ORIGINAL


def test_service_snapshots_and_clones_share_blocks_on_xfs(tmp_path):
    """Through the API, with ``[volumes] file_dir`` on XFS: the files under the mount share the blocks."""
    with loop_mount("xfs", tmp_path) as mount:
        cluster = Cluster(tmp_path / "cloud", nodes=3, volumes={"file_dir": str(mount), "start_tgtd": False},
                          compute={"enabled": False}, images={"enabled": False})
        try:
            cluster.start()
            client = VolumesClient(cluster, "stackstore")
            vol = client.create_volume(1)
            assert vol["status"] == "available"
            src = mount / f"volume-{vol['id']}"
            write_at(str(src), ORIGINAL)  # what a guest would have written through the iSCSI target
            snap = client.post("/snapshots", json={"snapshot": {"volume_id": vol["id"]}}).json()["snapshot"]
            assert client.wait("snapshot", snap["id"], "available", "error")["status"] == "available"
            clone = client.create_volume(None, source_volid=vol["id"])
            restored = client.create_volume(1, snapshot_id=snap["id"])
            assert clone["status"] == restored["status"] == "available"
            copies = [mount / f"snapshot-{snap['id']}", mount / f"volume-{clone['id']}",
                      mount / f"volume-{restored['id']}"]
            src_blocks = block_map(src)
            for copy in copies:
                assert block_map(copy) == src_blocks, f"{copy.name} does not map the source's blocks"
                assert shared_bytes(copy) == DATA_SIZE
        finally:
            cluster.stop()
