"""Exclusive, in-memory reservations of object names for conditional PUTs (stackstore/wire.py).

A conditional PUT takes the reservation of its object when its request head arrives and holds it until
the request ends (committed, refused or aborted). Reservations live in the server process only, so a
restarted node holds none: a writer whose node restarted sees its upload fail and never commits there.
"""

from __future__ import annotations

from collections.abc import Hashable


class Reservations:
    """Names currently reserved by a conditional write on this node (one event loop: no lock needed)."""

    def __init__(self) -> None:
        self._held: set[Hashable] = set()

    def take(self, name: Hashable) -> bool:
        """Reserve ``name``; False when another request holds it."""
        if name in self._held:
            return False
        self._held.add(name)
        return True

    def release(self, name: Hashable) -> None:
        """Give ``name`` back (a no-op when it is not held)."""
        self._held.discard(name)

    def __len__(self) -> int:
        return len(self._held)
