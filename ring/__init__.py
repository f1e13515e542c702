"""The ring: maps accounts, containers and objects to partitions and partitions to devices."""

from ring.builder import RebalanceResult, RingBuilder
from ring.device import Device
from ring.errors import RingBuilderError, RingError, RingFileError, RingValidationError
from ring.hashing import hash_path
from ring.ring import Ring

__all__ = [
    "Device",
    "RebalanceResult",
    "Ring",
    "RingBuilder",
    "RingBuilderError",
    "RingError",
    "RingFileError",
    "RingValidationError",
    "hash_path",
]
