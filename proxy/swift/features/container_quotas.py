"""Container quotas (``X-Container-Meta-Quota-Bytes``, ``X-Container-Meta-Quota-Count``), as Swift's
``container_quotas`` middleware.

The container's owner sets them as ordinary metadata; a value that is not a non-negative integer is
a 400 (``Invalid bytes quota.`` / ``Invalid count quota.``). An object write (PUT, ``X-Copy-From``,
COPY to the container) that would take the container past either is refused with 413
``Upload exceeds quota.`` before anything is stored. Sits after ``authorize``, so a caller without
write access gets its 401/403, never the 413.
"""

from __future__ import annotations

from starlette.responses import Response

from proxy.http.errors import error_response
from proxy.pipeline import Handler, handles
from proxy.quotas import EXCEEDED, container_exceeded, container_has_quota
from proxy.swift.context import SwiftRequest
from proxy.swift.features.uploads import planned_upload
from stackstore.numbers import is_ascii_digits

INFO: dict[str, object] = {}


@handles(methods={"PUT", "POST", "COPY"})
async def feature(req: SwiftRequest, call_next: Handler) -> Response:
    """Pipeline stage: validate quota metadata on container PUT/POST; refuse writes past a quota."""
    if req.obj is None and req.container is not None and req.method in ("PUT", "POST"):
        for name, what in (("x-container-meta-quota-bytes", "bytes"), ("x-container-meta-quota-count", "count")):
            value = req.headers.get(name)
            if value and not is_ascii_digits(value):
                return error_response(400, f"Invalid {what} quota.")
        return await call_next(req)
    upload = await planned_upload(req, call_next)
    quota = False
    if upload is not None:
        info = await req.state.container_info(upload.account, upload.container)
        quota = container_has_quota(info)  # without one, nothing can be exceeded
        if quota and container_exceeded(info, upload.size):
            return error_response(413, EXCEEDED)
    answer = await call_next(req)
    if quota and upload is not None and 200 <= answer.status_code < 300:
        # the next write's check sees this one's bytes (this process's cached usage is stale now)
        req.state.invalidate_info(upload.account, upload.container)
    return answer
