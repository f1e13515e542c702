"""The ``[images]`` configuration section, resolved against the cluster's data dir."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apiservice.urls import service_url


@dataclass
class Settings:
    data_dir: Path
    public_url: str
    database_url: str
    account: str  # object-store account that holds every image's bytes (not reachable by users)
    container: str
    max_image_size: int  # bytes; larger uploads get 413
    chunk_size: int

    @classmethod
    def from_conf(cls, conf: Any) -> Settings:
        sec = conf.get("images", {}) or {}
        data_dir = Path(conf["cluster"]["data_dir"]).resolve()
        return cls(data_dir=data_dir, public_url=service_url(conf, "images", 9292),
                   database_url=sec.get("database_url") or f"sqlite:///{data_dir / 'images.sqlite'}",
                   account=str(sec.get("account", ".images")), container=str(sec.get("container", "glance")),
                   max_image_size=int(sec.get("max_image_size", 5 * 1024**3)),
                   chunk_size=int(sec.get("chunk_size", 65536)))
