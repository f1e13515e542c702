"""Where everything lives on a storage device: the one module that names paths under a device.

Layout under ``<devices_root>/<device>``::

    objects/<partition>/<suffix>/<hash>/<timestamp>.(data|meta|ts)   objects (store.diskfile) of policy 0
    objects-<N>/...                                                  the same for storage policy N
    objects/<partition>/hashes.json                                  cached suffix hashes (replication)
    objects/<partition>/hashes.invalid                               suffixes changed since (replication)
    tmp/<random>                                                     files being written
    async_pending/<suffix>/<hash>-<timestamp>-<target>               container updates to retry (store.updates)
    quarantined/objects[-<N>]/<hash>[-n]                             hash dirs that failed verification
    objects.lmdb/                                                    small objects' files as rows (store.inline_objects)
    containers.lmdb/  accounts.lmdb/                                 listing databases (store.listings)
    expiring.lmdb/                                                   delete-at index (store.expiring)
    .recon/<task>.json                                               background task counters (store.recon)

``<hash>`` is the object's path hash in hex and ``<suffix>`` its last three hex digits. The path
functions only compute names; the ``list_*`` / ``count_*`` / ``walk_*`` functions read directories
(blocking: call them from an I/O thread) and tolerate entries that vanish meanwhile. The object enumerations
(partitions, suffixes, hash dirs, policies) also list what the device keeps as rows (``store.inline_objects``):
a hash dir is the union of its files and its rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from store import inline_objects

OBJECTS_DIR = "objects"
TMP_DIR = "tmp"
ASYNC_PENDING_DIR = "async_pending"
QUARANTINE_DIR = "quarantined"
CONTAINERS_DB = "containers.lmdb"
ACCOUNTS_DB = "accounts.lmdb"
EXPIRING_INDEX = "expiring.lmdb"
INLINE_OBJECTS_DB = "objects.lmdb"
RECON_DIR = ".recon"
HASHES_FILE = "hashes.json"
HASHES_INVALID = "hashes.invalid"
HEX_DIGITS = frozenset("0123456789abcdef")


def suffix_of(hash_hex: str) -> str:
    """The suffix directory an object hash lives in (its last three hex digits)."""
    return hash_hex[-3:]


# -- objects --------------------------------------------------------------------------------------
def objects_dir_name(policy: int = 0) -> str:
    """``objects`` for storage policy 0, ``objects-<policy>`` for the others."""
    return OBJECTS_DIR if policy == 0 else f"{OBJECTS_DIR}-{policy}"


def policy_of_objects_dir(name: str) -> int | None:
    """The storage policy index an ``objects[-N]`` directory name stands for; None for other names."""
    if name == OBJECTS_DIR:
        return 0
    prefix, sep, index = name.partition("-")
    if prefix == OBJECTS_DIR and sep and index.isdigit() and str(int(index)) == index and int(index) > 0:
        return int(index)
    return None


def _rows(device_path: str) -> inline_objects.InlineObjects | None:
    from store import inline_objects  # (it names its own paths here: imported when first used)

    return inline_objects.existing(device_path)


def list_object_policies(device_path: str) -> list[int]:
    """The storage policy indexes that have an objects directory or rows on a device, sorted (blocking)."""
    try:
        names = os.listdir(device_path)
    except (FileNotFoundError, NotADirectoryError):
        return []
    found = {p for p in map(policy_of_objects_dir, names) if p is not None}
    rows = _rows(device_path)
    if rows is not None:
        found.update(rows.policies())
    return sorted(found)


def objects_path(device_path: str, policy: int = 0) -> str:
    """``<device>/objects[-<policy>]``."""
    return os.path.join(device_path, objects_dir_name(policy))


def partition_path(device_path: str, partition: int, policy: int = 0) -> str:
    """``<device>/objects[-<policy>]/<partition>``."""
    return os.path.join(device_path, objects_dir_name(policy), str(partition))


def hash_dir_path(device_path: str, partition: int, hash_hex: str, policy: int = 0) -> str:
    """``<device>/objects[-<policy>]/<partition>/<suffix>/<hash>``: the files of one object."""
    return os.path.join(device_path, objects_dir_name(policy), str(partition), suffix_of(hash_hex), hash_hex)


def hashes_file_path(part_path: str) -> str:
    """The partition's cached suffix hashes."""
    return os.path.join(part_path, HASHES_FILE)


