"""The Linux CPU scheduling policy of the serving processes (the proxy, the storage nodes): ``SCHED_BATCH``.

Under the default policy (``SCHED_OTHER``) a task woken by I/O may preempt the task running on its CPU (wakeup
preemption). A small request crosses processes several times: the proxy writes to three nodes, each node's
loop wakes its committing thread and answers, the proxy answers the client. On two cores shared by the load,
the proxy and four nodes, each wake-up could switch the writer out for the woken process in the middle of its
event loop's pass, so a pass handled fewer events before the CPU changed hands again: more context switches,
smaller group-commit rounds, colder caches. ``SCHED_BATCH`` (sched(7)) keeps the same fair share and nice
level, but a woken batch task waits until the running one blocks or its slice ends: each process handles
what its pass found, then yields. Measured with 4 KiB PUTs at c=32 on one cloud, alternating the policy of its
processes between rounds (docs/benchmarks.md, session 26): +12 to +18% PUT/s, the nodes' CPU per PUT -17%,
p99 latency 71 -> 58 ms.

Threads inherit their creator's policy, so it is set first thing in a process, before any thread starts.
``[cluster] cpu_scheduling``: ``batch`` (the default) or ``normal`` (keep the inherited policy). Changing
one's own policy between these two needs no privilege; where the platform has no ``SCHED_BATCH`` or refuses
it, the process keeps its policy and says so once.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

log = logging.getLogger(__name__)

POLICIES = ("batch", "normal")


def policy_from_conf(conf: Mapping[str, Any]) -> str:
    """``[cluster] cpu_scheduling`` of a loaded configuration; ValueError for an unknown value."""
    policy = str(conf["cluster"].get("cpu_scheduling", "batch")).strip().lower()
    if policy not in POLICIES:
        raise ValueError(f"[cluster] cpu_scheduling must be one of {', '.join(POLICIES)}, not {policy!r}")
    return policy


def apply(policy: str) -> bool:
    """Put the calling thread (and the threads it starts from now on) under ``policy``; True when it is
    ``SCHED_BATCH`` now. ``normal`` changes nothing."""
    if policy != "batch":
        return False
    batch = getattr(os, "SCHED_BATCH", None)
    if batch is None:
        log.info("no SCHED_BATCH on this platform: the default CPU policy stays")
        return False
    try:
        os.sched_setscheduler(0, batch, os.sched_param(0))
    except OSError as exc:
        log.warning("SCHED_BATCH refused (%s): the default CPU policy stays", exc)
        return False
    return True
