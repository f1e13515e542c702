"""The rings as this node sees them, and which ring devices are this node's own."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ring import Device, Ring
from stackstore.config import Config
from store.layout import device_path
from store.node_address import NodeAddress

RING_KINDS = ("object", "container", "account")


@dataclass
class LocalView:
    """Rings loaded from ``conf.ring_dir`` (reloaded on change) plus this node's identity.

    A ring device is local when its directory exists under ``devices_root`` and, if the node knows
    the address it serves (``[store] node_port``, set by ``store.server.main``), its ip/port are this
    node's (``store.node_address``: the listen address, ``[store] my_ip``, or any address of the host).
    """

    conf: Config
    devices_root: str
    hash_suffix: str

    def __post_init__(self) -> None:
        self._rings: dict[str, Ring] = {}
        self.address = NodeAddress.from_store_conf(self.conf["store"])

    def ring(self, kind: str) -> Ring | None:
        ring = self._rings.get(kind)
        if ring is None:
            path = os.path.join(self.conf.ring_dir, f"{kind}.ring")
            if not os.path.exists(path):
                return None
            ring = self._rings[kind] = Ring(path, self.hash_suffix, reload_interval=1.0)
        return ring

    def is_local(self, dev: Device) -> bool:
        if not self.address.owns(dev):
            return False
        return os.path.isdir(device_path(self.devices_root, dev.device))

    def local_devices(self, kind: str) -> list[Device]:
        ring = self.ring(kind)
        return [d for d in ring.devices if self.is_local(d)] if ring is not None else []
