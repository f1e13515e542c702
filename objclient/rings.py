"""What the internal client needs of a ring, typed, and the three rings it routes by."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
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

    def object_ring(self, policy: int = 0) -> Ring: ...


class UnknownPolicyRing(LookupError):
    """No object ring is loaded for a storage policy index."""


@dataclass
class Rings:
    """``account``, ``container`` and ``object`` rings, and one object ring per further storage policy."""

    account: Ring
    container: Ring
    object: Ring
    policy_rings: dict[int, Ring] = field(default_factory=dict)  # policy index (> 0) -> its object ring

    def object_ring(self, policy: int = 0) -> Ring:
        """The object ring of storage policy ``policy`` (``object`` for 0); UnknownPolicyRing otherwise."""
        if policy == 0:
            return self.object
        try:
            return self.policy_rings[policy]
        except KeyError:
            raise UnknownPolicyRing(policy) from None

    @classmethod
    def load(cls, ring_dir: str | Path, suffix: str, policies: Iterable[int] = (0,)) -> Rings:
        """Load ``<ring_dir>/{account,container,object}.ring`` and the ``object-<N>.ring`` that exist of
        the further policy indexes in ``policies``, with the cluster's hash path suffix (each reloads
        itself when its file changes; blocking stat calls, on start-up)."""
        ring_dir = Path(ring_dir)
        account, container, obj = (FileRing(ring_dir / f"{name}.ring", suffix) for name in RING_NAMES)
        extra: dict[int, Ring] = {}
        for index in policies:  # a policy without a ring file has no ring here: its objects answer 503
            path = ring_dir / f"object-{index}.ring"
            if index != 0 and path.exists():
                extra[index] = FileRing(path, suffix)
        return cls(account, container, obj, extra)


def rings_exist(ring_dir: str | Path, names: Iterable[str] = RING_NAMES) -> bool:
    """Whether the ring files ``names`` exist in ``ring_dir`` (blocking stat calls: a few, on start-up)."""
    ring_dir = Path(ring_dir)
    return all((ring_dir / f"{name}.ring").exists() for name in names)