def hashes_invalid_path(part_path: str) -> str:
    """The partition's log of suffixes whose cached hash is stale."""
    return os.path.join(part_path, HASHES_INVALID)


def split_partition_path(part_path: str) -> tuple[str, int, int] | None:
    """``(device path, policy, partition)`` of a partition directory path; None for another path."""
    objects_dir, part = os.path.split(os.path.normpath(part_path))
    device, name = os.path.split(objects_dir)
    policy = policy_of_objects_dir(name)
    if policy is None or not part.isdigit():
        return None
    return device, policy, int(part)


def list_partitions(device_path: str, policy: int = 0) -> list[int]:
    """The partitions that have an object directory or rows of ``policy`` on a device, sorted (blocking)."""
    try:
        names = os.listdir(objects_path(device_path, policy))
    except (FileNotFoundError, NotADirectoryError):
        names = []
    found = {int(n) for n in names if n.isdigit()}
    rows = _rows(device_path)
    if rows is not None:
        found.update(rows.partitions(policy))
    return sorted(found)


def is_suffix(name: str) -> bool:
    """True for a suffix directory name (three lower-case hex digits)."""
    return len(name) == 3 and all(c in HEX_DIGITS for c in name)


def list_suffixes(part_path: str) -> list[str]:
    """The suffixes of a partition that hold a directory or rows, sorted (blocking)."""
    try:
        names = os.listdir(part_path)
    except (FileNotFoundError, NotADirectoryError):
        names = []
    found = {n for n in names if is_suffix(n)}
    parsed = split_partition_path(part_path)
    rows = _rows(parsed[0]) if parsed is not None else None
    if rows is not None and parsed is not None:
        found.update(rows.suffixes(parsed[1], parsed[2]))
    return sorted(found)


def walk_hash_dirs(device_path: str, partitions: list[int] | None = None,
                   policy: int = 0) -> Iterator[tuple[int, str]]:
    """Every object hash dir of ``policy`` on a device (or in ``partitions``) as ``(partition, hash_hex)``
    (blocking); tolerates concurrent changes."""
    rows = _rows(device_path)
    for part in list_partitions(device_path, policy) if partitions is None else partitions:
        part_path = partition_path(device_path, part, policy)
        try:
            suffixes = os.listdir(part_path)
        except (FileNotFoundError, NotADirectoryError):
            suffixes = []
        seen: set[str] = set()
        for suffix in suffixes:
            try:
                hashes = os.listdir(os.path.join(part_path, suffix))
            except (FileNotFoundError, NotADirectoryError):
                continue
            for hash_hex in hashes:
                if len(hash_hex) == 32 and hash_hex.endswith(suffix):
                    seen.add(hash_hex)
                    yield part, hash_hex
        if rows is not None:
            for hash_hex in rows.hashes(policy, part):
                if hash_hex not in seen:
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
def quarantined_objects_path(device_path: str, policy: int = 0) -> str:
    """``<device>/quarantined/objects[-<policy>]``: hash dirs moved aside because they failed verification."""
    return os.path.join(device_path, QUARANTINE_DIR, objects_dir_name(policy))


def count_quarantined_objects(device_path: str) -> int:
    """How many hash dirs a device has quarantined, every policy together (blocking)."""
    root = os.path.join(device_path, QUARANTINE_DIR)
    try:
        names = os.listdir(root)
    except (FileNotFoundError, NotADirectoryError):
        return 0
    return sum(_count_entries(os.path.join(root, n)) for n in names if policy_of_objects_dir(n) is not None)


# -- databases and stats --------------------------------------------------------------------------
def containers_db_path(device_path: str) -> str:
    """The container listing LMDB environment."""
    return os.path.join(device_path, CONTAINERS_DB)


def accounts_db_path(device_path: str) -> str:
    """The account listing LMDB environment."""
    return os.path.join(device_path, ACCOUNTS_DB)


def inline_objects_path(device_path: str) -> str:
    """The LMDB environment holding small objects' files as rows."""
    return os.path.join(device_path, INLINE_OBJECTS_DB)


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
