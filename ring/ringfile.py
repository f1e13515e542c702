"""The serialized ring: what services load to map partitions to devices.

Layout (all integers big-endian)::

    magic b"STKRING\\n" | uint16 format | uint64 xxh3_64(payload) | uint64 len(payload) | payload

``payload`` is gzip of: uint32 header length, a JSON header (ring version, part power, replica count,
devices, id width; ``next_part_power`` only while a partition power increase is in progress) and then,
per replica, ``2**part_power`` little-endian device ids of ``id_width`` bytes (2 when every id fits, else 4).
"""

from __future__ import annotations

import gzip
import json
import os
import struct
import sys
import zlib
from array import array
from dataclasses import dataclass, field

import xxhash

from ring.atomic import atomic_write
from ring.device import Device
from ring.errors import RingFileError

MAGIC = b"STKRING\n"
FORMAT_VERSION = 1
_PREAMBLE = struct.Struct(">8sHQQ")
_TYPECODES = {2: "H", 4: "I"}


@dataclass
class RingData:
    """An immutable-by-convention ring: devices and, per replica, the device id of every partition."""

    version: int
    part_power: int
    replica_count: int
    devices: list[Device]
    assignment: list[array] = field(repr=False)
    next_part_power: int | None = None  # set while a partition power increase is in progress

    @property
    def partition_count(self) -> int:
        return 1 << self.part_power


def _typed(width: int, values: array) -> array:
    out = array(_TYPECODES[width], values)
    if out.itemsize != width:
        raise RingFileError(f"platform has no {width}-byte unsigned array type")
    return out


def encode_ring(data: RingData) -> bytes:
    """Serialize a ring to bytes (see the module docstring for the layout)."""
    if len(data.assignment) != data.replica_count:
        raise RingFileError("assignment must have one row per replica")
    max_id = max((d.id for d in data.devices), default=0)
    width = 2 if max_id < 0xFFFF else 4
    fields = {
        "version": data.version,
        "part_power": data.part_power,
        "replica_count": data.replica_count,
        "id_width": width,
        "devices": [d.to_dict() for d in data.devices],
    }
    if data.next_part_power is not None:  # only then: older readers ignore unknown header keys
        fields["next_part_power"] = data.next_part_power
    header = json.dumps(fields, sort_keys=True).encode()
    chunks = [struct.pack(">I", len(header)), header]
    for row in data.assignment:
        if len(row) != data.partition_count:
            raise RingFileError("assignment row length does not match the partition count")
        typed = _typed(width, row)
        if sys.byteorder != "little":
            typed.byteswap()
        chunks.append(typed.tobytes())
    payload = gzip.compress(b"".join(chunks), compresslevel=6, mtime=0)
    return _PREAMBLE.pack(MAGIC, FORMAT_VERSION, xxhash.xxh3_64_intdigest(payload), len(payload)) + payload


def decode_ring(blob: bytes, source: str = "ring") -> RingData:
    """Parse and verify a serialized ring; raises :class:`RingFileError` on any damage."""
    if len(blob) < _PREAMBLE.size:
        raise RingFileError(f"{source}: truncated ring file ({len(blob)} bytes)")
    magic, fmt, checksum, length = _PREAMBLE.unpack_from(blob)
    if magic != MAGIC:
        raise RingFileError(f"{source}: not a ring file (bad magic)")
    if fmt != FORMAT_VERSION:
        raise RingFileError(f"{source}: unsupported ring format {fmt} (this code reads {FORMAT_VERSION})")
    payload = blob[_PREAMBLE.size:]
    if len(payload) != length:
        raise RingFileError(f"{source}: truncated ring file (payload {len(payload)} of {length} bytes)")
    if xxhash.xxh3_64_intdigest(payload) != checksum:
        raise RingFileError(f"{source}: checksum mismatch, the ring file is corrupt")
    try:
        raw = gzip.decompress(payload)
        (hlen,) = struct.unpack_from(">I", raw)
        header = json.loads(raw[4:4 + hlen])
        width = int(header["id_width"])
        part_power = int(header["part_power"])
        replicas = int(header["replica_count"])
        devices = [Device.from_dict(d) for d in header["devices"]]
        version = int(header["version"])
        next_part_power = header.get("next_part_power")
        next_part_power = None if next_part_power is None else int(next_part_power)
    except (OSError, EOFError, zlib.error, struct.error, ValueError, KeyError, TypeError) as exc:
        raise RingFileError(f"{source}: unreadable ring file: {exc}") from exc
    count = 1 << part_power
    offset = 4 + hlen
    if width not in _TYPECODES or len(raw) != offset + replicas * count * width:
        raise RingFileError(f"{source}: assignment table has the wrong size")
    assignment = []
    known = {d.id for d in devices}
    for _ in range(replicas):
        row = array(_TYPECODES[width])
        row.frombytes(raw[offset:offset + count * width])
        if sys.byteorder != "little":
            row.byteswap()
        offset += count * width
        if not set(row) <= known:
            raise RingFileError(f"{source}: assignment refers to unknown devices")
        assignment.append(row)
    return RingData(version, part_power, replicas, devices, assignment, next_part_power)


def write_ring_file(path: str | os.PathLike, data: RingData) -> None:
    """Atomically write a ring file (temp file, fsync, rename, fsync of the directory)."""
    atomic_write(path, encode_ring(data))


def read_ring_file(path: str | os.PathLike) -> RingData:
    """Load and verify a ring file."""
    try:
        with open(path, "rb") as fh:
            blob = fh.read()
    except OSError as exc:
        raise RingFileError(f"cannot read ring file {os.fspath(path)}: {exc}") from exc
    return decode_ring(blob, os.fspath(path))
