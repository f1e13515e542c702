"""The cyclic garbage collector's settings for a process that serves requests (the proxy, a storage node).

Requests on the data path free what they allocate by reference counting; none leaves cycles behind (counted
with ``gc.callbacks`` during 5,000 4 KiB PUTs: every collection of the proxy and the nodes found 0 objects).
Python still starts a young collection whenever 700 more container objects were allocated than freed since
the last one, which 32 requests in flight reach every few requests: the proxy ran ~690 young, ~60 middle and
6 full collections per 5,000 PUTs, each walking every object the requests in flight hold, ~60 us of wall
time per PUT (docs/benchmarks.md, session 24). A young generation of 20,000 leaves room for far more than a
process holds in flight, so collections run only where cycles really accumulate, and still bound them.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 20_000  # Python's default: 700
OLDER_THRESHOLDS = (10, 10)  # Python's defaults: a middle pass every 10 young ones, a full pass every 10 middle


def settle_for_serving() -> None:
    """Call once the process's start-up objects exist, before serving: collect what start-up left, move the
    survivors (modules, tables, the app) out of the collector's generations for good (``gc.freeze``: its
    passes then walk only what requests allocate) and widen the young generation (see the module)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
