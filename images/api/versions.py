"""Version discovery: ``GET /`` (300) and ``GET /versions`` (200), Glance's list of v2.x entries."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from images.api.base import state

CURRENT = "v2.7"  # 2.7: os_hidden and multihash (os_hash_algo/os_hash_value)
SUPPORTED = ("v2.6", "v2.5", "v2.4", "v2.3", "v2.2", "v2.1", "v2.0")


def _doc(request: Request) -> dict:
    base = state(request).settings.public_url or str(request.base_url).rstrip("/")
    link = [{"rel": "self", "href": f"{base}/v2/"}]
    entries = [{"id": CURRENT, "status": "CURRENT", "links": link}]
    entries += [{"id": v, "status": "SUPPORTED", "links": link} for v in SUPPORTED]
    return {"versions": entries}


async def root(request: Request) -> JSONResponse:
    return JSONResponse(_doc(request), 300)


async def versions(request: Request) -> JSONResponse:
    return JSONResponse(_doc(request))
