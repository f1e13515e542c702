"""``/servers/{id}/os-volume_attachments``: list, show, attach (200), detach (202), update (2.85)."""

from __future__ import annotations

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from apiservice.db import in_db
from compute_shim import states, views
from compute_shim.api.base import Ctx, attachments_of, context, get_server, is_uuid, json_body
from compute_shim.errors import bad_request, not_found
from compute_shim.models import Server, VolumeAttachment


async def _server(ctx: Ctx) -> Server:
    return await in_db(ctx.state.sessions, get_server, ctx, ctx.request.path_params["server_id"])


def _find(db: Session, srv: Server, volume_id: str) -> VolumeAttachment:
    for bdm in attachments_of(db, srv.id):
        if bdm.volume_id == volume_id:
            return bdm
    raise not_found(f"Volume {volume_id} is not attached to instance {srv.id}.")


def _set_delete_on_termination(db: Session, bdm_id: str, value: bool) -> None:
    db.get(VolumeAttachment, bdm_id).delete_on_termination = value
    db.commit()


async def index(request: Request) -> JSONResponse:
    ctx = await context(request)
    srv = await _server(ctx)
    rows = await in_db(ctx.state.sessions, attachments_of, srv.id)
    return JSONResponse({"volumeAttachments": [views.attachment(a, ctx.version) for a in rows]})


async def show(request: Request) -> JSONResponse:
    ctx = await context(request)
    bdm = await in_db(ctx.state.sessions, _find, await _server(ctx), request.path_params["volume_id"])
    return JSONResponse({"volumeAttachment": views.attachment(bdm, ctx.version)})


async def create(request: Request) -> JSONResponse:
    ctx = await context(request)
    body = await json_body(request, "volumeAttachment")
    volume_id = body.get("volumeId")
    if not is_uuid(volume_id):
        raise bad_request(f"Invalid input for field/attribute volumeId. Value: {volume_id!r} is not a 'uuid'.")
    device = body.get("device")
    if device is not None and not isinstance(device, str):
        raise bad_request("Invalid input for field/attribute device.")
    tag = body.get("tag") if ctx.version.at_least(49) else None
    if tag is not None and (not isinstance(tag, str) or len(tag) > 60 or "/" in tag or "," in tag):
        raise bad_request("Invalid input for field/attribute tag.")
    dot = body.get("delete_on_termination", False) if ctx.version.at_least(79) else False
    if not isinstance(dot, bool):
        raise bad_request("Invalid input for field/attribute delete_on_termination.")
    srv = await _server(ctx)
    states.check(srv, "attach")
    bdm = await ctx.state.attacher.attach(srv.project_id, ctx.token, srv, volume_id, device or None, tag, dot)
    return JSONResponse({"volumeAttachment": views.attachment(bdm, ctx.version)})


async def update(request: Request) -> Response:
    """Only ``delete_on_termination`` (2.85) on the same volume; swapping volumes is not supported."""
    ctx = await context(request)
    body = await json_body(request, "volumeAttachment")
    bdm = await in_db(ctx.state.sessions, _find, await _server(ctx), request.path_params["volume_id"])
    if body.get("volumeId") not in (None, bdm.volume_id):
        raise bad_request("Swapping volumes is not supported by this cloud.")
    if "delete_on_termination" in body:
        if not ctx.version.at_least(85) or not isinstance(body["delete_on_termination"], bool):
            raise bad_request("Invalid input for field/attribute delete_on_termination.")
        await in_db(ctx.state.sessions, _set_delete_on_termination, bdm.id, body["delete_on_termination"])
    return Response(status_code=202)


async def delete(request: Request) -> Response:
    ctx = await context(request)
    srv = await _server(ctx)
    states.check(srv, "detach")
    bdm = await in_db(ctx.state.sessions, _find, srv, request.path_params["volume_id"])
    await ctx.state.attacher.detach(srv.project_id, ctx.token, srv, bdm)
    return Response(status_code=202)
