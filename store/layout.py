"""Where everything lives on a storage device: the one module that names paths under a device.

Layout under ``<devices_root>/<device>``::

    objects/<partition>/<suffix>/<hash>/<timestamp>.(data|meta|ts)   objects (store.diskfile)
    objects/<partition>/hashes.json                                  cached suffix hashes (replication)
    objects/<partition>/hashes.invalid                               suffixes changed since (replication)
    tmp/<random>                                                     files being written
    async_pending/<suffix>/<hash>-<timestamp>-<target>               container updates to retry (store.updates)
    quarantined/objects/<hash>[-n]                                   hash dirs that failed verification
    containers.lmdb/  accounts.lmdb/                                 listing databases (store.listings)
    expiring.lmdb/                                                   delete-at index (store.expiring)
    .recon/<task>.json                                               background task counters (store.recon)

``<hash>`` is the object's path hash in hex and ``<suffix>`` its last three hex digits. The path
functions only compute names; the ``list_*`` / ``count_*`` / ``walk_*`` functions read directories
(blocking: call them from an I/O thread) and tolerate entries that vanish meanwhile.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

OBJECTS_DIR = "objects"
TMP_DIR = "tmp"
ASYNC_PENDING_DIR = "async_pending"
QUARANTINE_DIR = "quarantined"
CONTAINERS_DB = "containers.lmdb"
ACCOUNTS_DB = "accounts.lmdb"
EXPIRING_INDEX = "expiring.lmdb"
RECON_DIR = ".recon"
HASHES_FILE = "hashes.json"
HASHES_INVALID = "hashes.invalid"
HEX_DIGITS = frozenset("0123456789abcdef")


def suffix_of(hash_hex: str) -> str:
    """The suffix directory an object hash lives in (its last three hex digits)."""
    return hash_hex[-3:]


# -- objects --------------------------------------------------------------------------------------
def objects_path(device_path: str) -> str:
    """``<device>/objects``."""
    return os.path.join(device_path, OBJECTS_DIR)


def partition_path(device_path: str, partition: int) -> str:
    """``<device>/objects/<partition>``."""
    return os.path.join(device_path, OBJECTS_DIR, str(partition))


def hash_dir_path(device_path: str, partition: int, hash_hex: str) -> str:
    """``<device>/objects/<partition>/<suffix>/<hash>``: the files of one object."""
    return os.path.join(device_path, OBJECTS_DIR, str(partition), suffix_of(hash_hex), hash_hex)


def hashes_file_path(part_path: str) -> str:
    """The partition's cached suffix hashes."""
    return os.path.join(part_path, HASHES_FILE)


def hashes_invalid_path(part_path: str) -> str:
    """The partition's log of suffixes whose cached hash is stale."""
    return os.path.join(part_path, HASHES_INVALID)


def list_partitions(device_path: str) -> list[int]:
    """The partitions that have an object directory on a device, sorted (blocking)."""
    try:
        names = os.listdir(objects_path(device_path))
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(int(n) for n in names if n.isdigit())


def is_suffix(name: str) -> bool:
    """True for a suffix directory name (three lower-case hex digits)."""
    return len(name) == 3 and all(c in HEX_DIGITS for c in name)


def list_suffixes(part_path: str) -> list[str]:
    """The suffix directories of a partition, sorted (blocking)."""
    try:
        names = os.listdir(part_path)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(n for n in names if is_suffix(n))


def walk_hash_dirs(device_path: str, partitions: list[int] | None = None) -> Iterator[tuple[int, str]]:
    """Every object hash dir on a device (or in ``partitions``) as ``(partition, hash_hex)``
    (blocking); tolerates concurrent changes."""
    for part in list_partitions(device_path) if partitions is None else partitions:
        part_path = partition_path(device_path, part)
        try:
            suffixes = os.listdir(part_path)
        except (FileNotFoundError, NotADirectoryError):
            continue
        for suffix in suffixes:
            try:
                hashes = os.listdir(os.path.join(part_path, suffix))
            except (FileNotFoundError, NotADirectoryError):
                continue
            for hash_hex in hashes:
                if len(hash_hex) == 32 and hash_hex.endswith(suffix):
                    yield part, hash_hex


