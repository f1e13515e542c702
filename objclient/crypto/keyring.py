"""The cluster's key-encryption keys (KEKs), read from the key file of ``stackstore.secrets``.

The last key of the file is active (it wraps the data keys of new objects); every key keeps unwrapping
what it wrapped, so rotation is: add a key (``stackstore encryption-key add``), every proxy picks it up
within ``RELOAD_SECONDS`` (or at once when it meets an object wrapped by a key it has not seen).
The file is read in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from stackstore.secrets import read_encryption_keys

RELOAD_SECONDS = 5.0


class KeyUnavailable(Exception):
    """No usable key: the key file is missing or malformed, or it lacks the key id an object names."""


class KeyRing:
    """Key id → 32-byte KEK, reloaded from ``path`` when the file changes."""

    def __init__(self, path: Path):
        self.path = path
        self._keys: dict[str, bytes] = {}
        self._active: str | None = None
        self._version: tuple[int, int, int] | None = None  # (inode, mtime ns, size) of the file read
        self._checked = 0.0
        self._lock = asyncio.Lock()

    def _load(self) -> None:
        """Blocking: stat, and read when changed (run in a thread)."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return
        version = (st.st_ino, st.st_mtime_ns, st.st_size)  # rewritten by rename: a new inode
        if version == self._version:
            return
        keys = read_encryption_keys(self.path)
        if keys:
            self._keys, self._active, self._version = dict(keys), keys[-1][0], version

    async def _refresh(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and self._active is not None and now - self._checked < RELOAD_SECONDS:
            return
        async with self._lock:
            if force or self._active is None or time.monotonic() - self._checked >= RELOAD_SECONDS:
                try:
                    await asyncio.to_thread(self._load)
                except (OSError, ValueError) as exc:
                    if self._active is None:
                        raise KeyUnavailable(str(exc)) from exc
                self._checked = time.monotonic()

    async def active(self) -> tuple[str, bytes]:
        """(id, key) of the key new objects are wrapped with."""
        await self._refresh()
        if self._active is None:
            raise KeyUnavailable(f"no encryption keys in {self.path}")
        return self._active, self._keys[self._active]

    async def get(self, key_id: str) -> bytes:
        """The key ``key_id``; the file is read again once when it is unknown (a key added since)."""
        await self._refresh()
        if key_id not in self._keys:
            await self._refresh(force=True)
        try:
            return self._keys[key_id]
        except KeyError:
            raise KeyUnavailable(f"encryption key {key_id!r} is not in {self.path}") from None
