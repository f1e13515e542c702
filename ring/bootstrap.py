"""Default account/container/object rings for ``stackstore up`` and test fixtures."""

from __future__ import annotations

import logging
import zlib
from collections.abc import Mapping
from pathlib import Path

from ring.builder import RingBuilder

RING_NAMES = ("account", "container", "object")
log = logging.getLogger(__name__)

DeviceSpec = tuple[int, int, str, int, str, float]  # region, zone, ip, port, device, weight


def build_default_rings(ring_dir: Path, devices: list[DeviceSpec], part_power: int, replicas: int,
                        min_part_hours: int, policy_rings: Mapping[str, int] | None = None) -> None:
    """Create ``<name>.builder.json`` and ``<name>.ring`` for each ring that is missing in ``ring_dir``.

    ``policy_rings`` maps the object ring of each storage policy (``object``, ``object-1``, ...) to its
    replica count; without it one ``object`` ring has ``replicas``. Existing builders are kept (a missing
    ring file is recompiled from its builder). With fewer devices than replicas the replica count is
    lowered to the device count, so one node can still run.
    """
    ring_dir = Path(ring_dir)
    ring_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    wanted = {"account": replicas, "container": replicas, **(policy_rings or {"object": replicas})}
    for name, ring_replicas in wanted.items():
        _build_ring(ring_dir, name, devices, part_power, ring_replicas, min_part_hours)


def _build_ring(ring_dir: Path, name: str, devices: list[DeviceSpec], part_power: int, replicas: int,
                min_part_hours: int) -> None:
    """Create one ring (and its builder) unless its builder exists already."""
    builder_path = ring_dir / f"{name}.builder.json"
    ring_path = ring_dir / f"{name}.ring"
    if builder_path.exists():
        if not ring_path.exists():
            RingBuilder.load(builder_path).write_ring(ring_path)
        return
    count = min(replicas, len(devices))
    if count < replicas:
        log.warning("%s ring: %d devices, lowering replicas from %d to %d", name, len(devices),
                    replicas, count)
    builder = RingBuilder(part_power, count, min_part_hours)
    for region, zone, ip, port, device, weight in devices:
        builder.add_device(region, zone, ip, port, device, weight)
    builder.rebalance(seed=zlib.crc32(name.encode()))
    builder.save(builder_path)
    builder.write_ring(ring_path)
