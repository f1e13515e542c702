"""Swift-style small error responses (``<html><h1>Not Found</h1><p>...</p></html>``)."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response

# status -> (title, explanation), as Swift's swob sends them
STATUS: dict[int, tuple[str, str]] = {
    200: ("OK", ""),
    201: ("Created", ""),
    202: ("Accepted", "The request is accepted for processing."),
    204: ("No Content", ""),
    206: ("Partial Content", ""),
    304: ("Not Modified", ""),
    400: ("Bad Request",
          "The server could not comply with the request since it is either malformed or otherwise incorrect."),
    401: ("Unauthorized", "This server could not verify that you are authorized to access the document you requested."),
    403: ("Forbidden", "Access was denied to this resource."),
    404: ("Not Found", "The resource could not be found."),
    405: ("Method Not Allowed", "The method is not allowed for this resource."),
    406: ("Not Acceptable", "The server has no content that matches the accept header."),
    408: ("Request Timeout", "The server has waited too long for the request to be sent by the client."),
    409: ("Conflict", "There was a conflict when trying to complete your request."),
    411: ("Length Required", "Content-Length header required."),
    412: ("Precondition Failed", "A precondition for this request was not met."),
    413: ("Request Entity Too Large", "The body of your request was too large for this server."),
    414: ("Request URI Too Long", "The request URI was too long for this server."),
    416: ("Requested Range Not Satisfiable", "The Range requested is not available."),
    422: ("Unprocessable Entity", "Unable to process the contained instructions"),
    499: ("Client Disconnect", "The client was disconnected during request."),
    500: ("Internal Error", "The server has either erred or is incapable of performing the requested operation."),
    501: ("Not Implemented", "The server is unable to perform the requested function."),
    503: ("Service Unavailable", "The server is currently unavailable. Please try again at a later time."),
    507: ("Insufficient Storage", "There was not enough space to save the resource. Drive: unknown"),
}

HTML = "text/html; charset=UTF-8"
PLAIN = "text/plain; charset=UTF-8"


def status_line(status: int) -> str:
    """``"404 Not Found"``, as bulk-style result bodies quote statuses."""
    return f"{status} {STATUS.get(status, ('Unknown', ''))[0]}"


def error_response(status: int, detail: str | None = None,
                   headers: Mapping[str, str] | None = None, content_type: str | None = None) -> Response:
    """A small Swift error: plain text when ``detail`` is given (or ``content_type``, for the errors
    Swift sends ``detail`` as ``text/html``), else swob's default HTML body."""
    if detail is not None:
        body, ctype = detail, content_type or PLAIN
    else:
        title, text = STATUS.get(status, ("Error", ""))
        body, ctype = (f"<html><h1>{title}</h1><p>{text}</p></html>" if text else ""), HTML
    resp = Response(body, status_code=status, headers=dict(headers or {}))
    resp.headers["Content-Type"] = ctype
    return resp


def empty_response(status: int, headers: Mapping[str, str] | None = None) -> Response:
    """A body-less success response (201/202/204) with Swift's html content type; a 204 says
    ``Content-Length: 0`` as Swift's do."""
    headers = dict(headers or {})
    if status == 204:
        headers.setdefault("Content-Length", "0")
    resp = Response(b"", status_code=status, headers=headers)
    if status != 304:
        resp.headers.setdefault("Content-Type", HTML)
    return resp


class HTTPError(Exception):
    """Raise anywhere below a controller to answer with a Swift error response."""

    def __init__(self, status: int, detail: str | None = None, headers: Mapping[str, str] | None = None,
                 content_type: str | None = None):
        super().__init__(f"{status} {detail or ''}".strip())
        self.status = status
        self.detail = detail
        self.headers = dict(headers or {})
        self.content_type = content_type

    def response(self) -> Response:
        return error_response(self.status, self.detail, self.headers, self.content_type)
