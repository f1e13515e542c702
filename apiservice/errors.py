"""The error every OpenStack-style API service raises: a status and a message, answered in the
service's own body shape (each service subclasses :class:`ApiError` with its ``response``)."""

from __future__ import annotations

from starlette.responses import JSONResponse

# the key naming the fault in Nova's and Cinder's error bodies: {"itemNotFound": {"code": 404, "message": ...}}
FAULT_NAMES = {400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound", 405: "badMethod",
               406: "notAcceptable", 409: "conflictingRequest", 413: "overLimit", 415: "badMediaType",
               501: "notImplemented", 503: "serviceUnavailable"}


class ApiError(Exception):
    """A failure answered as ``status`` with ``message``; subclasses shape the JSON body."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message

    def response(self) -> JSONResponse:
        return JSONResponse({"error": {"code": self.status, "message": self.message}}, self.status)
