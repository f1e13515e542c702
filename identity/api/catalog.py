"""``/v3/services``, ``/v3/endpoints``, ``/v3/regions``: the catalog, administered by admins."""

from __future__ import annotations

from sqlalchemy import delete

from identity import policy, views
from identity.api.base import Ctx
from identity.api.crud import flag, flush, listing, text
from identity.errors import bad_request
from identity.lookup import get_or_404
from identity.models import Endpoint, Region, Service, new_id

INTERFACES = ("public", "internal", "admin")


def list_services(ctx: Ctx):
    policy.enforce(ctx, "identity:read_catalog")
    rows = listing(ctx, Service, ("name", "type"))
    return 200, views.collection(ctx.base, ctx.path, "services", [views.service(s, ctx.base) for s in rows])


def create_service(ctx: Ctx):
    policy.enforce(ctx, "identity:manage_catalog")
    data = ctx.obj("service")
    svc = Service(id=new_id(), type=text(data, "type", required=True), name=text(data, "name", default="") or "",
                  description=text(data, "description", default="") or "", enabled=flag(data, "enabled"))
    ctx.db.add(svc)
    flush(ctx, "service")
    return 201, {"service": views.service(svc, ctx.base)}


def get_service(ctx: Ctx):
    policy.enforce(ctx, "identity:read_catalog")
    return 200, {"service": views.service(get_or_404(ctx.db, Service, ctx.params["service_id"], "service"),
                                          ctx.base)}


def update_service(ctx: Ctx):
    policy.enforce(ctx, "identity:manage_catalog")
    svc = get_or_404(ctx.db, Service, ctx.params["service_id"], "service")
    data = ctx.obj("service")
    for key in ("type", "name", "description"):
        if key in data:
            setattr(svc, key, text(data, key, required=key == "type", default="") or "")
    if "enabled" in data:
        svc.enabled = flag(data, "enabled")
    return 200, {"service": views.service(svc, ctx.base)}


def delete_service(ctx: Ctx):
    policy.enforce(ctx, "identity:manage_catalog")
    svc = get_or_404(ctx.db, Service, ctx.params["service_id"], "service")
    ctx.db.execute(delete(Endpoint).where(Endpoint.service_id == svc.id))
    ctx.db.delete(svc)
    return 204, None


def _endpoint_fields(ctx: Ctx, ep: Endpoint, data: dict, creating: bool) -> None:
    if creating or "service_id" in data:
        ep.service_id = get_or_404(ctx.db, Service, text(data, "service_id", required=True), "service").id
    if creating or "interface" in data:
        interface = data.get("interface")
        if interface not in INTERFACES:
            raise bad_request("Invalid interface: use public, internal or admin.")
        ep.interface = interface
    if creating or "url" in data:
        url = data.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise bad_request("Invalid input for field 'url'.")
        ep.url = url
    region = data.get("region_id", data.get("region"))
    if region is not None or creating:
        if region is not None:
            get_or_404(ctx.db, Region, text(data, "region_id" if "region_id" in data else "region"), "region")
        ep.region_id = region
    if "enabled" in data or creating:
        ep.enabled = flag(data, "enabled")


def list_endpoints(ctx: Ctx):
    policy.enforce(ctx, "identity:read_catalog")
    rows = listing(ctx, Endpoint, ("service_id", "interface", "region_id"))
    return 200, views.collection(ctx.base, ctx.path, "endpoints", [views.endpoint(e, ctx.base) for e in rows])


def create_endpoint(ctx: Ctx):
    policy.enforce(ctx, "identity:manage_catalog")
    ep = Endpoint(id=new_id())
    _endpoint_fields(ctx, ep, ctx.obj("endpoint"), True)
    ctx.db.add(ep)
    return 201, {"endpoint": views.endpoint(ep, ctx.base)}


def get_endpoint(ctx: Ctx):
    policy.enforce(ctx, "identity:read_catalog")
    return 200, {"endpoint": views.endpoint(get_or_404(ctx.db, Endpoint, ctx.params["endpoint_id"], "endpoint"),
                                            ctx.base)}


def update_endpoint(ctx: Ctx):
    policy.enforce(ctx, "identity:manage_catalog")
    ep = get_or_404(ctx.db, Endpoint, ctx.params["endpoint_id"], "endpoint")
    _endpoint_fields(ctx, ep, ctx.obj("endpoint"), False)
    return 200, {"endpoint": views.endpoint(ep, ctx.base)}


def delete_endpoint(ctx: Ctx):
    policy.enforce(ctx, "identity:manage_catalog")
    ctx.db.delete(get_or_404(ctx.db, Endpoint, ctx.params["endpoint_id"], "endpoint"))
    return 204, None


def list_regions(ctx: Ctx):
    policy.enforce(ctx, "identity:read_catalog")
    rows = listing(ctx, Region, ("parent_region_id",))
    return 200, views.collection(ctx.base, ctx.path, "regions", [views.region(r, ctx.base) for r in rows])


def create_region(ctx: Ctx):
    policy.enforce(ctx, "identity:manage_catalog")
    data = ctx.obj("region")
    region = Region(id=text(data, "id", default=None) or new_id(),
                    description=text(data, "description", default="") or "",
                    parent_region_id=text(data, "parent_region_id"))
    ctx.db.add(region)
    flush(ctx, f"region {region.id}")
    return 201, {"region": views.region(region, ctx.base)}


def get_region(ctx: Ctx):
    policy.enforce(ctx, "identity:read_catalog")
    return 200, {"region": views.region(get_or_404(ctx.db, Region, ctx.params["region_id"], "region"), ctx.base)}


def delete_region(ctx: Ctx):
    policy.enforce(ctx, "identity:manage_catalog")
    region = get_or_404(ctx.db, Region, ctx.params["region_id"], "region")
    ctx.db.execute(Endpoint.__table__.update().where(Endpoint.region_id == region.id).values(region_id=None))
    ctx.db.delete(region)
    return 204, None


ROUTES = [
    ("/v3/services", "GET,HEAD", list_services),
    ("/v3/services", "POST", create_service),
    ("/v3/services/{service_id}", "GET,HEAD", get_service),
    ("/v3/services/{service_id}", "PATCH", update_service),
    ("/v3/services/{service_id}", "DELETE", delete_service),
    ("/v3/endpoints", "GET,HEAD", list_endpoints),
    ("/v3/endpoints", "POST", create_endpoint),
    ("/v3/endpoints/{endpoint_id}", "GET,HEAD", get_endpoint),
    ("/v3/endpoints/{endpoint_id}", "PATCH", update_endpoint),
    ("/v3/endpoints/{endpoint_id}", "DELETE", delete_endpoint),
    ("/v3/regions", "GET,HEAD", list_regions),
    ("/v3/regions", "POST", create_region),
    ("/v3/regions/{region_id}", "GET,HEAD", get_region),
    ("/v3/regions/{region_id}", "DELETE", delete_region),
]
