"""The three rings (account, container, object) the internal client routes by."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Rings:
    """``account``, ``container`` and ``object`` rings (``ring.Ring`` instances or look-alikes)."""

    account: Any
    container: Any
    object: Any

    @classmethod
    def load(cls, ring_dir: str | Path, suffix: str) -> Rings:
        """Load ``<ring_dir>/{account,container,object}.ring`` with the cluster's hash path suffix."""
        from ring import Ring  # imported lazily: the proxy can be imported without ring files

        ring_dir = Path(ring_dir)
        return cls(*(Ring(ring_dir / f"{name}.ring", suffix) for name in ("account", "container", "object")))
