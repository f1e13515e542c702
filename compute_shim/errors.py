"""Nova's error bodies: one key naming the fault, ``{"itemNotFound":{"code":404,"message":…}}``."""

from __future__ import annotations

from starlette.responses import JSONResponse

from apiservice.errors import ApiError as BaseApiError

FAULTS = {400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound", 405: "badMethod",
          406: "notAcceptable", 409: "conflictingRequest", 413: "overLimit", 415: "badMediaType",
          501: "notImplemented", 503: "serviceUnavailable"}


class ApiError(BaseApiError):
    """A failure in Nova's body shape."""

    def response(self) -> JSONResponse:
        if self.status == 401:
            return JSONResponse({"error": {"code": 401, "title": "Unauthorized", "message": self.message}}, 401,
                                headers={"WWW-Authenticate": 'Keystone uri="identity"'})
        name = FAULTS.get(self.status, "computeFault")
        return JSONResponse({name: {"code": self.status, "message": self.message}}, self.status)


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


def not_found(message: str) -> ApiError:
    return ApiError(404, message)


def conflict(message: str) -> ApiError:
    return ApiError(409, message)


def forbidden(message: str = "Policy doesn't allow this operation to be performed.") -> ApiError:
    return ApiError(403, message)
