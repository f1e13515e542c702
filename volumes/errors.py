"""Cinder's error bodies: a single key naming the fault, ``{"badRequest":{"code":400,"message":…}}``."""

from __future__ import annotations

from starlette.responses import JSONResponse

from apiservice.errors import FAULT_NAMES
from apiservice.errors import ApiError as BaseApiError


class ApiError(BaseApiError):
    """An error answered to the client with Cinder's JSON fault body."""

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
