"""lvm2 on a configured volume group: thick LVs (``lvm_type=default``) or thin LVs in a pool (``thin``).

LV names follow Cinder: ``volume-<id>`` and ``_snapshot-<id>``. Creating or activating LVs needs the
kernel's device-mapper; without ``/dev/mapper/control`` every call fails with BackendUnavailable.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from volumes.backends.base import Backend
from volumes.errors import BackendError, BackendUnavailable

DM_CONTROL = "/dev/mapper/control"


def device_mapper_available() -> bool:
    """The control node exists and the kernel really has device-mapper (installing lvm2 may create a
    stale node on kernels without it)."""
    if not os.path.exists(DM_CONTROL):
        return False
    try:
        with open("/proc/misc") as fh:
            return "device-mapper" in fh.read()
    except OSError:
        return True


def run_lvm(*args: str) -> str:
    """Run one lvm2 command; BackendError with its stderr on failure."""
    proc = subprocess.run(list(args), capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"})
    if proc.returncode != 0:
        raise BackendError(f"{' '.join(args[:2])} failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


class LvmBackend(Backend):
    name = "lvm"

    def __init__(self, vg: str, lvm_type: str = "default", thin_pool: str = "stackstore-pool"):
        self.vg = vg
        self.thin = lvm_type == "thin"
        self.pool = thin_pool

    # -- availability ---------------------------------------------------------------------------
    def check(self) -> None:
        if not shutil.which("lvcreate"):
            raise BackendUnavailable("LVM backend unavailable: lvm2 is not installed")
        if not device_mapper_available():
            raise BackendUnavailable(f"LVM backend unavailable: no device-mapper ({DM_CONTROL} missing or "
                                     "not backed by the kernel)")
        try:
            run_lvm("vgs", "--noheadings", "-o", "vg_name", self.vg)
        except BackendError as exc:
            raise BackendUnavailable(f"LVM backend unavailable: volume group {self.vg}: {exc}") from None
        if self.thin:
            self._ensure_pool()

    def _ensure_pool(self) -> None:
        if not self._lv_exists(self.pool):
            run_lvm("lvcreate", "-y", "--type", "thin-pool", "-l", "90%FREE", "-n", self.pool, self.vg)

    def _lv_exists(self, lv: str) -> bool:
        proc = subprocess.run(["lvs", "--noheadings", f"{self.vg}/{lv}"], capture_output=True)
        return proc.returncode == 0

    # -- names ----------------------------------------------------------------------------------
    def path(self, volume_id: str) -> str:
        return f"/dev/{self.vg}/volume-{volume_id}"

    @staticmethod
    def _snap(snapshot_id: str) -> str:
        return f"_snapshot-{snapshot_id}"

    # -- operations -----------------------------------------------------------------------------
    def _create_lv(self, lv: str, size_gb: int) -> None:
        if self._lv_exists(lv):
            return
        if self.thin:
            run_lvm("lvcreate", "-y", "-T", "-V", f"{size_gb}g", "-n", lv, f"{self.vg}/{self.pool}")
        else:
            run_lvm("lvcreate", "-y", "-L", f"{size_gb}g", "-n", lv, self.vg)

    def create(self, volume_id: str, size_gb: int) -> None:
        self.check()
        self._create_lv(f"volume-{volume_id}", size_gb)

    def delete(self, volume_id: str) -> None:
        self._remove(f"volume-{volume_id}")

    def _remove(self, lv: str) -> None:
        if self._lv_exists(lv):
            self.check()
            run_lvm("lvremove", "-f", f"{self.vg}/{lv}")

    def extend(self, volume_id: str, size_gb: int) -> None:
        self.check()
        size = run_lvm("lvs", "--noheadings", "--units", "g", "--nosuffix", "-o", "lv_size",
                       f"{self.vg}/volume-{volume_id}").strip()
        if float(size) < size_gb:
            run_lvm("lvextend", "-L", f"{size_gb}g", f"{self.vg}/volume-{volume_id}")

    def create_snapshot(self, snapshot_id: str, volume_id: str, size_gb: int) -> None:
        self.check()
        lv = self._snap(snapshot_id)
        if self._lv_exists(lv):
            return
        if self.thin:
            run_lvm("lvcreate", "-y", "-s", "-n", lv, f"{self.vg}/volume-{volume_id}")
            run_lvm("lvchange", "-ay", "-K", f"{self.vg}/{lv}")
        else:
            run_lvm("lvcreate", "-y", "-s", "-L", f"{size_gb}g", "-n", lv, f"{self.vg}/volume-{volume_id}")

    def delete_snapshot(self, snapshot_id: str, volume_id: str) -> None:
        self._remove(self._snap(snapshot_id))

    def create_from_snapshot(self, volume_id: str, snapshot_id: str, size_gb: int) -> None:
        self.check()
        self._copy_into(f"/dev/{self.vg}/{self._snap(snapshot_id)}", volume_id, size_gb)

    def clone(self, volume_id: str, source_id: str, size_gb: int) -> None:
        self.check()
        self._copy_into(self.path(source_id), volume_id, size_gb)

    def _copy_into(self, src: str, volume_id: str, size_gb: int) -> None:
        self._create_lv(f"volume-{volume_id}", size_gb)
        conv = "conv=sparse,fdatasync" if self.thin else "conv=fdatasync"
        run_lvm("dd", f"if={src}", f"of={self.path(volume_id)}", "bs=1M", conv, "status=none")
