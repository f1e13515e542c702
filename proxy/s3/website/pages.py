"""The HTML answers of the website endpoint: error pages as AWS's website endpoints write them, redirects.

An error is ``<status> <reason>`` as title and heading, then a list of the error's ``Code``, ``Message``,
details (``Key``, ``BucketName``), ``RequestId`` and ``HostId``; when the bucket's error document could not
be read either, a second list says why. The code and message are also sent as ``x-amz-error-code`` and
``x-amz-error-message`` headers (a HEAD gets the headers alone).
"""

from __future__ import annotations

import html
from http import HTTPStatus

from starlette.responses import Response

from proxy.s3.errors import S3Error

CONTENT_TYPE = "text/html; charset=utf-8"
DOCUMENT_ERROR = "An Error Occurred While Attempting to Retrieve a Custom Error Document"


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _items(err: S3Error) -> list[str]:
    lines = [f"<li>Code: {html.escape(err.code)}</li>", f"<li>Message: {html.escape(err.message)}</li>"]
    lines += [f"<li>{html.escape(k)}: {html.escape(v)}</li>" for k, v in err.extra.items()]
    return lines


def error_page(err: S3Error, request_id: str, head: bool = False,
               document_error: S3Error | None = None) -> Response:
    """The endpoint's own HTML page for ``err`` (``document_error``: why the error document was not served)."""
    title = f"{err.status} {_reason(err.status)}"
    lines = ["<html>", f"<head><title>{title}</title></head>", "<body>", f"<h1>{title}</h1>", "<ul>",
             *_items(err), f"<li>RequestId: {html.escape(request_id)}</li>",
             f"<li>HostId: {html.escape(request_id)}</li>", "</ul>"]
    if document_error is not None:
        lines += [f"<h3>{DOCUMENT_ERROR}</h3>", "<ul>", *_items(document_error), "</ul>"]
    lines += ["<hr/>", "</body>", "</html>", ""]
    body = "\n".join(lines).encode()
    headers = {**error_headers(err), **err.headers, "Content-Length": str(len(body))}
    resp = Response(b"" if head else body, err.status, headers=headers)
    resp.headers["Content-Type"] = CONTENT_TYPE
    return resp


def error_headers(err: S3Error) -> dict[str, str]:
    """``x-amz-error-code`` / ``x-amz-error-message`` of a website error answer."""
    return {"x-amz-error-code": err.code, "x-amz-error-message": err.message}


def redirect(location: str, status: int = 301) -> Response:
    """A redirect with an empty body, as the website endpoint sends them."""
    return Response(b"", status, headers={"Location": location})
