"""Per-suffix hashes of an object partition, cached in ``<partition>/hashes.json``.

A suffix hash covers the names of the files that matter in each hash dir (newest .data/.ts and an
applicable .meta), so two replicas of a suffix hash the same iff they hold the same versions.
Writes record their suffix in ``hashes.invalid`` (see ``store.diskfile.invalidate_suffix``); the
cache is recomputed for those suffixes, and for every suffix on the first use in this process (an
invalidation lost in a crash cannot hide a difference for longer than one restart). Listing a partition's
suffixes (its directory and its rows) to find one that changed without an invalidation is asked for
(``discover``) by the replicator once every few passes per partition, as Swift's replicator lists a partition
once in ten cycles: that listing was half the cost of hashing an unchanged partition, and every pass hashes
every partition, its own and its peers' (docs/benchmarks.md session 27). Computing a suffix also reclaims
tombstones older than ``reclaim_age`` and removes empty dirs.
"""

from __future__ import annotations

import json
import os
import threading
import time

import xxhash

from store import inline_objects
from store.diskfile import HashDirState, consume_invalid_suffixes, suffix_states, suffixes_states
from store.fsutil import ensure_dir, remove_file
from store.layout import hashes_file_path, list_suffixes

Hashes = dict[str, str]  # suffix -> hex digest

_lock = threading.Lock()
_part_locks: dict[str, threading.Lock] = {}
_fresh: set[str] = set()  # partition dirs fully rehashed since this process started
# partition dir -> suffix -> time of its oldest tombstone kept: rehashed once that tombstone is
# older than reclaim_age, so tombstones are reclaimed even in a suffix nothing writes to any more
_oldest_tombstone: dict[str, dict[str, float]] = {}


def _part_lock(part_path: str) -> threading.Lock:
    with _lock:
        lock = _part_locks.get(part_path)
        if lock is None:
            lock = _part_locks[part_path] = threading.Lock()
        return lock


def hash_suffix(part_path: str, suffix: str, reclaim_age: float, now: float | None = None,
                states: dict[str, HashDirState] | None = None) -> str | None:
    """The suffix's hash (None when it holds nothing); reclaims old tombstones and empty dirs. ``states``: the
    suffix's ``suffix_states`` when the caller read them already."""
    now = time.time() if now is None else now
    sdir = os.path.join(part_path, suffix)
    digest = xxhash.xxh3_128()
    count = 0
    oldest: float | None = None
    reclaimed: dict[str, list[str]] = {}  # hash -> names
    if states is None:
        states = suffix_states(part_path, suffix)
    for h, state in sorted(states.items()):
        if state.tombstone:
            when = float(state.tombstone[:-3])
            if when < now - reclaim_age:
                reclaimed[h] = [state.tombstone, *state.obsolete]
                continue
            oldest = when if oldest is None else min(oldest, when)
        for name in (state.data or state.tombstone, state.meta):
            if name:
                digest.update(f"{h}/{name}\n".encode())
        count += 1
    if reclaimed:
        _remove_files(part_path, suffix, reclaimed)
    with _lock:
        tombstones = _oldest_tombstone.setdefault(part_path, {})
        if oldest is None or count == 0:
            tombstones.pop(suffix, None)
        else:
            tombstones[suffix] = oldest
    if count == 0:
        _rmdir_tree(sdir)
        return None
    return digest.hexdigest()


def _reclaimable(part_path: str, reclaim_age: float) -> set[str]:
    """Suffixes holding a tombstone that has become older than reclaim_age since they were hashed."""
    cutoff = time.time() - reclaim_age
    with _lock:
        return {s for s, when in _oldest_tombstone.get(part_path, {}).items() if when < cutoff}


