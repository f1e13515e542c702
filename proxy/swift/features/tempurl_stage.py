"""The temp URL pipeline stage (proxy/pipeline.py): signatures and answers are proxy/swift/features/tempurl.py.

A valid ``temp_url_sig`` on an object request authenticates and authorizes that one request (the
``authenticate`` and ``authorize`` stages let it through); its answer hides user metadata and gets
a Content-Disposition.
"""

from __future__ import annotations

from starlette.responses import Response

from proxy.pipeline import Handler
from proxy.swift.context import SwiftRequest
from proxy.swift.features import tempurl


async def feature(req: SwiftRequest, call_next: Handler) -> Response:
    """Check a temp URL signature; a bad one answers 401 (400 for a manifest or copy)."""
    if "temp_url_sig" not in req.query or req.obj is None:
        return await call_next(req)
    granted = await tempurl.authorize_tempurl(req)
    if isinstance(granted, Response):
        return granted
    req.identity, req.authorized_by = granted, "tempurl"
    response = await call_next(req)
    tempurl.decorate_response(req, response)
    return response
