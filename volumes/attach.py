"""The attach/detach flow shared by the attachments API (3.27+) and the legacy volume actions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from volumes.connection import flat, iscsi_data, validate_connector
from volumes.db import cas
from volumes.errors import ApiError, BackendError
from volumes.models import Attachment, Volume, utcnow
from volumes.states import VOLUME_FROM, volume_status_error
from volumes.targets.tgt import TargetUnavailable


def reserve(s: Session, vol: Volume, instance_uuid: str | None, mode: str = "rw",
            volume_status: str = "reserved") -> Attachment:
    """Claim the volume for an attachment (attachment ``reserved``, volume ``reserved``/``attaching``)."""
    if mode not in ("rw", "ro"):
        raise ApiError(400, f"Invalid attach mode {mode!r}: must be rw or ro.")
    live = s.scalars(select(Attachment).where(Attachment.volume_id == vol.id)).all()
    if vol.multiattach:
        op = "reserve_multiattach"
        new_status = vol.status if vol.status == "in-use" else volume_status
    else:
        op = "reserve"
        new_status = volume_status
        if live:
            raise ApiError(400, f"Invalid volume: Volume {vol.id} status must be available or "
                                "downloading to reserve, but the current status is in-use.")
    if not cas(s, Volume, vol.id, VOLUME_FROM[op], status=new_status):
        s.refresh(vol)
        raise volume_status_error(op, vol.status)
    att = Attachment(volume_id=vol.id, project_id=vol.project_id, instance_uuid=instance_uuid,
                     attach_status="reserved", attach_mode=mode)
    s.add(att)
    s.flush()
    return att


def connect(svc: Any, attachment_id: str, connector: Any) -> dict[str, Any]:
    """Export the volume for ``connector`` and return the driver ``data`` (attachment → ``attaching``)."""
    connector = validate_connector(connector)
    with svc.db.session() as s:
        att = s.get(Attachment, attachment_id)
        vol = s.get(Volume, att.volume_id)
        if vol.status in ("deleting", "error", "error_deleting", "creating"):
            raise ApiError(400, f"Invalid volume: Volume {vol.id} status is {vol.status}.")
        mode = att.attach_mode
    try:
        vol, export = svc.exports.ensure(vol.id)
    except TargetUnavailable as exc:
        raise ApiError(503, str(exc)) from None
    except BackendError as exc:
        raise ApiError(503, f"Unable to export volume {vol.id}: {exc}") from None
    data = iscsi_data(vol, export, mode)
    with svc.db.session() as s:
        att = s.get(Attachment, attachment_id)
        att.connector = connector
        att.connection_info = flat(data, attachment_id)
        att.attached_host = connector.get("host")
        att.mountpoint = connector.get("mountpoint") or att.mountpoint
        if att.attach_status == "reserved":
            att.attach_status = "attaching"
        cas(s, Volume, att.volume_id, ("reserved",), status="attaching")
    return data


def complete(s: Session, att: Attachment, mountpoint: str | None = None, host: str | None = None) -> None:
    """The initiator is connected: attachment ``attached``, volume ``in-use``."""
    att.attach_status = "attached"
    att.attach_time = att.attach_time or utcnow()
    if mountpoint:
        att.mountpoint = mountpoint
    if host:
        att.attached_host = host
    cas(s, Volume, att.volume_id, None, status="in-use", attach_status="attached")


def detach(svc: Any, attachment_id: str) -> list[Attachment]:
    """Remove an attachment; tear the target down once unused; the volume becomes available when the
    last attachment goes. Returns the remaining attachments."""
    with svc.db.session() as s:
        att = s.get(Attachment, attachment_id)
        volume_id = att.volume_id
        s.execute(delete(Attachment).where(Attachment.id == attachment_id))
    try:
        svc.exports.remove_if_unused(volume_id)
    except BackendError:
        pass  # the target of a gone tgtd is gone too; restore_all will not bring it back
    with svc.db.session() as s:
        # PostgreSQL runs concurrent detaches side by side (SQLite serializes writers): lock the volume row,
        # then look at the attachments again, so the last detach to get here sets the status from what is left
        s.execute(select(Volume.id).where(Volume.id == volume_id).with_for_update())
        rest = list(s.scalars(select(Attachment).where(Attachment.volume_id == volume_id)))
        if not rest:
            cas(s, Volume, volume_id, None, status="available", attach_status="detached")
        elif any(a.attach_status == "attached" for a in rest):
            cas(s, Volume, volume_id, None, status="in-use", attach_status="attached")
        else:
            cas(s, Volume, volume_id, None, status="reserved", attach_status="detached")
    return rest
