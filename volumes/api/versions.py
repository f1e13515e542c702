"""Version discovery at ``/`` (300) and ``/v3`` (200)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from volumes.microversions import MAX_VERSION, MIN_VERSION, fmt


def _doc(request: Request) -> dict:
    public = request.app.state.svc.settings.public_endpoint.rstrip("/")
    base = public or str(request.base_url).rstrip("/")
    return {"versions": [{
        "id": "v3.0", "status": "CURRENT", "version": fmt(MAX_VERSION), "min_version": fmt(MIN_VERSION),
        "updated": "2023-09-20T00:00:00Z",
        "links": [{"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"},
                  {"rel": "self", "href": f"{base}/v3/"}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.volume+json;version=3"}],
    }]}


async def root(request: Request) -> JSONResponse:
    return JSONResponse(_doc(request), 300)


async def v3(request: Request) -> JSONResponse:
    return JSONResponse(_doc(request), 200)