def _remove_files(part_path: str, suffix: str, reclaimed: dict[str, list[str]]) -> None:
    """Remove the files and rows ``names`` of each ``hash -> names`` (the rows in one transaction), and the hash
    dirs once empty."""
    found = inline_objects.existing_for_partition(part_path)
    if found is not None:
        found[0].write((inline_objects.row_key(found[1], found[2], h, name), None)
                       for h, names in reclaimed.items() for name in names)
    for h, names in reclaimed.items():
        hash_dir = os.path.join(part_path, suffix, h)
        for name in names:
            remove_file(os.path.join(hash_dir, name))
        try:
            os.rmdir(hash_dir)
        except OSError:
            pass


def _rmdir_tree(sdir: str) -> None:
    """Remove empty hash dirs and the suffix dir if they are empty (never anything with files)."""
    try:
        for h in os.listdir(sdir):
            try:
                os.rmdir(os.path.join(sdir, h))
            except OSError:
                pass
        os.rmdir(sdir)
    except OSError:
        pass


def _load(part_path: str) -> Hashes | None:
    try:
        with open(hashes_file_path(part_path)) as fh:
            data = json.load(fh)
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


def _save(part_path: str, hashes: Hashes) -> None:
    """Write the partition's hashes.json in place with one ``pwrite``, never shrinking it: shorter JSON is padded
    with spaces (JSON allows trailing whitespace). Neither a temp file and a rename (an inode allocated and freed
    per save, which on ext4 without a journal costs a scan of recently freed inodes, docs/benchmarks.md session
    18) nor a truncate (``open(..., "w")`` frees the file's blocks and allocates them again: 230 us per save
    against 28 us for the pwrite, and the passes under sustained writes save thousands of partitions,
    docs/benchmarks.md session 27). A save cut short leaves a file that may not parse: ``_load`` then answers
    None and everything is rehashed, as after a restart (the file is only trusted by the process that hashed the
    partition in full, ``_fresh``)."""
    data = json.dumps(hashes, separators=(",", ":")).encode()
    try:
        fd = os.open(hashes_file_path(part_path), os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except FileNotFoundError:  # the partition was removed meanwhile
        return
    try:
        size = os.fstat(fd).st_size
        if len(data) < size:
            data += b" " * (size - len(data))
        os.pwrite(fd, data, 0)
    finally:
        os.close(fd)


def get_hashes(part_path: str, reclaim_age: float, recalc: list[str] | None = None, discover: bool = False) -> Hashes:
    """Current suffix hashes of a partition dir ({} when it does not exist): the cached ones with the invalidated,
    ``recalc`` and reclaimable suffixes recomputed, and with ``discover`` (or on the first use in this process) any
    suffix holding files or rows that the cache lacks. Blocking: run it in a thread."""
    if not os.path.isdir(part_path):
        found = inline_objects.existing_for_partition(part_path)
        if found is None or not found[0].suffixes(found[1], found[2]):
            return {}
        ensure_dir(part_path, os.path.dirname(os.path.dirname(part_path)))  # rows only: a dir for the hashes
    with _part_lock(part_path):
        invalid = consume_invalid_suffixes(part_path)
        cached = _load(part_path) if part_path in _fresh else None
        if cached is None:
            todo = set(list_suffixes(part_path))
            cached = {}
        else:
            todo = invalid | set(recalc or ()) | _reclaimable(part_path, reclaim_age)
            if discover:
                todo |= {s for s in list_suffixes(part_path) if s not in cached}
        states = suffixes_states(part_path, todo) if todo else {}
        for suffix in todo:
            value = hash_suffix(part_path, suffix, reclaim_age, states=states[suffix])
            if value is None:
                cached.pop(suffix, None)
            else:
                cached[suffix] = value
        if todo or part_path not in _fresh:
            _save(part_path, cached)
        _fresh.add(part_path)
        return dict(cached)


def forget(part_path: str) -> None:
    """Drop the in-process state of a removed partition dir."""
    with _lock:
        _fresh.discard(part_path)
        _oldest_tombstone.pop(part_path, None)
        _part_locks.pop(part_path, None)
