"""Reads of expired objects on request, as Swift's proxy ``allow_open_expired``.

An object past its ``X-Delete-At`` reads as gone (404) even before the expirer deletes it. With
``[proxy] allow_open_expired = true`` (default false, as Swift), an object GET, HEAD or POST that sends
``X-Open-Expired: true`` still reaches such an object while it is on disk: a GET or HEAD reads it
(its past ``X-Delete-At`` shown), a POST updates it, e.g. with a later ``X-Delete-At`` or none, which
restores it. The GET/HEAD sub-requests it leads to (a large object's manifest and segments, a
symlink's target) reach expired objects too, as Swift's SLO passes the header to its segments.

This stage only marks the request (``req.open_expired``); the request's storage client is then a
view (``StorageClient.opening_expired``) that sends the nodes the signed backend header
``stackstore.wire.OPEN_EXPIRED``. The proxy never forwards a client's own ``X-Backend-*`` headers, so
the nodes' header is reachable only through this stage. A temp URL request ignores the header (Swift's
tempurl removes ``X-Open-Expired`` from incoming requests).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from proxy.pipeline import Handler, handles
from proxy.swift.constraints import true_value
from proxy.swift.context import SwiftRequest
from proxy.swift.operations import ANY_DEPTH_OPERATIONS, OBJECT_OPERATIONS

HEADER = "x-open-expired"
METHODS = frozenset(("GET", "HEAD", "POST"))


def enabled(conf: Mapping[str, Any]) -> bool:
    """``[proxy] allow_open_expired`` (what ``/info`` shows under ``swift``)."""
    value = conf.get("proxy", {}).get("allow_open_expired", False)
    return true_value(value) if isinstance(value, str) else bool(value)


@handles(operations=OBJECT_OPERATIONS | ANY_DEPTH_OPERATIONS, methods=METHODS)  # object requests only
async def feature(req: SwiftRequest, call_next: Handler) -> Response:
    """Mark an object GET/HEAD/POST asking ``X-Open-Expired: true`` when the cluster allows it."""
    if (req.obj is not None and req.method in METHODS and req.authorized_by != "tempurl"
            and true_value(req.headers.get(HEADER)) and enabled(req.state.conf)):
        req.open_expired = True
    return await call_next(req)
