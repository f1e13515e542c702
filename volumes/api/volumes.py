"""``/volumes``: create (empty, from snapshot, clone, from backup), list, show, update, delete, metadata."""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from stackstore.numbers import parse_uint
from volumes import quotas
from volumes.api.common import (
    Req,
    all_tenants,
    apply_marker,
    endpoint,
    int_param,
    metadata_field,
    next_link,
    sorted_paged,
    text_field,
)
from volumes.api.lookups import attachments_of, get_backup, get_snapshot, get_type, get_volume
from volumes.errors import ApiError, bad_request
from volumes.models import Backup, Snapshot, Volume, VolumeType
from volumes.states import VOLUME_FROM, invalid
from volumes.views import volume_detail, volume_summary

SORTABLE = ("created_at", "updated_at", "id", "name", "size", "status", "availability_zone", "bootable")
DELETE_MESSAGE = ("Volume status must be available or error or error_restoring or error_extending or "
                  "error_managing and must not be migrating, attached, belong to a group, have snapshots, "
                  "awaiting a transfer, or be disassociated from snapshots after volume transfer.")


def render(s: Session, req: Req, vol: Volume) -> dict[str, Any]:
    vtype = s.get(VolumeType, vol.volume_type_id) if vol.volume_type_id else None
    return volume_detail(vol, req.ctx, req.base_url, vtype, attachments_of(s, vol.id))


def parse_size(value: Any) -> int:
    if isinstance(value, bool):
        raise bad_request("Invalid input for field/attribute size.")
    if isinstance(value, str) and parse_uint(value) is not None:
        value = parse_uint(value)
    if not isinstance(value, int) or value < 1:
        raise bad_request(f"Invalid input for field/attribute size. Value: {value}. "
                          "Size must be an integer and greater than 0.")
    return value


def backend_for(vtype: VolumeType, default: str) -> str:
    return (vtype.extra_specs or {}).get("volume_backend_name") or default


@endpoint
def create(req: Req) -> tuple[int, dict]:
    data = req.member("volume")
    name, description = text_field(data, "name"), text_field(data, "description")
    metadata = metadata_field(data) or {}
    az = data.get("availability_zone")
    if az not in (None, "nova"):
        raise bad_request(f"Invalid input received: Availability zone '{az}' is invalid.")
    if data.get("imageRef"):
        raise bad_request("Invalid input received: creating volumes from images is not supported.")
    if data.get("consistencygroup_id") or data.get("group_id"):
        raise bad_request("Invalid input received: groups are not supported.")
    multiattach = bool(data.get("multiattach", False))
    svc = req.svc
    with quotas.quota_lock, svc.db.session() as s:
        vtype = get_type(s, data.get("volume_type"))
        size = parse_size(data["size"]) if data.get("size") is not None else None
        snapshot_id = source_volid = backup_id = None
        if data.get("snapshot_id"):
            snap = get_snapshot(s, req, str(data["snapshot_id"]))
            if snap.status != "available":
                raise invalid("snapshot", f"Originating snapshot status must be one of 'available' values, "
                                          f"currently {snap.status}.")
            size = size or snap.size
            if size < snap.size:
                raise bad_request(f"Invalid input received: Volume size '{size}'GB cannot be smaller than "
                                  f"the snapshot size {snap.size}GB. They must be >= original snapshot size.")
            source = s.get(Volume, snap.volume_id)
            snapshot_id, backend = snap.id, source.backend if source else svc.settings.default_backend
            if source and not data.get("volume_type"):
                vtype = get_type(s, source.volume_type_id)
        elif data.get("source_volid"):
            src = get_volume(s, req, str(data["source_volid"]))
            if src.status not in VOLUME_FROM["clone"]:
                raise invalid("volume", f"Volume status must be available or in-use to clone, "
                                        f"currently {src.status}.")
            size = size or src.size
            if size < src.size:
                raise bad_request(f"Invalid input received: Volume size '{size}'GB cannot be smaller than "
                                  f"original volume size {src.size}GB. They must be >= original volume size.")
            source_volid, backend = src.id, src.backend
            if not data.get("volume_type"):
                vtype = get_type(s, src.volume_type_id)
        elif data.get("backup_id") and req.ctx.version.at_least(47):
            backup = get_backup(s, req, str(data["backup_id"]))
            if backup.status != "available":
                raise invalid("backup", f"Backup status must be available, currently {backup.status}.")
            size = max(size or backup.size, backup.size)
            backup_id, backend = backup.id, backend_for(vtype, svc.settings.default_backend)
        else:
            if size is None:
                raise bad_request("Invalid input received: size is required.")
            backend = backend_for(vtype, svc.settings.default_backend)
        quotas.check(s, svc.settings.quotas, req.ctx.project_id, volumes=1, gigabytes=size, size=size)
        vol = Volume(project_id=req.ctx.project_id, user_id=req.ctx.user_id, name=name, description=description,
                     size=size, status="creating", volume_type_id=vtype.id, backend=backend,
                     snapshot_id=snapshot_id, source_volid=source_volid, restore_backup_id=backup_id,
                     meta=metadata, multiattach=multiattach, availability_zone="nova")
        s.add(vol)
        s.flush()
        body = render(s, req, vol)
    if backup_id:
        with svc.db.session() as s:
            s.get(Backup, backup_id).status, s.get(Backup, backup_id).restore_volume_id = "restoring", vol.id
    svc.manager.create_volume(vol.id)
    return 202, {"volume": body}


