"""Servers: create (BUILD → ACTIVE in the background), list/detail, show, rename, delete, metadata."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from apiservice.db import in_db
from compute_shim import states, views
from compute_shim.api.base import (
    Ctx,
    State,
    add_row,
    attachments_of,
    context,
    get_server,
    is_uuid,
    json_body,
    page_by_marker,
)
from compute_shim.db import now
from compute_shim.errors import ApiError, bad_request, not_found
from compute_shim.models import Flavor, Server, VolumeAttachment

log = logging.getLogger("stackstore.compute")

STATUS_FILTER = {"BUILD": states.BUILDING, "ACTIVE": states.ACTIVE, "SHUTOFF": states.STOPPED,
                 "ERROR": states.ERROR}


def _str(body: dict, key: str, required: bool = False, max_len: int = 255) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > max_len:
        raise bad_request(f"Invalid input for field/attribute {key}. Value: {value!r}.")
    return value


def check_metadata(meta: Any) -> dict[str, str]:
    if not isinstance(meta, dict) or len(meta) > 128:
        raise bad_request("Invalid input for field/attribute metadata.")
    for k, v in meta.items():
        if not isinstance(k, str) or not 0 < len(k) <= 255 or not isinstance(v, str) or len(v) > 255:
            raise bad_request("Invalid input for field/attribute metadata: keys and values are strings "
                              "of at most 255 characters.")
    return dict(meta)


def _check_networks(ctx: Ctx, body: dict) -> None:
    nets = body.get("networks")
    if nets is None:
        if ctx.version.at_least(37):
            raise bad_request("Invalid input for field/attribute networks: 'networks' is a required property")
        return
    if nets in ("auto", "none") or nets == []:
        return
    raise bad_request("This cloud has no networking service; use networks 'none' or 'auto'.")


def _flavor_snapshot(db: Session, ctx: Ctx, flavor_id: str, flavor_ref: object) -> dict[str, Any]:
    flavor = db.get(Flavor, flavor_id)
    if flavor is None or (not flavor.is_public and not ctx.who.is_cloud_admin):
        raise bad_request(f"Flavor {flavor_ref} could not be found.")
    return views.flavor_snapshot(flavor)


async def create(request: Request) -> Response:
    ctx = await context(request)
    body = await json_body(request, "server")
    name = _str(body, "name", required=True)
    flavor_ref = body.get("flavorRef")
    if not isinstance(flavor_ref, str | int) or isinstance(flavor_ref, bool) or str(flavor_ref) == "":
        raise bad_request("Invalid input for field/attribute flavorRef.")
    flavor_id = str(flavor_ref).rstrip("/").rsplit("/", 1)[-1]
    image_ref = body.get("imageRef")
    if not isinstance(image_ref, str) or not image_ref:
        raise bad_request("This cloud boots servers from images only: imageRef is required.")
    image_id = image_ref.rstrip("/").rsplit("/", 1)[-1]
    if not is_uuid(image_id):
        raise bad_request(f"Invalid imageRef provided: {image_ref!r}.")
    metadata = check_metadata(body.get("metadata", {}))
    _check_networks(ctx, body)
    description = _str(body, "description") if ctx.version.at_least(19) else None
    for key in ("min_count", "max_count"):
        if body.get(key, 1) not in (1, "1"):
            raise bad_request(f"{key} must be 1: this cloud creates one server per request.")
    zone = ctx.state.settings.availability_zone
    if body.get("availability_zone") not in (None, "", zone):
        raise bad_request(f"The requested availability zone is not available: {body['availability_zone']}")
    if body.get("key_name"):
        raise bad_request(f"Invalid key_name provided: {body['key_name']} (no key pairs in this cloud).")
    snapshot = await in_db(ctx.state.sessions, _flavor_snapshot, ctx, flavor_id, flavor_ref)
    image = await ctx.state.images.get_active(image_id, ctx.token)
    if int(image.get("min_ram") or 0) > snapshot["ram"]:
        raise bad_request("Flavor's memory is too small for requested image.")
    if int(image.get("min_disk") or 0) > snapshot["disk"]:
        raise bad_request("Flavor's disk is too small for requested image.")
    ts = now()
    srv = Server(id=str(uuid.uuid4()), name=name, project_id=ctx.who.project_id, user_id=ctx.who.user_id,
                 flavor_id=flavor_id, flavor=snapshot, image_id=image["id"], metadata_=metadata, key_name=None,
                 description=description, availability_zone=zone, host=ctx.state.settings.host,
                 vm_state=states.BUILDING, task_state="spawning", power_state=states.NOSTATE, fault=None,
                 deleted=False, created_at=ts, updated_at=ts)
    await in_db(ctx.state.sessions, add_row, srv)
    background(ctx.state, build(ctx.state, srv.id))
    doc = {"id": srv.id, "links": views.server_summary(srv, ctx.base)["links"], "OS-DCF:diskConfig": "MANUAL",
           "adminPass": secrets.token_urlsafe(9)}
    return JSONResponse({"server": doc}, 202, headers={"Location": f"{ctx.base}/v2.1/servers/{srv.id}"})


def background(st: State, coro: Any) -> None:
    task = asyncio.get_running_loop().create_task(coro)
    st.tasks.add(task)
    task.add_done_callback(st.tasks.discard)


async def set_state(st: State, server_id: str, expect: tuple[str, ...] | None = None, **values: Any) -> bool:
    """Update a live server (only from the ``expect`` vm_states when given)."""
    return await in_db(st.sessions, _set_state, server_id, expect, values)


def _set_state(db: Session, server_id: str, expect: tuple[str, ...] | None, values: dict[str, Any]) -> bool:
    srv = db.get(Server, server_id)
    if srv is None or srv.deleted or (expect is not None and srv.vm_state not in expect):
        return False
    for key, value in values.items():
        setattr(srv, key, value)
    srv.updated_at = now()
    db.commit()
    return True


def fault(message: str, code: int = 500) -> dict[str, Any]:
    return {"code": code, "message": message[:255], "created": views.isotime(now())}


def _row(db: Session, server_id: str) -> Server | None:
    return db.get(Server, server_id)


async def build(st: State, server_id: str) -> None:
    srv = await in_db(st.sessions, _row, server_id)
    try:
        await st.driver.spawn(srv)
    except Exception as exc:  # any driver failure puts the server in ERROR
        log.warning("spawning server %s failed: %s", server_id, exc)
        await set_state(st, server_id, (states.BUILDING,), vm_state=states.ERROR, task_state=None,
                        fault=fault(str(exc)))
        return
    await set_state(st, server_id, (states.BUILDING,), vm_state=states.ACTIVE, task_state=None,
                    power_state=states.RUNNING, launched_at=now())


def _name_matcher(pattern: str) -> Any:
    try:
        return re.compile(pattern[:255]).search
    except re.error:
        return lambda name: pattern in name


def _listed(db: Session, ctx: Ctx) -> tuple[list[Server], dict[str, list]]:
    q = ctx.request.query_params
    stmt = select(Server).where(Server.deleted.is_(False))
    all_tenants = ctx.who.is_cloud_admin and q.get("all_tenants", "0").lower() not in ("0", "false", "f", "no", "off")
    project = q.get("project_id") or q.get("tenant_id")
    if ctx.who.is_cloud_admin and project and all_tenants:
        stmt = stmt.where(Server.project_id == project)
    elif not all_tenants:
        stmt = stmt.where(Server.project_id == ctx.who.project_id)
    if q.get("status"):
        vm_state = STATUS_FILTER.get(q["status"].upper())
        if vm_state is None:
            return [], {}
        stmt = stmt.where(Server.vm_state == vm_state)
    for param, column in (("flavor", Server.flavor_id), ("image", Server.image_id)):
        if q.get(param):
            stmt = stmt.where(column == q[param].rstrip("/").rsplit("/", 1)[-1])
    rows = list(db.scalars(stmt.order_by(Server.created_at.desc(), Server.id.desc())))
    if q.get("name"):
        match = _name_matcher(q["name"])
        rows = [r for r in rows if match(r.name)]
    rows = page_by_marker(rows, q)
    return rows, {r.id: attachments_of(db, r.id) for r in rows}


async def index(request: Request) -> JSONResponse:
    ctx = await context(request)
    rows, _ = await in_db(ctx.state.sessions, _listed, ctx)
    return JSONResponse({"servers": [views.server_summary(s, ctx.base) for s in rows]})


async def detail(request: Request) -> JSONResponse:
    ctx = await context(request)
    rows, attached = await in_db(ctx.state.sessions, _listed, ctx)
    return JSONResponse({"servers": [views.server(s, ctx.base, ctx.version, attached[s.id], ctx.who.is_cloud_admin)
                                     for s in rows]})


def _doc(db: Session, ctx: Ctx, srv: Server) -> dict[str, Any]:
    return views.server(srv, ctx.base, ctx.version, attachments_of(db, srv.id), ctx.who.is_cloud_admin)


def _server_doc(db: Session, ctx: Ctx, server_id: str) -> dict[str, Any]:
    return _doc(db, ctx, get_server(db, ctx, server_id))


async def show(request: Request) -> JSONResponse:
    ctx = await context(request)
    doc = await in_db(ctx.state.sessions, _server_doc, ctx, request.path_params["server_id"])
    return JSONResponse({"server": doc})


def _update(db: Session, ctx: Ctx, server_id: str, body: dict[str, Any]) -> dict[str, Any]:
    srv = get_server(db, ctx, server_id)
    if "name" in body:
        srv.name = _str(body, "name", required=True)
    if "description" in body and ctx.version.at_least(19):
        srv.description = _str(body, "description")
    srv.updated_at = now()
    db.commit()
    return _doc(db, ctx, srv)


async def update(request: Request) -> JSONResponse:
    ctx = await context(request)
    body = await json_body(request, "server")
    return JSONResponse({"server": await in_db(ctx.state.sessions, _update, ctx, request.path_params["server_id"],
                                               body)})


def _start_delete(db: Session, ctx: Ctx, server_id: str) -> tuple[Server, list[VolumeAttachment]]:
    """Mark the server ``deleting``; its volume attachments, to detach."""
    srv = get_server(db, ctx, server_id)
    if srv.task_state == "deleting":
        raise ApiError(409, f"Instance {srv.id} is already being deleted.")
    srv.task_state = "deleting"
    db.commit()
    return srv, attachments_of(db, srv.id, ("attached", "attaching", "detaching"))


async def delete(request: Request) -> Response:
    ctx = await context(request)
    srv, bdms = await in_db(ctx.state.sessions, _start_delete, ctx, request.path_params["server_id"])
    try:
        for bdm in bdms:
            await ctx.state.attacher.detach(srv.project_id, ctx.token, srv, bdm, bdm.delete_on_termination)
    except ApiError as exc:
        await set_state(ctx.state, srv.id, vm_state=states.ERROR, task_state=None,
                        fault=fault(exc.message, exc.status))
        raise
    await ctx.state.driver.destroy(srv)
    await set_state(ctx.state, srv.id, deleted=True, vm_state=states.DELETED, task_state=None,
              power_state=states.NOSTATE, terminated_at=now())
    return Response(status_code=204)


async def metadata(request: Request) -> JSONResponse:
    ctx = await context(request)
    srv = await in_db(ctx.state.sessions, get_server, ctx, request.path_params["server_id"])
    return JSONResponse({"metadata": dict(srv.metadata_)})


def _set_metadata(db: Session, ctx: Ctx, server_id: str, meta: dict[str, str], replace: bool) -> dict[str, str]:
    srv = get_server(db, ctx, server_id)
    srv.metadata_ = meta if replace else {**(srv.metadata_ or {}), **meta}
    srv.updated_at = now()
    db.commit()
    return dict(srv.metadata_)


async def set_metadata(request: Request) -> JSONResponse:
    """POST merges, PUT replaces."""
    ctx = await context(request)
    meta = check_metadata(await json_body(request, "metadata"))
    merged = await in_db(ctx.state.sessions, _set_metadata, ctx, request.path_params["server_id"], meta,
                         request.method == "PUT")
    return JSONResponse({"metadata": merged})


def _delete_metadata(db: Session, ctx: Ctx, server_id: str, key: str) -> None:
    srv = get_server(db, ctx, server_id)
    if key not in (srv.metadata_ or {}):
        raise not_found(f"Metadata item was not found: {key}")
    srv.metadata_ = {k: v for k, v in srv.metadata_.items() if k != key}
    db.commit()


async def delete_metadata(request: Request) -> Response:
    ctx = await context(request)
    await in_db(ctx.state.sessions, _delete_metadata, ctx, request.path_params["server_id"],
                request.path_params["key"])
    return Response(status_code=204)
