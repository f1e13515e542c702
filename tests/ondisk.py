"""Object replicas on a node's devices as the node itself sees them: a hash dir is its files plus the rows the
device keeps in its LMDB (store/inline_objects.py), so tests look at replicas through these helpers, never with
a bare ``listdir``/``glob`` of hash dirs. Each helper closes the environments it opened (``_closing``): a test
process looks at the devices of many clouds, and every open environment reserves its map's address space."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from store import inline_objects, layout
from store.diskfile import (
    ObjectReader,
    hash_dir_file_bytes,
    hash_dir_names,
    open_hash_dir_file,
    row_location,
    scan_hash_dir,
)

F = TypeVar("F", bound=Callable[..., Any])


_depth = [0]  # helpers calling helpers: the outermost one closes


def _closing(fn: F) -> F:
    """Run a helper, then close the environments it opened (not those this process had open before it: an
    in-process node's)."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if _depth[0]:
            return fn(*args, **kwargs)
        before = inline_objects.open_devices()
        inline_objects.look_again()  # (a test may have just replaced a device)
        _depth[0] += 1
        try:
            return fn(*args, **kwargs)
        finally:
            _depth[0] -= 1
            for device in inline_objects.open_devices() - before:
                inline_objects.close(device)
    return wrapper  # type: ignore[return-value]


@_closing
def names(hash_dir: str | os.PathLike[str]) -> list[str]:
    """The file names of a hash dir, files and rows, sorted."""
    return sorted(hash_dir_names(str(hash_dir)))


def with_ext(hash_dir: str | os.PathLike[str], ext: str) -> list[str]:
    """The names ending with ``ext`` (".data", ".meta", ".ts")."""
    return [n for n in names(hash_dir) if n.endswith(ext)]


def exists(hash_dir: str | os.PathLike[str]) -> bool:
    """Whether the hash dir holds anything."""
    return bool(names(hash_dir))


@_closing
def read(hash_dir: str | os.PathLike[str], name: str) -> bytes:
    """The bytes of one file or row."""
    return hash_dir_file_bytes(str(hash_dir), name)


@_closing
def write(hash_dir: str | os.PathLike[str], name: str, data: bytes) -> None:
    """Replace the bytes of one file or row in place (a test damaging a replica)."""
    path = Path(hash_dir) / name
    if path.exists():
        path.write_bytes(data)
        return
    where = row_location(str(hash_dir))
    if where is None or where[0].read(where[1], where[2], where[3], name) is None:
        raise FileNotFoundError(path)
    where[0].write([(inline_objects.row_key(where[1], where[2], where[3], name), data)])


@_closing
def open_data(hash_dir: str | os.PathLike[str], name: str) -> ObjectReader:
    """The object of the .data ``name`` (close it)."""
    return open_hash_dir_file(str(hash_dir), name)


def newest(hash_dir: str | os.PathLike[str]) -> tuple[str, str | None]:
    """(winner name or "", md5 etag of the .data winner) of a hash dir. A live node may replace the winner
    between the listing and the read (a newer version replicated in, the old one removed): then it looks again."""
    for attempt in range(10):
        state = scan_hash_dir(names(hash_dir))
        etag = None
        if state.data:
            try:
                reader = open_data(hash_dir, state.data)
            except FileNotFoundError:
                if attempt == 9:  # listed again and again but never there: not a race
                    raise
                continue  # superseded meanwhile
            etag = reader.etag
            reader.close()
        break
    return state.data or state.tombstone or "", etag


@_closing
def object_files(device_path: str | os.PathLike[str], policy: int = 0) -> list[tuple[int, str, str]]:
    """``(partition, hash, name)`` of every file and row of ``policy`` on a device."""
    device = str(device_path)
    return [(part, h, name) for part, h in layout.walk_hash_dirs(device, policy=policy)
            for name in names(layout.hash_dir_path(device, part, h, policy))]


def flip(hash_dir: str | os.PathLike[str], name: str, offset: int) -> None:
    """Invert one byte of a file or row (a test damaging a replica)."""
    raw = bytearray(read(hash_dir, name))
    raw[offset] ^= 0xFF
    write(hash_dir, name, bytes(raw))
