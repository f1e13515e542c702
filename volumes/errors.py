"""Cinder's error bodies: a single key naming the fault, ``{"badRequest":{"code":400,"message":…}}``."""

from __future__ import annotations

from starlette.responses import JSONResponse

FAULT_NAMES = {400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound",
               405: "badMethod", 406: "notAcceptable", 409: "conflictingRequest", 413: "overLimit",
               415: "badMediaType", 501: "notImplemented", 503: "serviceUnavailable"}


class ApiError(Exception):
    """An error answered to the client with Cinder's JSON fault body."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message

    def response(self) -> JSONResponse:
        name = FAULT_NAMES.get(self.status, "computeFault")
        headers = {"WWW-Authenticate": 'Keystone uri="identity"'} if self.status == 401 else None
        return JSONResponse({name: {"code": self.status, "message": self.message}}, self.status,
                            headers=headers)


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


def not_found(kind: str, ident: str) -> ApiError:
    return ApiError(404, f"{kind} {ident} could not be found.")


def over_limit(message: str) -> ApiError:
    return ApiError(413, message)


class BackendError(Exception):
    """A backend or target operation failed (the volume goes to an error status)."""


class BackendUnavailable(BackendError):
    """The backend cannot work on this host (missing tools, VG, device-mapper)."""
