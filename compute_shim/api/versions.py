"""Version discovery: ``GET /`` (every version) and ``GET /v2.1`` (this one), no token needed."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from compute_shim.api.base import state_of
from compute_shim.microversions import MAX, MIN

UPDATED = "2013-07-23T11:33:21Z"


def _v21(base: str) -> dict:
    return {"id": "v2.1", "status": "CURRENT", "version": f"{MAX[0]}.{MAX[1]}",
            "min_version": f"{MIN[0]}.{MIN[1]}", "updated": UPDATED,
            "links": [{"rel": "self", "href": f"{base}/v2.1/"}],
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.compute+json;version=2.1"}]}


async def root(request: Request) -> JSONResponse:
    base = state_of(request).settings.public_url
    v20 = {"id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "", "updated": "2011-01-21T11:33:21Z",
           "links": [{"rel": "self", "href": f"{base}/v2/"}]}
    return JSONResponse({"versions": [v20, _v21(base)]})


async def v21(request: Request) -> JSONResponse:
    doc = _v21(state_of(request).settings.public_url)
    doc["links"].append({"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"})
    return JSONResponse({"version": doc})
