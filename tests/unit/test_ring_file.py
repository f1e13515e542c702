"""Ring files: hashing, round trip, corruption, atomic writes and reloading."""

from __future__ import annotations

import os
import time

import pytest
import xxhash

from ring import Ring, RingBuilder, hash_path
from ring.errors import RingFileError
from ring.ringfile import FORMAT_VERSION, read_ring_file

SUFFIX = "secret"


def build(tmp_path, part_power=8, devices=6, name="object"):
    b = RingBuilder(part_power, 3, 1)
    for i in range(devices):
        b.add_device(1, i % 3 + 1, f"10.0.0.{i}", 6200 + i, f"d{i}", 100.0)
    b.rebalance(seed=1, now=1_700_000_000)
    path = tmp_path / f"{name}.ring"
    b.write_ring(path)
    return b, path


def test_hash_path_is_xxh3_128_of_path_and_suffix():
    assert hash_path("s", "a") == xxhash.xxh3_128_digest(b"/as")
    assert hash_path("s", "a", "c") == xxhash.xxh3_128_digest(b"/a/cs")
    assert hash_path("s", "a", "c", "o/p\u00e9") == xxhash.xxh3_128_digest("/a/c/o/p\u00e9s".encode())
    assert len(hash_path("s", "a")) == 16
    assert hash_path("s", "a") != hash_path("t", "a")
    with pytest.raises(ValueError):
        hash_path("s", "a", None, "o")


def test_round_trip(tmp_path):
    b, path = build(tmp_path)
    data = read_ring_file(path)
    assert (data.version, data.part_power, data.replica_count) == (b.version, 8, 3)
    assert data.devices == b.active_devices()
    assert [list(r) for r in data.assignment] == [list(r) for r in b._assign]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_wide_device_ids_round_trip(tmp_path):
    b = RingBuilder(4, 1, 0)
    b.next_id = 70000  # ids beyond uint16
    b.add_device(1, 1, "10.0.0.1", 6200, "d", 1.0)
    b.rebalance(seed=1)
    b.write_ring(tmp_path / "w.ring")
    assert set(read_ring_file(tmp_path / "w.ring").assignment[0]) == {70000}


@pytest.mark.parametrize("where", ["magic", "header", "payload", "truncate"])
def test_corrupt_file_is_detected(tmp_path, where):
    _, path = build(tmp_path)
    blob = bytearray(path.read_bytes())
    if where == "magic":
        blob[0] ^= 0xFF
    elif where == "header":
        blob[8:10] = (FORMAT_VERSION + 1).to_bytes(2, "big")
    elif where == "payload":
        blob[len(blob) // 2] ^= 0x01
    else:
        del blob[-10:]
    path.write_bytes(bytes(blob))
    with pytest.raises(RingFileError):
        read_ring_file(path)
    with pytest.raises(RingFileError):
        Ring(path, SUFFIX)


def test_missing_file(tmp_path):
    with pytest.raises((RingFileError, FileNotFoundError)):
        Ring(tmp_path / "nope.ring", SUFFIX)


def test_version_increases(tmp_path):
    b, path = build(tmp_path)
    v1 = read_ring_file(path).version
    b.add_device(1, 1, "10.0.0.99", 6299, "x", 100.0)
    b.rebalance(seed=2, now=1_700_000_000 + 7200)
    b.write_ring(path)
    assert read_ring_file(path).version > v1


def test_reload_when_the_file_changes(tmp_path):
    b, path = build(tmp_path)
    ring = Ring(path, SUFFIX, reload_interval=0)
    assert len(ring.devices) == 6
    old_version = ring.version
    b.add_device(2, 1, "10.9.9.9", 6300, "new", 100.0)
    b.rebalance(seed=3, now=1_700_000_000 + 7200)
    b.write_ring(path)
    assert len(ring.devices) == 7
    assert ring.version > old_version
    assert any(d.device == "new" for p in range(ring.partition_count) for d in ring.primaries(p))


def test_reload_waits_for_interval_and_survives_a_bad_file(tmp_path):
    b, path = build(tmp_path)
    ring = Ring(path, SUFFIX, reload_interval=3600)
    b.add_device(1, 1, "10.9.9.9", 6300, "new", 100.0)
    b.write_ring(path)
    assert len(ring.devices) == 6  # not checked yet
    ring.reload_interval = 0
    ring._next_check = time.monotonic()
    assert len(ring.devices) == 7
    path.write_bytes(b"garbage")
    os.utime(path, ns=(1, 1))
    assert len(ring.devices) == 7  # a broken file keeps the current ring
    with pytest.raises(RingFileError):
        ring.reload(force=True)
