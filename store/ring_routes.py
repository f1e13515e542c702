"""A node's rings for its peers: ``GET /rings`` (versions), ``GET /rings/<name>`` (the file) and
``PUT /rings/<name>`` (install a newer version); see ``objclient.ring_distribution``.

Like every node request these must be signed with the cluster's node key (``store.server.NodeApp``):
only a holder of that key can read the ring or install one.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, BinaryIO

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from objclient import ring_distribution as dist
from ring.errors import RingFileError
from store.io_threads import run_blocking
from store.node import Node

READ_CHUNK = 1 << 20


def _open_file(path: Path) -> tuple[BinaryIO, int] | None:
    """The file open for reading and its size then; None when there is no such file."""
    try:
        handle = open(path, "rb")  # closed by the response's body iterator
    except (FileNotFoundError, IsADirectoryError):
        return None
    return handle, os.fstat(handle.fileno()).st_size


def routes(node: Node) -> list[Route]:
    """The ring routes of a node (mounted before the catch-all storage route)."""
    ring_dir = node.conf.ring_dir

    async def io(fn: Any, *args: Any) -> Any:
        return await run_blocking(node.executor, fn, *args)

    async def versions(request: Request) -> Response:
        found = await io(dist.local_versions, ring_dir)
        return JSONResponse({name: {"version": version} for name, version in found.items()})

    async def ring_file(request: Request) -> Response:
        name = request.path_params["name"]
        if not dist.is_ring_name(name):
            return PlainTextResponse("no such ring", status_code=404)
        if request.method == "PUT":
            return await _install(request, name)
        opened = await io(_open_file, dist.ring_path(ring_dir, name))
        if opened is None:
            return PlainTextResponse("no such ring", status_code=404)
        # the length and the bytes come from one open file: a newer ring renamed over the path meanwhile
        # (a push) is the next fetch's, never half of this answer
        handle, size = opened
        return StreamingResponse(_chunks(handle), media_type="application/octet-stream",
                                 headers={"Content-Length": str(size)})

    async def _chunks(handle: BinaryIO) -> AsyncIterator[bytes]:
        try:
            while chunk := await io(handle.read, READ_CHUNK):
                yield chunk
        finally:
            await io(handle.close)

    async def _install(request: Request, name: str) -> Response:
        try:
            length = int(request.headers.get("content-length", ""))
        except ValueError:
            return PlainTextResponse("Content-Length required", status_code=411)
        if not 0 < length <= dist.MAX_RING_BYTES:
            return PlainTextResponse("ring too large or empty", status_code=413 if length > 0 else 400)
        chunks: list[bytes] = []
        received = 0
        async for chunk in request.stream():  # bounded by the Content-Length checked above
            received += len(chunk)
            if received > length:
                return PlainTextResponse("body longer than Content-Length", status_code=400)
            chunks.append(chunk)
        if received != length:
            return PlainTextResponse("body shorter than Content-Length", status_code=400)
        try:
            result = await io(dist.install, ring_dir, name, b"".join(chunks))
        except RingFileError as exc:
            return PlainTextResponse(f"not a valid ring: {exc}", status_code=422)
        if result.installed:
            return PlainTextResponse(f"installed version {result.version}", status_code=201)
        if result.current == result.version:
            return PlainTextResponse(f"version {result.version} already installed", status_code=200)
        return PlainTextResponse(f"version {result.current} installed, newer than {result.version}",
                                 status_code=409)

    return [Route("/rings", versions, methods=["GET", "HEAD"]),
            Route("/rings/{name}", ring_file, methods=["GET", "HEAD", "PUT"])]
