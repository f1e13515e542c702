"""The versioned-write state one Swift request carries through the pipeline (``SwiftRequest.versioned``).

A versioning feature (``object_versioning``, the legacy ``versioned_writes``) decides on the current version
before the object write runs below it: it archives that version, then lets the write replace *only* it (a
node condition), or lets a DELETE remove only the write it archived. When a concurrent writer got there
first the nodes refuse, the stage below marks the race as lost, and the feature archives the winner and runs
the request again. docs/versioning.md "Concurrent writers".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.responses import Response


@dataclass
class GuardedWrite:
    """What the versioning stage hands down to the object write, and what the write hands back."""

    # the node condition of the object PUT (``engine.archive_for_write``): replace only the archived version
    guard: dict[str, str] | None = None
    # set by the write when the nodes refused that condition (a concurrent writer replaced the version first)
    lost_race: bool = False
    # prepares the write again after a lost race (archives the winner, a new version id and guard; returns
    # None, or the answer that stops the write), for a write that outlives the feature's own retries: an SLO
    # manifest PUT with heartbeat=on answers 202 first and writes later
    reguard: Callable[[], Awaitable[Response | None]] | None = None
    # a DELETE of the current object: the X-Timestamp of the write the feature archived; the object DELETE then
    # removes that write and nothing newer (``engine.delete_if_current``), else sets ``lost_race``
    delete_through: str | None = None
    # an SLO manifest PUT's body, read once (bounded): a guarded manifest write that lost the race runs again
    manifest_body: bytes | None = None
