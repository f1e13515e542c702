"""Volume backends by name: ``file`` (sparse raw files, reflink copies) and ``lvm`` (lvm2 on a VG)."""

from __future__ import annotations

from volumes.backends.base import Backend
from volumes.settings import Settings


def build_backends(settings: Settings) -> dict[str, Backend]:
    """One instance per enabled backend name."""
    out: dict[str, Backend] = {}
    for name in dict.fromkeys([settings.default_backend, *settings.enabled_backends]):
        if name == "file":
            from volumes.backends.file import FileBackend

            out[name] = FileBackend(settings.volumes_dir)
        elif name == "lvm":
            from volumes.backends.lvm import LvmBackend

            out[name] = LvmBackend(settings.lvm_vg, settings.lvm_type, settings.lvm_thin_pool)
        else:
            raise ValueError(f"unknown volume backend {name!r}")
    return out
