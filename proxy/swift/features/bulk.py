"""Bulk delete (``POST /v1/<account>?bulk-delete``). INTERFACE SKELETON owned by the features helper."""

from __future__ import annotations

from starlette.responses import Response

from proxy.swift.context import SwiftRequest


async def bulk_delete(req: SwiftRequest) -> Response:
    """Delete the newline-separated quoted ``/container/object`` paths of the body; 200 with a result body."""
    raise NotImplementedError
