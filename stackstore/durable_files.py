"""Durability of file-system changes every service needs (the storage nodes, the volume backends)."""

from __future__ import annotations

import os


def fsync_dir(path: str) -> None:
    """fsync a directory so entries created or renamed in it are durable (OSError when it cannot be)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
