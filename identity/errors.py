"""Keystone's error documents: ``{"error": {"code", "message", "title"}}``."""

from __future__ import annotations

from starlette.responses import JSONResponse

TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
          405: "Method Not Allowed", 408: "Request Timeout", 409: "Conflict", 413: "Request Entity Too Large",
          429: "Too Many Requests", 500: "Internal Server Error"}


class KeystoneError(Exception):
    """Raised anywhere in a request; the API layer turns it into the JSON error response."""

    def __init__(self, code: int, message: str = "", headers: dict[str, str] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message or TITLES.get(code, "Error")
        self.headers = dict(headers or {})

    def response(self) -> JSONResponse:
        headers = {**self.headers, **({"WWW-Authenticate": 'Keystone uri="/v3"'} if self.code == 401 else {})}
        body = {"error": {"code": self.code, "message": self.message, "title": TITLES.get(self.code, "Error")}}
        return JSONResponse(body, status_code=self.code, headers=headers)


def bad_request(message: str) -> KeystoneError:
    return KeystoneError(400, message)


def unauthorized(message: str = "The request you have made requires authentication.") -> KeystoneError:
    return KeystoneError(401, message)


def forbidden(message: str = "You are not authorized to perform the requested action.") -> KeystoneError:
    return KeystoneError(403, message)


def not_found(kind: str, ident: str) -> KeystoneError:
    return KeystoneError(404, f"Could not find {kind}: {ident}.")


def conflict(message: str) -> KeystoneError:
    return KeystoneError(409, f"Conflict occurred attempting to store {message}.")
