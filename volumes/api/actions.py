"""``POST /volumes/{id}/action``: extend, the legacy attach/detach actions, admin actions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from volumes import attach, policy, quotas
from volumes.api import volumes as volumes_api
from volumes.api.common import Req, endpoint
from volumes.api.lookups import get_volume
from volumes.connection import nested
from volumes.errors import ApiError, bad_request
from volumes.models import Attachment
from volumes.states import ATTACH_STATUSES, VOLUME_STATUSES, move_volume

Action = Callable[[Req, str, Any], tuple[int, Any]]


def _extend(req: Req, vol_id: str, args: Any) -> tuple[int, None]:
    if not isinstance(args, dict) or "new_size" not in args:
        raise bad_request("Invalid input received: os-extend requires new_size.")
    new_size = volumes_api.parse_size(args["new_size"])
    with quotas.quota_lock, req.svc.db.session() as s:
        vol = get_volume(s, req, vol_id)
        if new_size <= vol.size:
            raise bad_request(f"Invalid input received: New size for extend must be greater than current "
                              f"size. (current: {vol.size}, extended: {new_size}).")
        quotas.check(s, req.svc.settings.quotas, vol.project_id, gigabytes=new_size - vol.size, size=new_size)
        op = "extend_in_use" if req.ctx.version.at_least(42) else "extend"
        move_volume(s, vol, op, "extending", previous_status=vol.status, target_size=new_size)
    req.svc.manager.extend_volume(vol_id)
    return 202, None


def _extend_completion(req: Req, vol_id: str, args: Any) -> tuple[int, None]:
    """3.71: Nova reports the end of an in-use extend; ours completes on its own, so this only checks."""
    if not req.ctx.version.at_least(71):
        raise bad_request("Invalid volume action os-extend_volume_completion (requires 3.71).")
    with req.svc.db.session() as s:
        vol = get_volume(s, req, vol_id)
        if vol.status not in ("extending", "in-use", "available"):
            raise bad_request(f"Invalid volume: Volume status must be extending, currently {vol.status}.")
    return 202, None


def _reserve(req: Req, vol_id: str, args: Any) -> tuple[int, None]:
    with req.svc.db.session() as s:
        attach.reserve(s, get_volume(s, req, vol_id), None, volume_status="attaching")
    return 202, None


def _unreserve(req: Req, vol_id: str, args: Any) -> tuple[int, None]:
    with req.svc.db.session() as s:
        vol = get_volume(s, req, vol_id)
        pending = [a.id for a in s.scalars(select(Attachment).where(
            Attachment.volume_id == vol.id, Attachment.attach_status.in_(("reserved", "attaching"))))]
        if vol.status not in ("attaching", "reserved"):
            return 202, None
    for att_id in pending:
        attach.detach(req.svc, att_id)
    return 202, None


def _pending_attachment(req: Req, vol_id: str, instance_uuid: str | None = None) -> str:
    """The attachment the legacy flow works on (reserving one when the caller skipped os-reserve)."""
    with req.svc.db.session() as s:
        vol = get_volume(s, req, vol_id)
        atts = list(s.scalars(select(Attachment).where(Attachment.volume_id == vol.id,
                                                       Attachment.attach_status.in_(("reserved", "attaching")))
                              .order_by(Attachment.created_at)))
        for a in atts:
            if instance_uuid is None or a.instance_uuid in (None, instance_uuid):
                return a.id
        return attach.reserve(s, vol, instance_uuid, volume_status="attaching").id


def _initialize(req: Req, vol_id: str, args: Any) -> tuple[int, dict]:
    connector = args.get("connector") if isinstance(args, dict) else None
    att_id = _pending_attachment(req, vol_id)
    data = attach.connect(req.svc, att_id, connector)
    return 200, {"connection_info": nested(data)}


def _attach(req: Req, vol_id: str, args: Any) -> tuple[int, None]:
    if not isinstance(args, dict):
        raise bad_request("Invalid input received: os-attach needs a body.")
    instance_uuid, host = args.get("instance_uuid"), args.get("host_name")
    if not instance_uuid and not host:
        raise bad_request("Invalid request to attach volume to an invalid target")
    mode = args.get("mode", "rw")
    if mode not in ("rw", "ro"):
        raise bad_request("Invalid request to attach volume with an invalid mode. Attaching mode should be "
                          "'rw' or 'ro'")
    att_id = _pending_attachment(req, vol_id, instance_uuid)
    with req.svc.db.session() as s:
        att = s.get(Attachment, att_id)
        att.instance_uuid = instance_uuid or att.instance_uuid
        att.attach_mode = mode
        attach.complete(s, att, args.get("mountpoint"), host)
    return 202, None


def _begin_detaching(req: Req, vol_id: str, args: Any) -> tuple[int, None]:
    with req.svc.db.session() as s:
        move_volume(s, get_volume(s, req, vol_id), "begin_detaching", "detaching")
    return 202, None


def _roll_detaching(req: Req, vol_id: str, args: Any) -> tuple[int, None]:
    with req.svc.db.session() as s:
        vol = get_volume(s, req, vol_id)
        if vol.status == "detaching":
            move_volume(s, vol, "roll_detaching", "in-use")
    return 202, None


def _detach(req: Req, vol_id: str, args: Any) -> tuple[int, None]:
    att_id = args.get("attachment_id") if isinstance(args, dict) else None
    with req.svc.db.session() as s:
        vol = get_volume(s, req, vol_id)
        atts = list(s.scalars(select(Attachment).where(Attachment.volume_id == vol.id)))
        if att_id is None:
            if len(atts) > 1:
                raise bad_request("Invalid volume: Volume has multiple attachments; give attachment_id.")
            att_id = atts[0].id if atts else None
        elif att_id not in {a.id for a in atts}:
            raise ApiError(404, f"Volume attachment {att_id} could not be found.")
    if att_id is None:
        raise bad_request(f"Invalid volume: Volume {vol_id} is not attached.")
    attach.detach(req.svc, att_id)
    return 202, None


def _terminate(req: Req, vol_id: str, args: Any) -> tuple[int, None]:
    connector = args.get("connector") if isinstance(args, dict) else None
    if not isinstance(connector, dict):
        raise bad_request("Invalid input received: os-terminate_connection requires a connector.")
    with req.svc.db.session() as s:
        vol = get_volume(s, req, vol_id)
        for a in s.scalars(select(Attachment).where(Attachment.volume_id == vol.id)):
            if a.connector and a.connector.get("initiator") == connector.get("initiator"):
                a.connector = None
                a.connection_info = None
    req.svc.exports.remove_if_unused(vol_id)
    return 202, None


def _admin(req: Req) -> None:
    if not req.ctx.is_admin:
        raise ApiError(403, "Policy doesn't allow volume_extension:volume_admin_actions to be performed.")


def _reset_status(req: Req, vol_id: str, args: Any) -> tuple[int, None]:
    _admin(req)
    if not isinstance(args, dict) or not args:
        raise bad_request("Must specify 'status', 'attach_status' or 'migration_status' for update.")
    with req.svc.db.session() as s:
        vol = get_volume(s, req, vol_id)
        if "status" in args:
            if args["status"] not in VOLUME_STATUSES:
                raise bad_request(f"Invalid input received: Must specify a valid status ({args['status']}).")
            vol.status = args["status"]
        if "attach_status" in args:
            if args["attach_status"] not in ATTACH_STATUSES:
                raise bad_request("Invalid input received: Must specify a valid attach status.")
            vol.attach_status = args["attach_status"]
        if "migration_status" in args:
            vol.migration_status = args["migration_status"] or None
    return 202, None


def _force_delete(req: Req, vol_id: str, args: Any) -> tuple[int, None]:
    _admin(req)
    with req.svc.db.session() as s:
        get_volume(s, req, vol_id)
        atts = [a.id for a in s.scalars(select(Attachment).where(Attachment.volume_id == vol_id))]
    for att_id in atts:
        attach.detach(req.svc, att_id)
    return volumes_api.force_delete(req, vol_id)


def _set_bootable(req: Req, vol_id: str, args: Any) -> tuple[int, None]:
    value = args.get("bootable") if isinstance(args, dict) else None
    if isinstance(value, str):
        value = value.lower() in ("true", "1", "yes")
    if not isinstance(value, bool):
        raise bad_request("Invalid input received: bootable must be a boolean.")
    with req.svc.db.session() as s:
        get_volume(s, req, vol_id).bootable = value
    return 200, None


def _readonly(req: Req, vol_id: str, args: Any) -> tuple[int, None]:
    value = args.get("readonly") if isinstance(args, dict) else None
    if isinstance(value, str):
        value = value.lower() in ("true", "1", "yes")
    if not isinstance(value, bool):
        raise bad_request("Invalid input received: readonly must be a boolean.")
    with req.svc.db.session() as s:
        get_volume(s, req, vol_id).readonly = value
    return 202, None


ACTIONS: dict[str, Action] = {
    "os-extend": _extend, "os-extend_volume_completion": _extend_completion,
    "os-reserve": _reserve, "os-unreserve": _unreserve,
    "os-initialize_connection": _initialize, "os-attach": _attach,
    "os-begin_detaching": _begin_detaching, "os-roll_detaching": _roll_detaching,
    "os-detach": _detach, "os-terminate_connection": _terminate,
    "os-reset_status": _reset_status, "os-force_delete": _force_delete,
    "os-set_bootable": _set_bootable, "os-update_readonly_flag": _readonly,
}


@endpoint
def dispatch(req: Req) -> tuple[int, Any]:
    if not isinstance(req.body, dict) or len(req.body) != 1:
        raise bad_request("Invalid request body: exactly one action is expected.")
    name, args = next(iter(req.body.items()))
    fn = ACTIONS.get(name)
    if fn is None:
        raise bad_request(f"There is no such action: {name}")
    policy.authorize(req.ctx, policy.action_operation(name))
    return fn(req, req.params["volume_id"], args)
