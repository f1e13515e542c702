"""Bulk delete (``POST|DELETE /v1/<account>?bulk-delete``), as Swift's bulk middleware.

The body lists URL-quoted ``/container/object`` (or ``/container``) paths, one per line. Objects are
deleted first (bounded concurrency), then containers: each is a DELETE sub-request by the caller sent
through the rest of the pipeline, authorized (``proxy.swift.access.authorize``) like any DELETE. The
answer is always 200; per-path failures and the overall outcome are in the body (JSON, XML or plain
text).
"""

from __future__ import annotations

import asyncio
from urllib.parse import quote, unquote

from starlette.responses import Response

from proxy.pipeline import Handler, handles
from proxy.swift.access import authorize
from proxy.swift.context import SwiftRequest
from proxy.swift.features import results
from proxy.swift.features.results import status_line
from proxy.swift.operations import BULK_DELETE

MAX_DELETES_PER_REQUEST = 10000
MAX_FAILED_DELETES = 1000
MAX_PATH_LENGTH = 1024 + 256 + 2  # object + container name + slashes, before quoting
DELETE_CONCURRENCY = 10

INFO = {"max_deletes_per_request": MAX_DELETES_PER_REQUEST, "max_failed_deletes": MAX_FAILED_DELETES}


class BulkError(Exception):
    """Stops the whole request; reported as the body's ``Response Status``/``Response Body``."""

    def __init__(self, status: int, body: str):
        super().__init__(body)
        self.status, self.body = status, body


@handles(operations={BULK_DELETE})
async def feature(req: SwiftRequest, call_next: Handler) -> Response:
    """The pipeline stage: answer the router table's bulk delete operation."""
    if req.operation is not None and req.operation.name == BULK_DELETE:
        return await bulk_delete(req, call_next)
    return await call_next(req)


async def bulk_delete(req: SwiftRequest, call_next: Handler) -> Response:
    """Delete the newline-separated quoted ``/container/object`` paths of the body; 200 with a result body.

    Each path is a DELETE sub-request through ``call_next`` (the pipeline below this feature)."""
    fmt = results.best_format(req.headers.get("accept"))
    state = _Run(req, call_next)
    try:
        names = await _read_names(req)
        objects = [n for n in names if "/" in n.strip("/")]
        containers = [n for n in names if "/" not in n.strip("/")]
        await state.run(objects)
        await state.run(containers)
        state.finish()
    except BulkError as err:
        state.data["Response Status"] = status_line(err.status)
        state.data["Response Body"] = err.body
    body = results.render(fmt, state.data, state.errors, "delete")
    return Response(body, status_code=200, media_type=results.content_type(fmt))


async def _read_names(req: SwiftRequest) -> list[str]:
    """Unquoted, non-empty paths of the body (at most MAX_DELETES_PER_REQUEST)."""
    names: list[str] = []
    pending = b""
    limit = 3 * MAX_PATH_LENGTH + 2

    def take(line: bytes) -> None:
        if len(line) > limit:
            raise BulkError(400, "Invalid File Name")
        text = unquote(line.decode("utf-8", "replace")).strip()
        if text:
            if len(names) >= MAX_DELETES_PER_REQUEST:
                raise BulkError(413, f"Maximum Bulk Deletes: {MAX_DELETES_PER_REQUEST} per request")
            names.append(text)

    async for chunk in req.request.stream():
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            take(line)
        if len(pending) > limit:
            raise BulkError(400, "Invalid File Name")
    take(pending)
    return names


class _Run:
    """Counters and errors of one bulk delete."""

    def __init__(self, req: SwiftRequest, call_next: Handler):
        self.req = req
        self.call_next = call_next
        self.data: dict[str, object] = {"Number Deleted": 0, "Number Not Found": 0,
                                        "Response Status": "200 OK", "Response Body": ""}
        self.errors: list[list[str]] = []
        self.unauthorized = False

    async def run(self, names: list[str]) -> None:
        queue: asyncio.Queue[str] = asyncio.Queue()
        for name in names:
            queue.put_nowait(name)

        async def worker() -> None:
            while not queue.empty():
                name = queue.get_nowait()
                if len(self.errors) >= MAX_FAILED_DELETES:
                    raise BulkError(400, "Max delete failures exceeded")
                await self.delete_one(name)

        workers = [asyncio.create_task(worker()) for _ in range(min(DELETE_CONCURRENCY, len(names)))]
        try:
            await asyncio.gather(*workers)
        finally:
            for task in workers:
                task.cancel()

    async def delete_one(self, name: str) -> None:
        container, _, obj = name.lstrip("/").partition("/")
        if not container:
            self.fail(name, 400)
            return
        sub = self.req.subrequest("DELETE", self.req.account, container, obj or None)
        status = (await authorize(sub, self.call_next)).status_code
        if status // 100 == 2:
            self.data["Number Deleted"] += 1  # type: ignore[operator]
        elif status == 404:
            self.data["Number Not Found"] += 1  # type: ignore[operator]
        else:
            self.unauthorized = self.unauthorized or status == 401
            self.fail(name, status)

    def fail(self, name: str, status: int) -> None:
        self.errors.append([quote(name), status_line(status)])

    def finish(self) -> None:
        if self.errors:
            self.data["Response Status"] = status_line(401 if self.unauthorized else 400)
        elif not (self.data["Number Deleted"] or self.data["Number Not Found"]):
            self.data["Response Status"] = status_line(400)
            self.data["Response Body"] = "Invalid bulk delete."
