"""Bulk upload: ``PUT /v1/<account>[/<container>[/<prefix>]]?extract-archive=tar|tar.gz|tar.bz2``.

As Swift 2.38's bulk middleware (``handle_extract_iter``): the body is a tar archive, read as it
arrives (proxy/swift/features/tar_stream.py, never whole). Each regular file becomes an object at
``<the request's path>/<its name in the archive>``; PUT to the account, a file's first path component
is its container and files at the archive's top level are ignored. A container that does not exist
is created (HEAD, then PUT) — at most ``MAX_CONTAINERS_PER_EXTRACTION`` of them. Every container
and object is a sub-request **by the caller** sent through the rest of the pipeline
(``proxy.swift.access.authorize``), so each file is authorized like a PUT of its own. The request's
``X-Delete-At``/``X-Delete-After`` and ``X-Object-Meta-*`` headers, and a file's pax extended
attributes ``user.mime_type``/``user.meta.*``, go onto every object.

The answer is always 200; its body (``Accept``: text/plain, JSON or XML) says ``Number Files
Created``, ``Response Status`` (201 when all went well), ``Response Body`` and ``Errors`` (quoted path
and status of each failed file; the run stops after ``MAX_FAILED_EXTRACTIONS``). While the archive is
being extracted the body carries a space every ``[proxy] bulk_yield_frequency`` seconds (10, as
Swift's ``yield_frequency``) so clients and load balancers keep the connection open.
"""

from __future__ import annotations

import asyncio
import contextlib
import tarfile
import zlib
from collections.abc import AsyncIterator
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Message, Receive, Scope, Send

from proxy.http.errors import HTTPError, error_response
from proxy.http.subresponses import discard
from proxy.pipeline import Handler, handles
from proxy.swift.access import authorize
from proxy.swift.constraints import MAX_CONTAINER_NAME_LENGTH, MAX_FILE_SIZE, MAX_OBJECT_NAME_LENGTH, check_names
from proxy.swift.context import SwiftRequest
from proxy.swift.features import results
from proxy.swift.features.results import status_line
from proxy.swift.features.tar_stream import TarStream
from proxy.swift.operations import EXTRACT_ARCHIVE

MAX_CONTAINERS_PER_EXTRACTION = 10000
MAX_FAILED_EXTRACTIONS = 1000
MAX_PATH_LENGTH = MAX_OBJECT_NAME_LENGTH + MAX_CONTAINER_NAME_LENGTH + 2
YIELD_FREQUENCY = 10.0
ARCHIVE_TYPES = {"tar": "", "tar.gz": "gz", "tar.bz2": "bz2"}

INFO = {"max_containers_per_extraction": MAX_CONTAINERS_PER_EXTRACTION,
        "max_failed_extractions": MAX_FAILED_EXTRACTIONS}

_COPIED_HEADERS = ("x-delete-at", "x-delete-after")


class ExtractError(Exception):
    """Stops the extraction; reported as the body's ``Response Status``/``Response Body``."""

    def __init__(self, status: int, body: str = ""):
        super().__init__(body)
        self.status, self.body = status, body


@handles(operations={EXTRACT_ARCHIVE})
async def feature(req: SwiftRequest, call_next: Handler) -> Response:
    """The pipeline stage: answer the router table's extract-archive operation."""
    if req.operation is not None and req.operation.name == EXTRACT_ARCHIVE:
        return await extract_archive(req, call_next)
    return await call_next(req)


async def extract_archive(req: SwiftRequest, call_next: Handler) -> Response:
    """Start the extraction; 200 whose streamed body reports the outcome (400 for an unknown archive type)."""
    compression = ARCHIVE_TYPES.get(req.query.get("extract-archive", "").lower().strip("."))
    if compression is None:
        return error_response(400, "Unsupported archive format")
    fmt = results.best_format(req.headers.get("accept"))
    run = _Extraction(req, call_next, compression)
    frequency = float(req.state.conf.get("proxy", {}).get("bulk_yield_frequency", YIELD_FREQUENCY))
    return ReadingWhileStreaming(_answer(run, fmt, frequency), status_code=200,
                                 media_type=results.content_type(fmt))


