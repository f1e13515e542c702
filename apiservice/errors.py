"""The error every OpenStack-style API service raises: a status and a message, answered in the
service's own body shape (each service subclasses :class:`ApiError` with its ``response``)."""

from __future__ import annotations

from starlette.responses import JSONResponse


class ApiError(Exception):
    """A failure answered as ``status`` with ``message``; subclasses shape the JSON body."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message

    def response(self) -> JSONResponse:
        return JSONResponse({"error": {"code": self.status, "message": self.message}}, self.status)
