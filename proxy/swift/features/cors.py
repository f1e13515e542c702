"""CORS from container metadata. INTERFACE SKELETON owned by the features helper."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response

from proxy.swift.context import SwiftRequest


async def preflight(req: SwiftRequest) -> Response:
    """``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``: 200 with the allow headers, or 401."""
    raise NotImplementedError


def decorate(req: SwiftRequest, response: Response, container_meta: Mapping[str, str]) -> None:
    """Add ``Access-Control-Allow-Origin``/``-Expose-Headers`` to an actual response when allowed."""
    raise NotImplementedError
