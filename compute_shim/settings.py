"""The ``[compute]`` configuration section, resolved against the cluster's data dir."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apiservice.urls import service_url


@dataclass
class Settings:
    data_dir: Path
    public_url: str
    database_url: str
    volumes_url: str  # Cinder base, http://host:port (``/v3/<project>`` is appended)
    images_url: str  # Glance base, http://host:port
    host: str  # this compute host's name (connector ``host``, server ``OS-EXT-SRV-ATTR:host``)
    my_ip: str  # connector ``ip``
    initiator: str  # iSCSI initiator IQN; empty: /etc/iscsi/initiatorname.iscsi or a generated one
    availability_zone: str
    driver: str
    build_delay: float  # seconds a new server stays in BUILD (null driver)
    iscsi_timeout: float

    @classmethod
    def from_conf(cls, conf: Any) -> Settings:
        sec = conf.get("compute", {}) or {}
        data_dir = Path(conf["cluster"]["data_dir"]).resolve()
        return cls(data_dir=data_dir, public_url=service_url(conf, "compute", 8774),
                   database_url=sec.get("database_url") or f"sqlite:///{data_dir / 'compute.sqlite'}",
                   volumes_url=str(sec.get("volumes_url") or service_url(conf, "volumes", 8776)).rstrip("/"),
                   images_url=str(sec.get("images_url") or service_url(conf, "images", 9292)).rstrip("/"),
                   host=str(sec.get("host_name") or socket.gethostname()),
                   my_ip=str(sec.get("my_ip") or sec.get("host", "127.0.0.1")),
                   initiator=str(sec.get("initiator", "")),
                   availability_zone=str(sec.get("availability_zone", "nova")),
                   driver=str(sec.get("driver", "null")), build_delay=float(sec.get("build_delay", 0.3)),
                   iscsi_timeout=float(sec.get("iscsi_timeout", 30.0)))
