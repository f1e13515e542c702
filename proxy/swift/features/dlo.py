"""Swift's DLO feature: GET/HEAD of an ``X-Object-Manifest`` object answers with its segments' data.

A pipeline feature (proxy/pipeline.py) placed after the SLO one; the listing and streaming are
proxy/large_objects (shared with the S3 API).
"""

from __future__ import annotations

from starlette.responses import Response

from proxy.large_objects.response import ManifestResponse, get_large_object
from proxy.pipeline import Handler, handles
from proxy.swift.access import segment_access
from proxy.swift.context import SwiftRequest


# a ManifestResponse only answers GET/HEAD of an object
@handles(operations={"get_object", "head_object"})
async def feature(req: SwiftRequest, call_next: Handler) -> Response:
    """The pipeline stage: a dynamic large object's manifest becomes the concatenated segments.

    The segment listing and every segment are read with the caller's rights (``segment_access``)."""
    response = await call_next(req)
    if isinstance(response, ManifestResponse) and not response.is_slo:
        return await get_large_object(req, response.backend, segment_access(req))
    return response
