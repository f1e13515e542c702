"""Sparse raw files under ``<data_dir>/volumes/``; snapshots and clones are reflink copies where the
filesystem supports them (btrfs, XFS) and sparse full copies elsewhere."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from stackstore.durable_files import fsync_dir
from volumes.backends.base import Backend, GiB
from volumes.errors import BackendError


class FileBackend(Backend):
    name = "file"

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, volume_id: str) -> str:
        return str(self.root / f"volume-{volume_id}")

    def snapshot_path(self, snapshot_id: str) -> str:
        return str(self.root / f"snapshot-{snapshot_id}")

    def create(self, volume_id: str, size_gb: int) -> None:
        self._sized(self.path(volume_id), size_gb, fresh=True)
        fsync_dir(str(self.root))

    def delete(self, volume_id: str) -> None:
        _unlink(self.path(volume_id))

    def extend(self, volume_id: str, size_gb: int) -> None:
        self._sized(self.path(volume_id), size_gb)

    def create_snapshot(self, snapshot_id: str, volume_id: str, size_gb: int) -> None:
        copy_file(self.path(volume_id), self.snapshot_path(snapshot_id))

    def delete_snapshot(self, snapshot_id: str, volume_id: str) -> None:
        _unlink(self.snapshot_path(snapshot_id))

    def create_from_snapshot(self, volume_id: str, snapshot_id: str, size_gb: int) -> None:
        copy_file(self.snapshot_path(snapshot_id), self.path(volume_id))
        self._sized(self.path(volume_id), size_gb)

    def clone(self, volume_id: str, source_id: str, size_gb: int) -> None:
        copy_file(self.path(source_id), self.path(volume_id))
        self._sized(self.path(volume_id), size_gb)

    @staticmethod
    def _sized(path: str, size_gb: int, fresh: bool = False) -> None:
        """Create (``fresh``: empty) or grow a sparse file to ``size_gb`` GiB; never shrinks."""
        fd = os.open(path, os.O_RDWR | os.O_CREAT | (os.O_TRUNC if fresh else 0), 0o600)
        try:
            if os.fstat(fd).st_size < size_gb * GiB:
                os.ftruncate(fd, size_gb * GiB)
            os.fsync(fd)
        finally:
            os.close(fd)


def copy_file(src: str, dst: str) -> None:
    """Reflink when possible (``cp --reflink=auto``), else a sparse copy; atomic via a temp name."""
    tmp = dst + ".part"
    proc = subprocess.run(["cp", "--reflink=auto", "--sparse=always", src, tmp], capture_output=True,
                          text=True)
    if proc.returncode != 0:
        _unlink(tmp)
        raise BackendError(f"copy {src} failed: {proc.stderr.strip()}")
    try:
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, dst)
    except OSError:
        _unlink(tmp)
        raise
    fsync_dir(os.path.dirname(dst))


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
