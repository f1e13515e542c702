"""``GET /recon``: the node's operator view (see ``store.recon``) as JSON."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from store.node import Node
from store.recon import node_recon


def routes(node: Node) -> list[Route]:
    """The recon routes of a node (mounted before the catch-all storage route)."""

    async def recon(request: Request) -> Response:
        loop = asyncio.get_running_loop()
        doc = await loop.run_in_executor(node.executor, node_recon, node.devices_root)
        return JSONResponse(doc)

    return [Route("/recon", recon, methods=["GET"])]
