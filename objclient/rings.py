"""What the internal client needs of a ring, typed, and the three rings it routes by."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ring import Ring as FileRing
from ring.errors import RingError
from stackstore.storage_policies import object_ring_name

log = logging.getLogger("objclient.rings")

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


POLICY_RING_RECHECK = 1.0  # seconds between looks for a policy's ring file that did not exist


@dataclass
class Rings:
    """``account``, ``container`` and ``object`` rings, and one object ring per further storage policy.

    A policy's ring that does not exist yet (a policy whose ring is built and pushed after this process
    started, or a container of a policy added to the configuration of other hosts first) is looked for
    again, at most once a second per policy, when a request needs it: it is picked up without a restart.
    """

    account: Ring
    container: Ring
    object: Ring
    policy_rings: dict[int, Ring] = field(default_factory=dict)  # policy index (> 0) -> its object ring
    ring_dir: Path | None = None  # where ``object-<N>.ring`` files appear (None: no lazy loading)
    suffix: str = ""
    _next_look: dict[int, float] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def object_ring(self, policy: int = 0) -> Ring:
        """The object ring of storage policy ``policy`` (``object`` for 0); UnknownPolicyRing otherwise.

        A ring not loaded yet is looked for first (blocking, at most once a second: see ``load_policy``)."""
        if policy == 0:
            return self.object
        ring = self.policy_rings.get(policy)
        if ring is None and self.load_policy(policy):
            ring = self.policy_rings.get(policy)
        if ring is None:
            raise UnknownPolicyRing(policy)
        return ring

    def load_policy(self, policy: int) -> bool:
        """Whether policy ``policy`` has an object ring, loading ``object-<policy>.ring`` when it appeared
        since the last look (blocking: a stat and maybe a file read; run it off the event loop)."""
        if policy == 0 or policy in self.policy_rings:
            return True
        if self.ring_dir is None or policy < 0:
            return False
        with self._lock:
            if policy in self.policy_rings:
                return True
            now = time.monotonic()
            if self._next_look.get(policy, 0.0) > now:
                return False
            self._next_look[policy] = now + POLICY_RING_RECHECK
            path = self.ring_dir / f"{object_ring_name(policy)}.ring"
            try:
                ring = FileRing(path, self.suffix)
            except (RingError, OSError, ValueError):
                return False
            self.policy_rings = {**self.policy_rings, policy: ring}  # readers iterate a stable dict
        log.warning("storage policy %d: loaded %s", policy, path)
        return True

    @classmethod
    def load(cls, ring_dir: str | Path, suffix: str, policies: Iterable[int] = (0,)) -> Rings:
        """Load ``<ring_dir>/{account,container,object}.ring`` and the ``object-<N>.ring`` that exist of
        the further policy indexes in ``policies``, with the cluster's hash path suffix (each reloads
        itself when its file changes; blocking stat calls, on start-up). A policy ring that appears later
        is loaded when first needed (``load_policy``)."""
        ring_dir = Path(ring_dir)
        account, container, obj = (FileRing(ring_dir / f"{name}.ring", suffix) for name in RING_NAMES)
        extra: dict[int, Ring] = {}
        for index in policies:  # a policy without a ring file has no ring yet: its objects answer 503
            path = ring_dir / f"{object_ring_name(index)}.ring"
            if index != 0 and path.exists():
                extra[index] = FileRing(path, suffix)
        return cls(account, container, obj, extra, ring_dir, suffix)


def rings_exist(ring_dir: str | Path, names: Iterable[str] = RING_NAMES) -> bool:
    """Whether the ring files ``names`` exist in ``ring_dir`` (blocking stat calls: a few, on start-up)."""
    ring_dir = Path(ring_dir)
    return all((ring_dir / f"{name}.ring").exists() for name in names)
