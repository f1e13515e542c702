"""Nova's error bodies: one key naming the fault, ``{"itemNotFound":{"code":404,"message":…}}``."""

from __future__ import annotations

from starlette.responses import JSONResponse

from apiservice.errors import FAULT_NAMES
from apiservice.errors import ApiError as BaseApiError


class ApiError(BaseApiError):
    """A failure in Nova's body shape."""

    def response(self) -> JSONResponse:
        if self.status == 401:
            return JSONResponse({"error": {"code": 401, "title": "Unauthorized", "message": self.message}}, 401,
                                headers={"WWW-Authenticate": 'Keystone uri="identity"'})
        name = FAULT_NAMES.get(self.status, "computeFault")
        return JSONResponse({name: {"code": self.status, "message": self.message}}, self.status)


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


def not_found(message: str) -> ApiError:
    return ApiError(404, message)


def conflict(message: str) -> ApiError:
    return ApiError(409, message)


def forbidden(message: str = "Policy doesn't allow this operation to be performed.") -> ApiError:
    return ApiError(403, message)
