"""The ``[volumes]`` configuration section with its defaults resolved against the cluster's data dir."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_QUOTAS = {"volumes": 10, "snapshots": 10, "gigabytes": 1000, "backups": 10,
                  "backup_gigabytes": 1000, "per_volume_gigabytes": -1, "groups": 10}


@dataclass
class Settings:
    """Everything the volumes service reads from configuration."""

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8776
    public_endpoint: str = ""
    database_url: str = ""
    file_dir: str = ""
    auth_strategy: str = "keystone"  # "keystone" (identity JWTs) or "noauth" (X-Auth-Token user:project)
    default_backend: str = "file"
    enabled_backends: list[str] = field(default_factory=lambda: ["file"])
    lvm_vg: str = "stackstore-volumes"
    lvm_type: str = "default"  # "default" (thick) or "thin"
    lvm_thin_pool: str = "stackstore-pool"
    iscsi_ip: str = "127.0.0.1"
    iscsi_port: int = 3260
    tgt_control_port: int = 0
    start_tgtd: bool = True
    manager_workers: int = 4
    backup_chunk_size: int = 8 * 1024 * 1024
    backup_workers: int = 4
    backup_container: str = "volumebackups"
    quotas: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_QUOTAS))

    @property
    def volumes_dir(self) -> Path:
        """Where the file backend keeps volumes and the target helper its records."""
        return Path(self.file_dir).resolve() if self.file_dir else self.data_dir / "volumes"

    @classmethod
    def from_config(cls, conf: Any) -> Settings:
        section = dict(conf.get("volumes", {}))
        known = {k: v for k, v in section.items() if k in cls.__dataclass_fields__ and k != "data_dir"}
        settings = cls(data_dir=Path(conf["cluster"]["data_dir"]).resolve(), **known)
        if isinstance(settings.enabled_backends, str):
            settings.enabled_backends = [b.strip() for b in settings.enabled_backends.split(",") if b.strip()]
        settings.quotas = {**DEFAULT_QUOTAS, **(settings.quotas or {})}
        settings.database_url = settings.database_url or f"sqlite:///{settings.data_dir / 'volumes.sqlite'}"
        return settings
