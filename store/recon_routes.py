"""``GET /recon`` and ``GET /recon/quarantined``: the node's operator view (see ``store.recon``) as JSON."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from store.node import Node
from store.recon import node_recon, quarantined_counts

log = logging.getLogger("store.recon")


def live_replication(node: Node) -> dict[str, Any] | None:
    """The in-process replicator's counters (when it runs here and persists no stats file)."""
    try:
        from store.replication.service import replication_for
    except ImportError:
        return None
    try:
        stats = replication_for(node).stats()
        totals = (stats.get("objects") or {}).get("totals") or {}
        return {"last_pass": stats.get("last_pass_end") or None, "passes": stats.get("passes", 0),
                "replicated": totals.get("files_sent", 0), "failed": totals.get("failures", 0)}
    except Exception as exc:  # recon must answer even if the replicator's shape changes
        log.warning("reading replication stats failed: %r", exc)
        return None


def routes(node: Node) -> list[Route]:
    """The recon routes of a node (mounted before the catch-all storage route)."""

    async def recon(request: Request) -> Response:
        loop = asyncio.get_running_loop()
        doc = await loop.run_in_executor(node.executor, node_recon, node.devices_root, live_replication(node))
        return JSONResponse(doc)

    async def quarantined(request: Request) -> Response:
        loop = asyncio.get_running_loop()
        return JSONResponse(await loop.run_in_executor(node.executor, quarantined_counts, node.devices_root))

    return [Route("/recon", recon, methods=["GET"]),
            Route("/recon/quarantined", quarantined, methods=["GET"])]
