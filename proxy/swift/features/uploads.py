"""What an object write is about to add to a container: where it lands and how many bytes.

Shared by the quota features (account_quotas, container_quotas), which check it before the write as
Swift's quota middlewares do after its copy middleware turned a copy into a PUT: a plain ``PUT``
adds its ``Content-Length`` (0 when chunked), ``PUT`` + ``X-Copy-From`` and ``COPY`` add the size of
their source, asked as a ``HEAD`` sub-request by the caller through the rest of the pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass

from proxy.http.errors import HTTPError
from proxy.http.headers import unquote_wire
from proxy.pipeline import Handler
from proxy.swift.access import authorize, check
from proxy.swift.context import SwiftRequest
from proxy.swift.copy import parse_copy_path


@dataclass(frozen=True)
class Upload:
    """One object write: its destination account and container, and the bytes it adds."""

    account: str
    container: str
    size: int


def _account(req: SwiftRequest, header: str) -> str | None:
    value = req.headers.get(header)
    return req.account if not value else unquote_wire(value)


def _content_length(req: SwiftRequest) -> int:
    try:
        return max(0, int(req.headers.get("content-length") or 0))
    except ValueError:
        return 0


async def _source_size(req: SwiftRequest, call_next: Handler, account: str, container: str, obj: str) -> int:
    """The size a copy of ``account/container/obj`` writes (0 when the caller cannot HEAD it: the copy
    itself then answers with that error)."""
    query = {"multipart-manifest": "get"} if req.query.get("multipart-manifest") == "get" else None
    answer = await authorize(req.subrequest("HEAD", account, container, obj, query=query), call_next)
    try:
        return max(0, int(answer.headers.get("content-length") or 0)) if 200 <= answer.status_code < 300 else 0
    except ValueError:
        return 0


async def planned_upload(req: SwiftRequest, call_next: Handler) -> Upload | None:
    """The object write ``req`` makes (None for anything else, or a copy path that is malformed:
    the copy answers that 412 itself)."""
    if req.obj is None or req.container is None:
        return None
    if req.method == "PUT" and "x-copy-from" not in req.headers:
        return Upload(req.account, req.container, _content_length(req))
    try:
        if req.method == "PUT":
            container, obj = parse_copy_path(req.headers["x-copy-from"], "X-Copy-From")
            account = _account(req, "x-copy-from-account")
            if account is None:
                return None
            return Upload(req.account, req.container, await _source_size(req, call_next, account, container, obj))
        if req.method == "COPY" and req.headers.get("destination"):
            container, obj = parse_copy_path(req.headers["destination"], "Destination")
            account = _account(req, "destination-account")
            if account is None:
                return None
            if await check(req.subrequest("PUT", account, container, obj)) is not None:
                return None  # the copy answers the caller's 401/403 on the destination, not a 413
            size = await _source_size(req, call_next, req.account, req.container, req.obj)
            return Upload(account, container, size)
    except HTTPError:  # a malformed copy header: the copy's own 412
        return None
    return None
