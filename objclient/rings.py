"""What the internal client needs of a ring, typed, and the three rings it routes by."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ring import Ring as FileRing

RING_NAMES = ("account", "container", "object")


class Device(Protocol):
    """A storage device as the client addresses it (``ring.Device`` has these and more)."""

    @property
    def ip(self) -> str: ...

    @property
    def port(self) -> int: ...

    @property
    def device(self) -> str: ...


class Ring(Protocol):
    """The ring interface the client routes by (``ring.Ring`` implements it; tests use stand-ins)."""

    @property
    def replica_count(self) -> int: ...

    def partition(self, account: str, container: str | None = None, obj: str | None = None) -> int: ...

    def primaries(self, part: int) -> Sequence[Device]: ...

    def handoffs(self, part: int) -> Iterable[Device]: ...

    def get_nodes(
        self, account: str, container: str | None = None, obj: str | None = None
    ) -> tuple[int, Sequence[Device]]: ...


class RingSet(Protocol):
    """An account, a container and an object ring."""

    @property
    def account(self) -> Ring: ...

    @property
    def container(self) -> Ring: ...

    @property
    def object(self) -> Ring: ...


@dataclass
class Rings:
    """``account``, ``container`` and ``object`` rings."""

    account: Ring
    container: Ring
    object: Ring

    @classmethod
    def load(cls, ring_dir: str | Path, suffix: str) -> Rings:
        """Load ``<ring_dir>/{account,container,object}.ring`` with the cluster's hash path suffix
        (each reloads itself when its file changes)."""
        ring_dir = Path(ring_dir)
        account, container, obj = (FileRing(ring_dir / f"{name}.ring", suffix) for name in RING_NAMES)
        return cls(account, container, obj)


def rings_exist(ring_dir: str | Path, names: Iterable[str] = RING_NAMES) -> bool:
    """Whether the ring files ``names`` exist in ``ring_dir`` (blocking stat calls: a few, on start-up)."""
    ring_dir = Path(ring_dir)
    return all((ring_dir / f"{name}.ring").exists() for name in names)
