"""Which ring devices are this storage node's own: the addresses it answers on and its port.

A node listening on one address (``--host 10.0.0.5``) owns the ring devices naming that address. A
node listening on every address (``0.0.0.0`` or ``::``) owns the ring devices naming ``[store] my_ip``
when that is set; when it is not, every address of this host counts (an address is this host's when
a socket can be bound to it, as Swift's ``whataremyips`` lists the host's interfaces). ``my_ip`` also
wins over a specific listen address: behind NAT or a port forward the ring may name another address.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Protocol

WILDCARDS = frozenset(("0.0.0.0", "::", "[::]", ""))


class RingDevice(Protocol):
    """What a ring device says about where it lives."""

    @property
    def ip(self) -> str: ...

    @property
    def port(self) -> int: ...


@lru_cache(maxsize=1024)
def is_host_address(ip: str) -> bool:
    """True when ``ip`` is an address of one of this host's interfaces (a socket can be bound to it)."""
    try:
        addr = ipaddress.ip_address(ip.strip("[]"))
    except ValueError:
        return False  # ring devices name addresses, not host names
    family = socket.AF_INET6 if addr.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.bind((str(addr), 0))
    except OSError:
        return False
    return True


class NodeAddress:
    """The address and port a storage node answers on, as its ring devices name them."""

    def __init__(self, listen_host: str, port: int | None, my_ip: str = ""):
        self.listen_host = listen_host.strip()
        self.port = port
        self.my_ip = my_ip.strip().strip("[]")

    @classmethod
    def from_store_conf(cls, sconf: Mapping[str, Any]) -> NodeAddress:
        """From ``[store]``: ``node_ip``/``node_port`` (set by the server entry point to what it binds),
        else ``host``; ``my_ip`` (the ring's address for this node) when set."""
        port = int(sconf["node_port"]) if sconf.get("node_port") else None
        host = str(sconf.get("node_ip") or sconf.get("host", "127.0.0.1"))
        return cls(host, port, str(sconf.get("my_ip") or ""))

    @property
    def wildcard(self) -> bool:
        """Whether the node listens on every address of the host."""
        return self.listen_host in WILDCARDS

    def owns_ip(self, ip: str) -> bool:
        """Whether a ring device at ``ip`` is reached at this node."""
        if ip in WILDCARDS:
            return True
        if self.my_ip:
            return ip == self.my_ip
        if self.wildcard:
            return is_host_address(ip)
        return ip == self.listen_host

    def owns(self, dev: RingDevice) -> bool:
        """Whether ``dev``'s address and port are this node's (any address when the port is unknown)."""
        if self.port is None:
            return True
        return int(dev.port) == self.port and self.owns_ip(str(dev.ip))
