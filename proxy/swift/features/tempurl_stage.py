"""The temp URL pipeline stage (proxy/pipeline.py): signatures and answers are proxy/swift/features/tempurl.py.

A valid ``temp_url_sig`` on an object request authenticates and authorizes it, and its sub-requests
within the signing key's scope (``req.tempurl_scope``, checked by the ``authorize`` stage); its answer
hides user metadata and gets a Content-Disposition. A whole-container prefix URL (``temp_url_prefix=``)
may also GET/HEAD the container path itself, but only a staticweb listing answers it: any other
successful answer is the temp URL's 401, as in Swift.
"""

from __future__ import annotations

from starlette.responses import Response

from proxy.http.subresponses import discard
from proxy.pipeline import Handler
from proxy.swift.context import SwiftRequest
from proxy.swift.features import staticweb, tempurl


async def feature(req: SwiftRequest, call_next: Handler) -> Response:
    """Check a temp URL signature; a bad one answers 401 (400 for a manifest or copy)."""
    if "temp_url_sig" not in req.query or (req.obj is None and not tempurl.allows_container_root(req)):
        return await call_next(req)
    granted = await tempurl.authorize_tempurl(req)
    if isinstance(granted, Response):
        return granted
    req.identity, req.authorized_by = granted, "tempurl"
    response = await call_next(req)
    listing = staticweb.is_generated_listing(response)
    if req.obj is None and not listing and 200 <= response.status_code < 300:
        await discard(response)
        return tempurl.invalid(req)
    tempurl.decorate_response(req, response, inline=listing)
    return response