def _filtered(req: Req, s: Session) -> list[Volume]:
    stmt = select(Volume)
    if not all_tenants(req):
        stmt = stmt.where(Volume.project_id == req.ctx.project_id)
    elif req.query.get("project_id"):
        stmt = stmt.where(Volume.project_id == req.query["project_id"])
    if req.query.get("name"):
        stmt = stmt.where(Volume.name == req.query["name"])
    if req.query.get("name~"):
        # case-insensitive like SQLite's LIKE (PostgreSQL's is not); % and _ are literal characters
        stmt = stmt.where(Volume.name.icontains(req.query["name~"], autoescape=True))
    if req.query.get("status"):
        stmt = stmt.where(Volume.status == req.query["status"])
    if req.query.get("availability_zone"):
        stmt = stmt.where(Volume.availability_zone == req.query["availability_zone"])
    if req.query.get("bootable"):
        stmt = stmt.where(Volume.bootable == (req.query["bootable"].lower() in ("true", "1")))
    rows = list(s.scalars(sorted_paged(req, stmt, Volume, SORTABLE)))
    wanted = _metadata_filter(req.query.get("metadata"))
    if wanted:
        rows = [v for v in rows if all((v.meta or {}).get(k) == val for k, val in wanted.items())]
    return rows


MAX_METADATA_FILTER = 4096
# One ``key: value`` item of cinderclient's filter, ``str(dict)`` of strings: ``{'k': 'v', "a": "b"}``.
_PY_STRING = r"""(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")"""
_PY_ITEM = re.compile(rf"\s*({_PY_STRING})\s*:\s*({_PY_STRING}|-?[0-9]+)\s*(,|\}})", re.ASCII)
_PY_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t", "r": "\r"}


def _py_string(literal: str) -> str:
    """The text of a quoted literal; ValueError for an escape other than ``\\ \' \" \n \t \r``."""
    out, chars = [], iter(literal[1:-1])
    for ch in chars:
        if ch == "\\":
            escaped = _PY_ESCAPES.get(next(chars, ""))
            if escaped is None:
                raise ValueError("unsupported escape")
            ch = escaped
        out.append(ch)
    return "".join(out)


def _python_dict(raw: str) -> dict[str, str]:
    """A flat dict of string keys and string/integer values in Python's repr (Cinder's own filter format).

    A strict parser instead of ``ast.literal_eval``: anything else (nesting, expressions, other
    literals) is a ValueError.
    """
    text = raw.strip()
    if not text.startswith("{"):
        raise ValueError("not a dict")
    pos, found = 1, {}
    if text[1:].strip() == "}":
        return {}
    while True:
        match = _PY_ITEM.match(text, pos)
        if match is None:
            raise ValueError("not a flat dict of strings")
        key, value, end = match.groups()
        found[_py_string(key)] = value if value[0] not in "'\"" else _py_string(value)
        pos = match.end()
        if end == "}":
            break
    if text[pos:].strip():
        raise ValueError("trailing data")
    return found


def _metadata_filter(raw: str | None) -> dict[str, str]:
    """``?metadata=`` as JSON (``{"k": "v"}``) or cinderclient's ``{'k': 'v'}``; 400 for anything else."""
    if not raw:
        return {}
    if len(raw) > MAX_METADATA_FILTER:
        raise bad_request("Invalid filter: metadata is too long.")
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        try:
            value = _python_dict(raw)
        except ValueError:
            value = None
    if isinstance(value, dict) and all(isinstance(v, (str, int, float, bool)) or v is None
                                       for v in value.values()):
        return {str(k): str(v) for k, v in value.items()}
    raise bad_request("Invalid filter: metadata must be a JSON object.")


def _list(req: Req, detail: bool) -> tuple[int, dict]:
    limit = int_param(req, "limit")
    with req.svc.db.session() as s:
        rows = _filtered(req, s)
        total = len(rows)
        page = apply_marker(rows, req.query.get("marker"), limit)
        more = limit is not None and len(page) == limit and page and page[-1].id != rows[-1].id
        items = [render(s, req, v) if detail else volume_summary(v, req.base_url) for v in page]
    out: dict[str, Any] = {"volumes": items}
    if nl := next_link(req, "volumes", page, limit, bool(more)):
        out["volumes_links"] = nl
    if req.ctx.version.at_least(45) and req.flag("with_count"):
        out["count"] = total
    return 200, out


