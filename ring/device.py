"""The device model and its text forms (``r1z2-127.0.0.1:6201/d1_meta``) and search values."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from typing import Any

from ring.errors import RingBuilderError

_SPEC = re.compile(r"^r(\d+)z(\d+)-(\[[^\]]+\]|[^:/\[\]]+):(\d+)/([^_/\s]+)(?:_(.*))?$")
_SEARCH = re.compile(
    r"^(?:d(?P<id>\d+))?(?:r(?P<region>\d+))?(?:z(?P<zone>\d+))?"
    r"(?:-?(?P<ip>\[[^\]]+\]|[^:/\[\]_\s]+))?(?::(?P<port>\d+))?(?:/(?P<device>[^_/\s]+))?(?:_(?P<meta>.*))?$"
)


@dataclass(frozen=True)
class Device:
    """One storage device: where it lives in the failure-domain tree and how much data it should hold."""

    id: int
    region: int
    zone: int
    ip: str
    port: int
    device: str
    weight: float
    meta: str = ""

    @property
    def address(self) -> str:
        """``ip:port`` (IPv6 addresses in brackets), the node to talk to."""
        ip = f"[{self.ip}]" if ":" in self.ip else self.ip
        return f"{ip}:{self.port}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Device:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def __str__(self) -> str:
        return format_device(self)


def format_device(dev: Device) -> str:
    """``r<region>z<zone>-<ip>:<port>/<device>`` plus ``_<meta>`` when there is meta."""
    text = f"r{dev.region}z{dev.zone}-{dev.address}/{dev.device}"
    return f"{text}_{dev.meta}" if dev.meta else text


def parse_device_spec(spec: str) -> dict[str, Any]:
    """Parse ``r1z2-127.0.0.1:6201/d1[_meta]`` into region, zone, ip, port, device, meta."""
    m = _SPEC.match(spec.strip())
    if not m:
        raise RingBuilderError(f"bad device {spec!r}: expected r<region>z<zone>-<ip>:<port>/<device>[_meta]")
    region, zone, ip, port, device, meta = m.groups()
    return {"region": int(region), "zone": int(zone), "ip": ip.strip("[]"), "port": int(port),
            "device": device, "meta": meta or ""}


def parse_search(value: str) -> dict[str, Any]:
    """Parse a search value: an id (``5``/``d5``) or any leading part of ``r1z2-ip:port/dev_meta``."""
    value = value.strip()
    if value.isdigit():
        return {"id": int(value)}
    m = _SEARCH.match(value)
    if not value or not m or not any(v is not None for v in m.groupdict().values()):
        raise RingBuilderError(f"bad search value {value!r}")
    found = {k: v for k, v in m.groupdict().items() if v is not None}
    for key in ("id", "region", "zone", "port"):
        if key in found:
            found[key] = int(found[key])
    if "ip" in found:
        found["ip"] = found["ip"].strip("[]")
    return found


def matches(dev: Device, criteria: dict[str, Any]) -> bool:
    """Whether ``dev`` has every attribute given in ``criteria`` (from :func:`parse_search`)."""
    return all(getattr(dev, key) == value for key, value in criteria.items())
