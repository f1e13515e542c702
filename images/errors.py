"""Glance-style errors: the status code plus a small JSON body the clients print."""

from __future__ import annotations

from http import HTTPStatus

from starlette.responses import JSONResponse

from apiservice.errors import ApiError as BaseApiError


class ApiError(BaseApiError):
    """A failure in Glance's body shape."""

    def response(self) -> JSONResponse:
        title = HTTPStatus(self.status).phrase
        headers = {"WWW-Authenticate": 'Keystone uri="identity"'} if self.status == 401 else None
        return JSONResponse({"code": self.status, "title": title, "message": self.message}, self.status,
                            headers=headers)


def not_found(image_id: str) -> ApiError:
    return ApiError(404, f"No image found with ID {image_id}")


def forbidden(message: str = "You are not authorized to complete this action.") -> ApiError:
    return ApiError(403, message)
