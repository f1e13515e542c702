"""A node's rings for its peers: ``GET /rings`` (versions), ``GET /rings/<name>`` (the file) and
``PUT /rings/<name>`` (install a newer version); see ``objclient.ring_distribution``.

Like every node request these must be signed with the cluster's node key (``store.server.NodeApp``):
only a holder of that key can read the ring or install one.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from objclient import ring_distribution as dist
from ring.errors import RingFileError
from store.io_threads import run_blocking
from store.node import Node


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
        path = dist.ring_path(ring_dir, name)
        if not await io(path.is_file):
            return PlainTextResponse("no such ring", status_code=404)
        # streamed from the file (read in threads); a ring renamed over it between the size check and the
        # read fails the fetcher's length or checksum check, and it fetches again at its next check
        return FileResponse(path, media_type="application/octet-stream")

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
