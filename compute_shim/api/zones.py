"""``os-availability-zone``: the one zone this compute host is in."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from compute_shim.api.base import context
from compute_shim.db import now
from compute_shim.errors import forbidden
from compute_shim.views import isotime


async def index(request: Request) -> JSONResponse:
    ctx = await context(request)
    zone = ctx.state.settings.availability_zone
    return JSONResponse({"availabilityZoneInfo": [{"zoneName": zone, "zoneState": {"available": True},
                                                   "hosts": None}]})


async def detail(request: Request) -> JSONResponse:
    ctx = await context(request)
    if not ctx.who.is_cloud_admin:
        raise forbidden()
    st = ctx.state.settings
    hosts = {st.host: {"nova-compute": {"available": True, "active": True, "updated_at": isotime(now())}}}
    return JSONResponse({"availabilityZoneInfo": [{"zoneName": st.availability_zone,
                                                   "zoneState": {"available": True}, "hosts": hosts}]})
