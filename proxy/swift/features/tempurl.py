"""Temporary URLs (HMAC-SHA1/256/512). INTERFACE SKELETON owned by the features helper."""

from __future__ import annotations

from starlette.responses import Response

from proxy.swift.context import Identity, SwiftRequest


async def authorize_tempurl(req: SwiftRequest) -> Identity | Response:
    """Called by the auth layer when ``temp_url_sig`` is in the query: an Identity scoped to this
    one object and method, or a 401 Response."""
    raise NotImplementedError
