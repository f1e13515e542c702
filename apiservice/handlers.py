"""Starlette exception handlers shared by the Nova and Glance shims: every failure in the API's body shape."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from apiservice.errors import ApiError

Handler = Callable[[Request, Exception], Awaitable[Response]]


def exception_handlers(error: type[ApiError], log: logging.Logger, unexpected: str,
                       not_found: str | None = None) -> dict[Any, Handler]:
    """Handlers answering with ``error``'s body: its own errors, Starlette's HTTP errors (404 worded as
    ``not_found`` when given), values the database refuses (400) and anything unexpected (500)."""

    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return exc.response()

    async def http_error(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 400)
        if status == 404 and not_found:
            return error(404, not_found).response()
        return error(status, str(getattr(exc, "detail", "")) or "Request failed").response()

    async def unstorable(request: Request, exc: Exception) -> Response:
        """A value the database refuses (PostgreSQL: NUL bytes, over-long strings, integers out of range)."""
        assert isinstance(exc, DataError)
        return error(400, f"Invalid input: {str(exc.orig).splitlines()[0]}").response()

    async def unexpected_error(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error(500, unexpected).response()

    return {error: api_error, HTTPException: http_error, DataError: unstorable, Exception: unexpected_error}
