"""Flavors: list/detail/show for everyone, create/delete and extra specs changes for admins."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from apiservice.db import in_db
from compute_shim import views
from compute_shim.api.base import Ctx, context, json_body, page_by_marker
from compute_shim.db import now
from compute_shim.errors import bad_request, conflict, forbidden, not_found
from compute_shim.models import Flavor
from stackstore.numbers import parse_int


def _admin(ctx: Ctx) -> None:
    if not ctx.who.is_cloud_admin:
        raise forbidden("Policy doesn't allow os_compute_api:os-flavor-manage to be performed.")


def _get(db: Session, ctx: Ctx, flavor_id: str) -> Flavor:
    f = db.get(Flavor, flavor_id) if len(flavor_id) <= 255 else None
    if f is None or (not f.is_public and not ctx.who.is_cloud_admin):
        raise not_found(f"Flavor {flavor_id} could not be found.")
    return f


def _listed(db: Session, ctx: Ctx) -> list[Flavor]:
    q = ctx.request.query_params
    is_public = (q.get("is_public") or "true").lower()
    stmt = select(Flavor)
    if not ctx.who.is_cloud_admin or is_public in ("true", "t", "1", "yes"):
        stmt = stmt.where(Flavor.is_public.is_(True))
    elif is_public in ("false", "f", "0", "no"):
        stmt = stmt.where(Flavor.is_public.is_(False))
    for param, column in (("minRam", Flavor.ram), ("minDisk", Flavor.disk)):
        if q.get(param):
            minimum = parse_int(q[param])
            if minimum is None:
                raise bad_request(f"Invalid {param} filter [{q[param]}]")
            stmt = stmt.where(column >= minimum)
    rows = list(db.scalars(stmt))
    sort_key = q.get("sort_key", "flavorid")
    key = {"flavorid": lambda f: (len(f.id), f.id)}.get(sort_key, lambda f: getattr(f, sort_key, f.id))
    if sort_key not in ("flavorid", "name", "ram", "vcpus", "disk", "id", "memory_mb", "root_gb"):
        raise bad_request(f"Invalid sort_key {sort_key}")
    rows.sort(key=key, reverse=q.get("sort_dir", "asc") == "desc")
    return page_by_marker(rows, q)


async def index(request: Request) -> JSONResponse:
    ctx = await context(request)
    rows = await in_db(ctx.state.sessions, _listed, ctx)
    return JSONResponse({"flavors": [views.flavor_summary(f, ctx.base, ctx.version) for f in rows]})


async def detail(request: Request) -> JSONResponse:
    ctx = await context(request)
    rows = await in_db(ctx.state.sessions, _listed, ctx)
    return JSONResponse({"flavors": [views.flavor(f, ctx.base, ctx.version) for f in rows]})


async def show(request: Request) -> JSONResponse:
    ctx = await context(request)
    f = await in_db(ctx.state.sessions, _get, ctx, request.path_params["flavor_id"])
    return JSONResponse({"flavor": views.flavor(f, ctx.base, ctx.version)})


def _int_field(body: dict, name: str, minimum: int, default: int | None = None) -> int:
    value = body.get(name, default)
    if value in ("", None) and default is not None:
        value = default
    try:
        number = int(value) if not isinstance(value, str) else parse_int(value)
        if number is None or isinstance(value, bool) or isinstance(value, float) and value != number:
            raise ValueError
    except (TypeError, ValueError):
        raise bad_request(f"Invalid input for field/attribute {name}. Value: {value}.") from None
    if not minimum <= number < 2**31:
        raise bad_request(f"Invalid input for field/attribute {name}. Value: {value}.")
    return number


def _add(db: Session, f: Flavor) -> None:
    if db.get(Flavor, f.id) is not None or db.scalar(select(Flavor).where(Flavor.name == f.name)):
        raise conflict(f"Flavor with ID {f.id} or name {f.name} already exists.")
    db.add(f)
    db.commit()


async def create(request: Request) -> JSONResponse:
    ctx = await context(request)
    _admin(ctx)
    body = await json_body(request, "flavor")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise bad_request("Invalid input for field/attribute name.")
    fid = body.get("id")
    if fid in (None, "", "auto"):
        fid = str(uuid.uuid4())
    if not isinstance(fid, str | int) or isinstance(fid, bool) or len(str(fid)) > 255:
        raise bad_request("Invalid input for field/attribute id.")
    public = body.get("os-flavor-access:is_public", True)
    desc = body.get("description")
    if not isinstance(public, bool) or (desc is not None and not isinstance(desc, str)):
        raise bad_request("Invalid input for field/attribute os-flavor-access:is_public or description.")
    try:
        rxtx = float(body.get("rxtx_factor", 1.0))
    except (TypeError, ValueError):
        raise bad_request("Invalid input for field/attribute rxtx_factor.") from None
    f = Flavor(id=str(fid), name=name.strip(), ram=_int_field(body, "ram", 1), vcpus=_int_field(body, "vcpus", 1),
               disk=_int_field(body, "disk", 0), ephemeral=_int_field(body, "OS-FLV-EXT-DATA:ephemeral", 0, 0),
               swap=_int_field(body, "swap", 0, 0), rxtx_factor=rxtx, is_public=public, description=desc,
               extra_specs={}, created_at=now())
    await in_db(ctx.state.sessions, _add, f)
    return JSONResponse({"flavor": views.flavor(f, ctx.base, ctx.version)})


def _delete(db: Session, ctx: Ctx, flavor_id: str) -> None:
    db.delete(_get(db, ctx, flavor_id))
    db.commit()


async def delete(request: Request) -> Response:
    ctx = await context(request)
    _admin(ctx)
    await in_db(ctx.state.sessions, _delete, ctx, request.path_params["flavor_id"])
    return Response(status_code=202)


async def extra_specs(request: Request) -> JSONResponse:
    ctx = await context(request)
    f = await in_db(ctx.state.sessions, _get, ctx, request.path_params["flavor_id"])
    return JSONResponse({"extra_specs": dict(f.extra_specs or {})})


def _merge_specs(db: Session, ctx: Ctx, flavor_id: str, specs: dict[str, Any]) -> None:
    f = _get(db, ctx, flavor_id)
    f.extra_specs = {**(f.extra_specs or {}), **{k: str(v) for k, v in specs.items()}}
    db.commit()


async def set_extra_specs(request: Request) -> JSONResponse:
    ctx = await context(request)
    _admin(ctx)
    specs = await json_body(request, "extra_specs")
    if not all(isinstance(k, str) and isinstance(v, str | int | float) and len(k) <= 255 for k, v in specs.items()):
        raise bad_request("Invalid input for field/attribute extra_specs.")
    await in_db(ctx.state.sessions, _merge_specs, ctx, request.path_params["flavor_id"], specs)
    return JSONResponse({"extra_specs": {k: str(v) for k, v in specs.items()}})


def _drop_spec(db: Session, ctx: Ctx, flavor_id: str, key: str) -> None:
    f = _get(db, ctx, flavor_id)
    if key not in (f.extra_specs or {}):
        raise not_found(f"Flavor {f.id} has no extra specs with key {key}.")
    f.extra_specs = {k: v for k, v in f.extra_specs.items() if k != key}
    db.commit()


async def delete_extra_spec(request: Request) -> Response:
    ctx = await context(request)
    _admin(ctx)
    await in_db(ctx.state.sessions, _drop_spec, ctx, request.path_params["flavor_id"], request.path_params["key"])
    return Response(status_code=200)