# -- temporary files ------------------------------------------------------------------------------
def tmp_path(device_path: str) -> str:
    """``<device>/tmp``: where files are written before being renamed into place."""
    return os.path.join(device_path, TMP_DIR)


def new_tmp_file(device_path: str) -> str:
    """A fresh, unused name under ``<device>/tmp`` (the directory may not exist yet)."""
    return os.path.join(device_path, TMP_DIR, uuid.uuid4().hex)


# -- async pendings -------------------------------------------------------------------------------
def async_pending_path(device_path: str) -> str:
    """``<device>/async_pending``."""
    return os.path.join(device_path, ASYNC_PENDING_DIR)


def async_pending_record(device_path: str, hash_hex: str, timestamp: str, target_id: str) -> str:
    """The record of one failed container update of the object ``hash_hex`` at ``timestamp`` to
    one target container node (``target_id``)."""
    return os.path.join(device_path, ASYNC_PENDING_DIR, suffix_of(hash_hex), f"{hash_hex}-{timestamp}-{target_id}")


def list_async_pendings(device_path: str) -> list[str]:
    """Every async-pending record path on a device, sorted by suffix then name (blocking)."""
    root = async_pending_path(device_path)
    try:
        suffixes = sorted(os.listdir(root))
    except (FileNotFoundError, NotADirectoryError):
        return []
    out: list[str] = []
    for suffix in suffixes:
        sdir = os.path.join(root, suffix)
        try:
            out.extend(os.path.join(sdir, name) for name in sorted(os.listdir(sdir)))
        except (FileNotFoundError, NotADirectoryError):
            continue
    return out


def count_async_pendings(device_path: str) -> int:
    """How many async-pending records a device holds (blocking)."""
    root = async_pending_path(device_path)
    try:
        suffixes = os.listdir(root)
    except (FileNotFoundError, NotADirectoryError):
        return 0
    return sum(_count_entries(os.path.join(root, s)) for s in suffixes)


# -- quarantine -----------------------------------------------------------------------------------
def quarantined_objects_path(device_path: str) -> str:
    """``<device>/quarantined/objects``: hash dirs moved aside because they failed verification."""
    return os.path.join(device_path, QUARANTINE_DIR, OBJECTS_DIR)


def count_quarantined_objects(device_path: str) -> int:
    """How many hash dirs a device has quarantined (blocking)."""
    return _count_entries(quarantined_objects_path(device_path))


# -- databases and stats --------------------------------------------------------------------------
def containers_db_path(device_path: str) -> str:
    """The container listing LMDB environment."""
    return os.path.join(device_path, CONTAINERS_DB)


def accounts_db_path(device_path: str) -> str:
    """The account listing LMDB environment."""
    return os.path.join(device_path, ACCOUNTS_DB)


def expiring_index_path(device_path: str) -> str:
    """The delete-at index LMDB environment."""
    return os.path.join(device_path, EXPIRING_INDEX)


def recon_path(device_path: str) -> str:
    """``<device>/.recon``: background task counters."""
    return os.path.join(device_path, RECON_DIR)


def recon_stats_path(device_path: str, name: str) -> str:
    """``<device>/.recon/<name>.json``."""
    return os.path.join(device_path, RECON_DIR, f"{name}.json")


# -- devices --------------------------------------------------------------------------------------
def device_path(devices_root: str, device: str) -> str:
    """``<devices_root>/<device>``."""
    return os.path.join(devices_root, device)


def list_devices(devices_root: str) -> list[str]:
    """The device directories under ``devices_root``, sorted (blocking; [] when it is missing)."""
    try:
        names = sorted(os.listdir(devices_root))
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [n for n in names if os.path.isdir(os.path.join(devices_root, n))]


def _count_entries(path: str) -> int:
    try:
        return len(os.listdir(path))
    except (FileNotFoundError, NotADirectoryError):
        return 0
