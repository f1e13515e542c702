"""The rings as this node sees them, and which ring devices are this node's own."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ring import Device, Ring
from stackstore.config import Config
from store.layout import device_path

RING_KINDS = ("object", "container", "account")


@dataclass
class LocalView:
    """Rings loaded from ``conf.ring_dir`` (reloaded on change) plus this node's identity.

    A ring device is local when its directory exists under ``devices_root`` and, if the node knows
    the address it serves (``[store] node_port``, set by ``store.server.main``), its ip/port match.
    """

    conf: Config
    devices_root: str
    hash_suffix: str

    def __post_init__(self) -> None:
        self._rings: dict[str, Ring] = {}
        sconf = self.conf["store"]
        self.port: int | None = int(sconf["node_port"]) if sconf.get("node_port") else None
        self.ip: str = str(sconf.get("node_ip") or sconf.get("host", "127.0.0.1"))

    def ring(self, kind: str) -> Ring | None:
        ring = self._rings.get(kind)
        if ring is None:
            path = os.path.join(self.conf.ring_dir, f"{kind}.ring")
            if not os.path.exists(path):
                return None
            ring = self._rings[kind] = Ring(path, self.hash_suffix, reload_interval=1.0)
        return ring

    def is_local(self, dev: Device) -> bool:
        if self.port is not None and (dev.port != self.port or dev.ip not in (self.ip, "0.0.0.0")):
            return False
        return os.path.isdir(device_path(self.devices_root, dev.device))

    def local_devices(self, kind: str) -> list[Device]:
        ring = self.ring(kind)
        return [d for d in ring.devices if self.is_local(d)] if ring is not None else []
