"""Swift's answers to object writes, shared by PUT, copies and features."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response

from proxy.http.errors import empty_response, error_response
from proxy.swift.context import SwiftRequest
from stackstore.timestamp import Timestamp


def created_response(req: SwiftRequest, backend_headers: Mapping[str, str],
                     extra: dict[str, str] | None = None) -> Response:
    """Swift's 201 for an object write: unquoted Etag, Last-Modified, X-Timestamp."""
    ts = Timestamp(backend_headers.get("x-timestamp") or req.timestamp or Timestamp.now())
    headers = {"Etag": (backend_headers.get("etag") or "").strip('"'),
               "Last-Modified": backend_headers.get("last-modified") or ts.http_date,
               "X-Timestamp": ts.normal, **(extra or {})}
    return empty_response(201, headers)


def backend_failure(status: int) -> Response:
    """Map a failed backend write to the client status Swift would answer."""
    if status in (400, 404, 408, 409, 411, 412, 413, 422, 499):
        return error_response(status)
    return error_response(503)
