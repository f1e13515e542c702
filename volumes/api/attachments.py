"""``/attachments`` (3.27+): create (with or without connector), update, ``os-complete``, delete, list."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from volumes import attach
from volumes.api.common import Req, endpoint, tenant_filtered
from volumes.api.lookups import get_attachment, get_volume
from volumes.errors import ApiError, bad_request
from volumes.models import Attachment
from volumes.views import attachment_detail, attachment_summary


def _require(req: Req, minor: int) -> None:
    if not req.ctx.version.at_least(minor):
        raise ApiError(404, f"The resource could not be found (requires microversion 3.{minor}).")


@endpoint
def create(req: Req) -> tuple[int, dict]:
    _require(req, 27)
    data = req.member("attachment")
    volume_id = data.get("volume_uuid")
    if not volume_id:
        raise bad_request("Invalid input received: volume_uuid is required.")
    mode = data.get("mode", "rw") if req.ctx.version.at_least(54) else "rw"
    connector = data.get("connector")
    with req.svc.db.session() as s:
        vol = get_volume(s, req, str(volume_id))
        att = attach.reserve(s, vol, data.get("instance_uuid"), mode or "rw")
        att_id = att.id
    if connector:
        try:
            attach.connect(req.svc, att_id, connector)
        except ApiError:
            attach.detach(req.svc, att_id)
            raise
    with req.svc.db.session() as s:
        return 200, {"attachment": attachment_detail(s.get(Attachment, att_id))}


@endpoint
def update(req: Req) -> tuple[int, dict]:
    _require(req, 27)
    data = req.member("attachment")
    with req.svc.db.session() as s:
        att = get_attachment(s, req, req.params["attachment_id"])
        if att.attach_status not in ("reserved", "attaching", "attached"):
            raise ApiError(400, f"Invalid attachment: attachment {att.id} status is {att.attach_status}.")
    attach.connect(req.svc, att.id, data.get("connector"))
    with req.svc.db.session() as s:
        return 200, {"attachment": attachment_detail(s.get(Attachment, att.id))}


@endpoint
def action(req: Req) -> tuple[int, None]:
    _require(req, 44)
    if not isinstance(req.body, dict) or "os-complete" not in req.body:
        raise bad_request("Invalid attachment action: only os-complete is supported.")
    with req.svc.db.session() as s:
        att = get_attachment(s, req, req.params["attachment_id"])
        if att.connector is None:
            raise ApiError(400, f"Invalid attachment: attachment {att.id} has no connection yet.")
        attach.complete(s, att)
    return 204, None


@endpoint
def remove(req: Req) -> tuple[int, dict]:
    _require(req, 27)
    with req.svc.db.session() as s:
        att = get_attachment(s, req, req.params["attachment_id"])
        connector = att.connector
    rest = attach.detach(req.svc, att.id)
    shared = [attachment_summary(a) for a in rest if connector and a.connector
              and a.connector.get("host") == connector.get("host")]
    return 200, {"attachments": shared}


def _list(req: Req, detail: bool) -> tuple[int, dict[str, Any]]:
    _require(req, 27)
    with req.svc.db.session() as s:
        stmt = tenant_filtered(req, select(Attachment).order_by(Attachment.created_at), Attachment,
                               {"volume_id": "volume_id", "instance_id": "instance_uuid", "status": "attach_status"})
        rows = list(s.scalars(stmt))
        return 200, {"attachments": [attachment_detail(a) if detail else attachment_summary(a) for a in rows]}


@endpoint
def index(req: Req) -> tuple[int, dict]:
    return _list(req, False)


@endpoint
def detail(req: Req) -> tuple[int, dict]:
    return _list(req, True)


@endpoint
def show(req: Req) -> tuple[int, dict]:
    _require(req, 27)
    with req.svc.db.session() as s:
        return 200, {"attachment": attachment_detail(get_attachment(s, req, req.params["attachment_id"]))}