@endpoint
def index(req: Req) -> tuple[int, dict]:
    return _list(req, detail=False)


@endpoint
def detail(req: Req) -> tuple[int, dict]:
    return _list(req, detail=True)


@endpoint
def show(req: Req) -> tuple[int, dict]:
    with req.svc.db.session() as s:
        return 200, {"volume": render(s, req, get_volume(s, req, req.params["volume_id"]))}


@endpoint
def update(req: Req) -> tuple[int, dict]:
    data = req.member("volume")
    allowed = {"name", "description", "metadata", "display_name", "display_description"}
    if not data or set(data) - allowed:
        raise bad_request("Invalid input: only name, description and metadata can be updated.")
    with req.svc.db.session() as s:
        vol = get_volume(s, req, req.params["volume_id"])
        if "name" in data or "display_name" in data:
            vol.name = text_field(data, "name" if "name" in data else "display_name")
        if "description" in data or "display_description" in data:
            vol.description = text_field(data, "description" if "description" in data else "display_description",
                                         maxlen=65535)
        if "metadata" in data:
            vol.meta = metadata_field(data) or {}
        s.flush()
        return 200, {"volume": render(s, req, vol)}


@endpoint
def delete(req: Req) -> tuple[int, None]:
    cascade = req.flag("cascade")
    with req.svc.db.session() as s:
        vol = get_volume(s, req, req.params["volume_id"])
        if vol.status not in VOLUME_FROM["delete"] or vol.attach_status == "attached" or vol.migration_status:
            raise invalid("volume", DELETE_MESSAGE)
        snaps = list(s.scalars(select(Snapshot).where(Snapshot.volume_id == vol.id)))
        if snaps and not cascade:
            raise invalid("volume", DELETE_MESSAGE)
        if any(sn.status not in ("available", "error") for sn in snaps):
            raise invalid("volume", "Snapshot(s) of this volume are busy; they must be available or error.")
        if attachments_of(s, vol.id):
            raise invalid("volume", DELETE_MESSAGE)
        from volumes.states import move_volume

        move_volume(s, vol, "delete", "deleting")
        for sn in snaps:
            sn.status = "deleting"
    req.svc.manager.delete_volume(vol.id)
    return 202, None


def force_delete(req: Req, vol_id: str) -> tuple[int, None]:
    """``os-force_delete`` (admin): from any status; attachments and exports are torn down."""
    if not req.ctx.is_admin:
        raise ApiError(403, "Policy doesn't allow volume_extension:volume_admin_actions:force_delete to be "
                            "performed.")
    with req.svc.db.session() as s:
        vol = get_volume(s, req, vol_id)
        busy = s.scalar(select(func.count(Snapshot.id)).where(Snapshot.volume_id == vol.id))
        if busy:
            raise invalid("volume", "Volume still has dependent snapshots.")
        vol.status = "deleting"
    req.svc.manager.delete_volume(vol_id)
    return 202, None


# -- metadata ------------------------------------------------------------------------------------
@endpoint
def metadata_show(req: Req) -> tuple[int, dict]:
    with req.svc.db.session() as s:
        return 200, {"metadata": dict(get_volume(s, req, req.params["volume_id"]).meta or {})}


@endpoint
def metadata_update(req: Req) -> tuple[int, dict]:
    """POST merges, PUT replaces."""
    if not isinstance(req.body, dict):
        raise bad_request("Malformed request body")
    meta = metadata_field(req.body) or {}
    with req.svc.db.session() as s:
        vol = get_volume(s, req, req.params["volume_id"])
        vol.meta = meta if req.params.get("_replace") else {**(vol.meta or {}), **meta}
        return 200, {"metadata": dict(vol.meta)}


@endpoint
def metadata_replace(req: Req) -> tuple[int, dict]:
    meta = metadata_field(req.body if isinstance(req.body, dict) else {}) or {}
    with req.svc.db.session() as s:
        vol = get_volume(s, req, req.params["volume_id"])
        vol.meta = meta
        return 200, {"metadata": dict(meta)}


@endpoint
def metadata_delete(req: Req) -> tuple[int, None]:
    with req.svc.db.session() as s:
        vol = get_volume(s, req, req.params["volume_id"])
        key = req.params["key"]
        if key not in (vol.meta or {}):
            raise ApiError(404, f"Metadata item was not found: {key}")
        vol.meta = {k: v for k, v in vol.meta.items() if k != key}
    return 200, None
