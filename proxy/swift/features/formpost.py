"""FormPost: browser form uploads (``multipart/form-data`` POST), as Swift's ``formpost`` middleware.

``POST /v1/<account>/<container>[/<prefix>]`` with the fields ``redirect``, ``max_file_size``,
``max_file_count``, ``expires`` and ``signature`` (optionally ``x_delete_at``, ``x_delete_after``,
``content-type``, ``content-encoding``) before the files. The signature is
``HMAC(key, "<path>\\n<redirect>\\n<max_file_size>\\n<max_file_count>\\n<expires>")`` (SHA1/256/512,
hex or ``<digest>:<base64>``) with one of the account's or container's temp URL keys.

Each file is streamed (never held whole) into a PUT sub-request of ``<path><filename>`` that the
signature alone authorizes (``authorized_by == "formpost"``): one object below the signed path. The
answer is the last upload's status (``303`` to ``redirect?status=...&message=...`` when a redirect
was given); form errors are ``400 FormPost: ...`` and bad signatures ``401 FormPost: ...``.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import AsyncIterator
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from proxy.context import Identity
from proxy.http.errors import status_line
from proxy.http.multipart_form import MultipartError, MultipartReader, Part, header_params
from proxy.http.subresponses import read_body
from proxy.pipeline import Handler, handles
from proxy.swift.context import SwiftRequest
from proxy.swift.features import meta, tempurl
from stackstore.numbers import parse_int

MAX_VALUE_LENGTH = 4096  # longer field values are cut
MAX_ERROR_BODY = 64 * 1024
ALLOWED_DIGESTS = sorted(tempurl.DIGESTS)
DEPRECATED_DIGESTS = ["sha1"]
INFO = {"allowed_digests": ALLOWED_DIGESTS, "deprecated_digests": DEPRECATED_DIGESTS}
GRANT = "formpost"  # SwiftRequest.authorized_by of the uploads
# headers of the form request an upload keeps
KEPT_HEADERS = ("host", "user-agent", "referer", "origin")


class FormInvalid(Exception):
    """400 ``FormPost: <message>``."""


class FormUnauthorized(Exception):
    """401 ``FormPost: <Message Titled>``."""


def is_form(req: SwiftRequest) -> bool:
    """A POST whose body is ``multipart/form-data`` with a boundary."""
    if req.method != "POST":
        return False
    kind, params = header_params(req.headers.get("content-type", ""))
    return kind == "multipart/form-data" and bool(params.get("boundary"))


@handles(methods={"POST"})
async def feature(req: SwiftRequest, call_next: Handler) -> Response:
    """The pipeline stage: translate a form POST into uploads; other requests pass."""
    if not is_form(req):
        return await call_next(req)
    boundary = header_params(req.headers["content-type"])[1]["boundary"]
    try:
        return await _Form(req, call_next).translate(MultipartReader(req.request.stream(), boundary))
    except MultipartError:
        return _plain(400, "FormPost: invalid starting boundary")
    except FormInvalid as err:
        return _plain(400, f"FormPost: {err}")
    except FormUnauthorized as err:
        resp = Response(f"FormPost: {str(err).title()}", status_code=401,
                        headers={"Www-Authenticate": f'Swift realm="{quote(req.account)}"'})
        resp.headers["Content-Type"] = "text/html; charset=UTF-8"
        return resp


def _plain(status: int, body: str) -> Response:
    resp = Response(body, status_code=status)
    resp.headers["Content-Type"] = "text/plain"
    return resp


class _Form:
    """One form POST: its fields so far and the uploads made."""

    def __init__(self, req: SwiftRequest, call_next: Handler):
        self.req = req
        self.call_next = call_next
        self.fields: dict[str, str] = {}

    async def translate(self, reader: MultipartReader) -> Response:
        """Read the parts in order: fields are remembered, each file is uploaded with the fields seen so far."""
        status, message, error_body = 0, "", b""
        upload_headers: dict[str, str] = {}
        keys: list[str] | None = None
        files = 0
        while (part := await reader.next_part()) is not None:
            kind, params = part.disposition
            if kind == "form-data" and params.get("filename"):
                files += 1
                if files > self.int_field("max_file_count", "max_file_count not an integer"):
                    status, message = 400, "max file count exceeded"
                    break
                if keys is None:
                    keys = await self.keys()
                resp = await self.upload(part, params["filename"], keys)
                status = resp.status_code
                upload_headers = {k: v for k, v in resp.headers.items() if k.lower().startswith("access-control")}
                if not 200 <= status < 300:
                    error_body = await read_body(resp, MAX_ERROR_BODY) or b""
                    break
                await read_body(resp, MAX_ERROR_BODY)
            else:
                value = (await part.read(MAX_VALUE_LENGTH)).decode("utf-8", "replace")
                if "name" in params:
                    self.fields[params["name"].lower()] = value.rstrip("\r\n-")
        if not status:
            status, message = 400, "no files to process"
        return self.answer(status, message, error_body, upload_headers)

    def answer(self, status: int, message: str, error_body: bytes, headers: dict[str, str]) -> Response:
        redirect = self.fields.get("redirect")
        if not redirect:
            text = status_line(status) + (f"\r\nFormPost: {message.title()}" if message else "")
            body = error_body if error_body and not 200 <= status < 300 else text.encode()
            resp = Response(body, status_code=status, headers=headers)
            resp.headers["Content-Type"] = "text/plain"
            return resp
        location = redirect + ("&" if "?" in redirect else "?")
        location += f"status={quote(str(status))}&message={quote(message)}"
        page = f'<html><body><p><a href="{location}">Click to continue...</a></p></body></html>'
        return Response(page, status_code=303, headers={**headers, "Location": location})

    def int_field(self, name: str, error: str) -> int:
        number = parse_int((self.fields.get(name) or "0").strip())  # ASCII digits only, bounded length
        if number is None:
            raise FormInvalid(error)
        return number

    async def keys(self) -> list[str]:
        """The account's and container's temp URL keys (none without a container in the path)."""
        req = self.req
        if not req.container:
            return []
        found: list[str | None] = []
        account = await meta.account_headers(req)
        if account is not None:
            found += [account.get("x-account-meta-temp-url-key"), account.get("x-account-meta-temp-url-key-2")]
        container = await meta.container_headers(req, req.container)
        if container is not None:
            found += [container.get("x-container-meta-temp-url-key"),
                      container.get("x-container-meta-temp-url-key-2")]
        return [k for k in found if k]

    def check_signature(self, keys: list[str]) -> None:
        """FormUnauthorized unless the form's signature is one of ``keys``' over the signed fields."""
        f = self.fields
        signed = "\n".join([self.req.path, f.get("redirect") or "", f.get("max_file_size") or "0",
                            f.get("max_file_count") or "0", f.get("expires") or "0"]).encode()
        parsed = tempurl.parse_signature(f.get("signature", ""))
        if parsed is None or parsed[0] not in ALLOWED_DIGESTS:
            raise FormUnauthorized("invalid signature")
        digest, mac = parsed
        valid = False
        for key in keys:
            valid |= hmac.compare_digest(hmac.new(key.encode(), signed, tempurl.DIGESTS[digest]).digest(), mac)
        if not valid:
            raise FormUnauthorized("invalid signature")

    def upload_headers(self) -> dict[str, str]:
        """The PUT's headers from the fields (checked in Swift's order)."""
        f = self.fields
        headers = {k: v for k, v in self.req.headers.items() if k.lower() in KEPT_HEADERS}
        headers["transfer-encoding"] = "chunked"
        for field, header, error in (
                ("x_delete_at", "x-delete-at", "x_delete_at not an integer: Unix timestamp required."),
                ("x_delete_after", "x-delete-after", "x_delete_after not an integer: Number of seconds required.")):
            if field in f:
                headers[header] = str(self.int_field(field, error))
        if "content-type" in f:
            headers["content-type"] = f["content-type"] or "application/octet-stream"
        if "content-encoding" in f:
            headers["content-encoding"] = f["content-encoding"]
        return headers

    async def upload(self, part: Part, filename: str, keys: list[str]) -> Response:
        """PUT the file part as ``<path><filename>``, its size capped at ``max_file_size``."""
        if not keys:
            raise FormUnauthorized("invalid signature")
        max_size = self.int_field("max_file_size", "max_file_size not an integer")
        part_type = part.headers.get("content-type")
        headers = self.upload_headers()
        if "content-type" not in self.fields and part_type is not None:
            headers["content-type"] = part_type or "application/octet-stream"
        if "content-encoding" not in self.fields and "content-encoding" in part.headers:
            headers["content-encoding"] = part.headers["content-encoding"]
        if self.int_field("expires", "expired not an integer") < time.time():
            raise FormUnauthorized("form expired")
        self.check_signature(keys)
        body = _CappedBody(part.body(), max_size)
        resp = await self.call_next(self.put_request(filename, headers, body))
        if body.exceeded:
            await read_body(resp, MAX_ERROR_BODY)
            raise FormInvalid("max_file_size exceeded")
        return resp

    def put_request(self, filename: str, headers: dict[str, str], body: _CappedBody) -> SwiftRequest:
        """A PUT of ``<path><filename>`` authorized by the form's signature only."""
        req = self.req
        obj = (req.obj or "") + filename
        sub = req.subrequest("PUT", req.account, req.container, obj)
        scope = dict(sub.request.scope, headers=[(k.encode("latin-1"), v.encode("latin-1"))
                                                 for k, v in headers.items()])
        sub.request = Request(scope, body.receive)
        sub.identity = Identity(user="", account=req.account)
        sub.authorized_by = GRANT
        return sub


class _CappedBody:
    """An ASGI ``receive`` over a part's body that stops (as a disconnect) past ``limit`` bytes."""

    def __init__(self, chunks: AsyncIterator[bytes], limit: int):
        self.chunks = chunks.__aiter__()
        self.limit = limit
        self.received = 0
        self.exceeded = False
        self.done = False

    async def receive(self) -> dict:
        if self.done:
            return {"type": "http.disconnect"}
        try:
            chunk = await self.chunks.__anext__()
        except StopAsyncIteration:
            self.done = True
            return {"type": "http.request", "body": b"", "more_body": False}
        self.received += len(chunk)
        if self.received > self.limit:
            self.exceeded = self.done = True
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": chunk, "more_body": True}
