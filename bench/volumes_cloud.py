"""A throwaway cloud for ``bench.volumes --mkfs``: a sparse filesystem image loop-mounted as the file
backend's ``[volumes] file_dir``, ``stackstore up`` on its own ports and data dir, all torn down afterwards.

Needs root (mount, tgtd). Ports default to a 94xx block that neither the test suite (10000-30000) nor
the defaults use.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MKFS = {
    "xfs": ["mkfs.xfs", "-q", "-f", "-m", "reflink=1"],
    "btrfs": ["mkfs.btrfs", "-q", "-f"],
    # inode tables and journal initialised now: no ext4lazyinit writing in the background while measuring
    "ext4": ["mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0"],
}


@dataclass
class CloudPorts:
    """Every listening port of the cloud, derived from one base (tgtd's control port is a socket name)."""

    base: int = 9400

    def env(self) -> dict[str, str]:
        b = self.base
        ports = {"IDENTITY_PORT": b, "STORE_BASE_PORT": b + 10, "TGT_CONTROL_PORT": b + 19,
                 "VOLUMES_ISCSI_PORT": b + 60, "COMPUTE_PORT": b + 74, "VOLUMES_PORT": b + 76,
                 "PROXY_PORT": b + 80, "PROXY_TLS_PORT": b + 43, "IMAGES_PORT": b + 92}
        return {f"STACKSTORE_{key}": str(port) for key, port in ports.items()}


def run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, text=True)


@contextlib.contextmanager
def loop_filesystem(fs: str, image: Path, size: str, mountpoint: Path) -> Iterator[Path]:
    """A fresh ``fs`` on a sparse ``size`` image, mounted at ``mountpoint`` for the duration."""
    if fs not in MKFS:
        raise ValueError(f"--mkfs must be one of {', '.join(MKFS)}")
    image.parent.mkdir(parents=True, exist_ok=True)
    run("truncate", "-s", size, str(image))
    try:
        run(*MKFS[fs], str(image))
        # direct I/O: the image's pages are not cached a second time in the host's page cache, so the
        # loop device behaves like a disk and an evicted volume file is really read from the disk
        device = subprocess.run(["losetup", "--direct-io=on", "--find", "--show", str(image)], check=True,
                                capture_output=True, text=True).stdout.strip()
        try:
            mountpoint.mkdir(parents=True, exist_ok=True)
            run("mount", device, str(mountpoint))
            try:
                yield mountpoint
            finally:
                unmount(mountpoint)
        finally:
            subprocess.run(["losetup", "-d", device], capture_output=True)
    finally:
        image.unlink(missing_ok=True)


def unmount(mountpoint: Path, attempts: int = 20) -> None:
    """Unmount, retrying while a just-stopped tgtd still holds files."""
    for _ in range(attempts):
        if subprocess.run(["umount", str(mountpoint)], capture_output=True).returncode == 0:
            return
        time.sleep(0.5)
    print(f"bench: could not unmount {mountpoint}; run `umount {mountpoint}`", file=sys.stderr)


@contextlib.contextmanager
def stackstore_up(data_dir: Path, file_dir: Path, ports: CloudPorts, log: Path, timeout: float = 180) -> Iterator[Path]:
    """``stackstore up`` with ``file_dir`` as the volume directory; yields its clouds.yaml, SIGTERMs it after."""
    env = {**os.environ, **ports.env(), "STACKSTORE_CLUSTER_DATA_DIR": str(data_dir),
           "STACKSTORE_VOLUMES_FILE_DIR": str(file_dir)}
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(REPO / ".venv/bin/stackstore"), "up"], stdout=out, stderr=subprocess.STDOUT,
                                env=env, cwd=REPO)
    try:
        wait_ready(proc, log, timeout)
        yield data_dir / "clouds.yaml"
    finally:
        stop(proc)


def wait_ready(proc: subprocess.Popen, log: Path, timeout: float) -> None:
    """Until ``stackstore up`` prints its ready line; RuntimeError if it exits or takes too long."""
    deadline = time.monotonic() + timeout
    while "stackstore up:" not in log.read_text(errors="replace"):
        if proc.poll() is not None:
            raise RuntimeError(f"stackstore up exited with {proc.returncode}: {log.read_text()[-2000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"stackstore up not ready after {timeout}s; see {log}")
        time.sleep(0.2)


def stop(proc: subprocess.Popen, timeout: float = 60) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def bench_cloud(fs: str, workdir: Path, image_size: str, ports: CloudPorts) -> Iterator[tuple[Path, Path]]:
    """(clouds.yaml, file_dir) of a cloud whose volumes live on a fresh loop-mounted ``fs``; all removed after."""
    if os.geteuid() != 0:
        raise SystemExit("--mkfs needs root (mount, tgtd)")
    run_dir = workdir / f"run-{fs}"
    shutil.rmtree(run_dir, ignore_errors=True)
    try:
        with loop_filesystem(fs, run_dir / f"{fs}.img", image_size, run_dir / "mnt") as mnt:
            file_dir = mnt / "volumes"
            with stackstore_up(run_dir / "data", file_dir, ports, workdir / f"stackstore-up-{fs}.log") as clouds:
                yield clouds, file_dir
    finally:
        if not os.path.ismount(run_dir / "mnt"):
            shutil.rmtree(run_dir, ignore_errors=True)