class ReadingWhileStreaming(StreamingResponse):
    """A streamed answer sent while the request body is still being read.

    Starlette's ``StreamingResponse`` (ASGI < 2.4) listens for a disconnect by calling ``receive``
    concurrently, which would swallow the rest of the archive; this one only sends. A client that goes
    away fails the next send (a heartbeat at the latest), which stops the extraction."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.stream_response(send)


async def _answer(run: _Extraction, fmt: str, frequency: float) -> AsyncIterator[bytes]:
    """Heartbeats while ``run`` works, then the result body (after a blank line when heartbeats were sent)."""
    task = asyncio.create_task(run.extract())
    heartbeat = b'<?xml version="1.0" encoding="UTF-8"?>\n' if fmt.endswith("/xml") else b" "
    separator = b""
    try:
        while not task.done():
            done, _ = await asyncio.wait({task}, timeout=frequency)
            if not done:
                yield heartbeat
                heartbeat, separator = b" ", b"\r\n\r\n"
        await task
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    yield separator + results.render(fmt, run.data, run.errors, "extract")


class _Extraction:
    """One archive's extraction: counters, failures and the containers already seen."""

    def __init__(self, req: SwiftRequest, call_next: Handler, compression: str):
        self.req, self.call_next, self.compression = req, call_next, compression
        self.data: dict[str, object] = {"Response Status": status_line(201), "Response Body": "",
                                        "Number Files Created": 0}
        self.errors: list[list[str]] = []
        self.containers_seen: set[str] = set()
        self.containers_created = 0
        self.failure_status = 400
        base = "/".join(p for p in (req.container, req.obj) if p is not None)
        self.base = base.rstrip("/")

    async def extract(self) -> None:
        """Read the archive and upload its files; the outcome goes into ``data`` and ``errors``."""
        try:
            headers = self.req.headers
            if "content-length" not in headers and headers.get("transfer-encoding", "").lower() != "chunked":
                raise ExtractError(411, "Length Required")
            async with TarStream(self.req.request.stream(), self.compression) as tar:
                while len(self.errors) < MAX_FAILED_EXTRACTIONS:
                    info = await tar.next_file()
                    if info is None:
                        break
                    await self.extract_file(tar, info)
            if self.errors:
                self.data["Response Status"] = status_line(self.failure_status)
            elif not self.data["Number Files Created"]:
                self.data["Response Status"] = status_line(400)
                self.data["Response Body"] = "Invalid Tar File: No Valid Files"
        except ExtractError as err:
            self.data["Response Status"] = status_line(err.status)
            self.data["Response Body"] = err.body
        except (tarfile.TarError, zlib.error, EOFError, OSError) as err:
            self.data["Response Status"] = status_line(400)
            self.data["Response Body"] = f"Invalid Tar File: {err}"

    def fail(self, path: str, status: str) -> None:
        self.errors.append([quote(path[:MAX_PATH_LENGTH]), status])

    async def extract_file(self, tar: TarStream, info: tarfile.TarInfo) -> None:
        """Upload one archive member (skipped when it is at the top level)."""
        path = info.name[2:] if info.name.startswith("./") else info.name
        path = path.lstrip("/")
        if self.base:
            path = f"{self.base}/{path}"
        if "/" not in path:
            return  # a top-level file has no container to go into
        container, obj = path.split("/", 1)
        try:
            path.encode("utf-8")
        except UnicodeEncodeError:  # a name that is not UTF-8 (kept by tarfile as surrogates)
            self.fail(path.encode("utf-8", "surrogateescape").decode("latin-1"), status_line(412))
            return
        if info.size > MAX_FILE_SIZE:
            self.fail(path, status_line(413))
            return
        try:  # sub-requests skip the router's name checks: a PUT of this path would be a 400
            if not container or not obj:
                raise HTTPError(400)
            check_names(self.req.account, container, obj)
        except HTTPError:
            self.fail(path, status_line(400))
            return
        container_failure = None
        if container not in self.containers_seen:
            container_failure = await self.ensure_container(container)
        resp = await authorize(self.put_request(container, obj, info, tar), self.call_next)
        await discard(resp)
        self.containers_seen.add(container)
        status = resp.status_code
        if status // 100 == 2:
            self.data["Number Files Created"] += 1  # type: ignore[operator]
            return
        if container_failure:
            self.errors.append(container_failure)
        if status == 401:
            self.fail(path, status_line(401))
            raise ExtractError(401, "Unauthorized")
        if status // 100 == 5:
            self.failure_status = 502
        self.fail(path, status_line(status))

    async def ensure_container(self, container: str) -> list[str] | None:
        """HEAD the container and create it when missing; the failure to report with a failed upload."""
        req = self.req
        resp = await authorize(req.subrequest("HEAD", req.account, container), self.call_next)
        await discard(resp)
        if resp.status_code // 100 == 2:
            return None
        if resp.status_code == 404:
            resp = await authorize(req.subrequest("PUT", req.account, container), self.call_next)
            await discard(resp)
            if resp.status_code // 100 == 2:
                self.containers_created += 1
                if self.containers_created > MAX_CONTAINERS_PER_EXTRACTION:
                    raise ExtractError(400, f"More than {MAX_CONTAINERS_PER_EXTRACTION} containers to create "
                                            "from tar.")
                return None
        if resp.status_code == 401:
            raise ExtractError(401, "Unauthorized")
        cont_path = f"/v1/{req.account}/{container}"
        return [quote(cont_path[:MAX_PATH_LENGTH]), status_line(resp.status_code)]

    def put_request(self, container: str, obj: str, info: tarfile.TarInfo, tar: TarStream) -> SwiftRequest:
        """The PUT of one file by the caller, its body streamed from the archive."""
        headers = {"Content-Length": str(info.size)}
        for name, value in self.req.headers.items():
            if name.lower() in _COPIED_HEADERS or name.lower().startswith("x-object-meta-"):
                headers[name] = value
        for key, value in info.pax_headers.items():
            header = pax_key_to_header(key)
            if header:
                headers[header] = value.encode("utf-8").decode("latin-1")
        sub = self.req.subrequest("PUT", self.req.account, container, obj, headers=headers)
        sub.request = Request(sub.request.scope, _receiving(tar.file_chunks()))
        return sub


def pax_key_to_header(key: str) -> str | None:
    """The object header a pax extended attribute becomes (as Swift): MIME type and user metadata only."""
    for prefix in ("SCHILY.xattr.user.", "LIBARCHIVE.xattr.user."):
        if key == prefix + "mime_type":
            return "Content-Type"
        if key.startswith(prefix + "meta."):
            return "X-Object-Meta-" + key[len(prefix + "meta."):]
    return None


def _receiving(chunks: AsyncIterator[bytes]) -> Receive:
    """An ASGI ``receive`` over ``chunks``."""
    iterator = chunks.__aiter__()
    done = False

    async def receive() -> Message:
        nonlocal done
        if done:
            return {"type": "http.disconnect"}
        try:
            chunk = await iterator.__anext__()
        except StopAsyncIteration:
            done = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.request", "body": chunk, "more_body": True}

    return receive
