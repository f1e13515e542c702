"""``/backups``: create (full or incremental), list, show, restore (new or existing volume), delete."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from volumes import quotas
from volumes.api.common import (
    Req,
    apply_marker,
    endpoint,
    int_param,
    metadata_field,
    tenant_filtered,
    text_field,
)
from volumes.api.lookups import get_backup, get_volume
from volumes.backup.driver import backup_prefix
from volumes.db import cas
from volumes.errors import ApiError, bad_request
from volumes.models import Backup, Volume
from volumes.states import BACKUP_DELETE_FROM, VOLUME_FROM, invalid, volume_status_error
from volumes.views import backup_detail, backup_summary


def _driver(req: Req) -> Any:
    if req.svc.manager.backup_driver is None:
        raise ApiError(503, "Backup service unavailable: the object store is not configured.")
    return req.svc.manager.backup_driver


def _has_dependents(s: Any, backup_id: str) -> bool:
    return s.scalar(select(Backup.id).where(Backup.parent_id == backup_id)) is not None


@endpoint
def create(req: Req) -> tuple[int, dict]:
    data = req.member("backup")
    driver = _driver(req)
    if not data.get("volume_id"):
        raise bad_request("Invalid input received: volume_id is required.")
    if data.get("snapshot_id"):
        raise bad_request("Invalid input received: backups of snapshots are not supported.")
    force = bool(data.get("force", False))
    incremental = bool(data.get("incremental", False))
    container = text_field(data, "container") or req.svc.settings.backup_container
    op = "backup_force" if force else "backup"
    with quotas.quota_lock, req.svc.db.session() as s:
        vol = get_volume(s, req, str(data["volume_id"]))
        parent = None
        if incremental:
            parent = s.scalar(select(Backup).where(Backup.volume_id == vol.id, Backup.status == "available",
                                                   Backup.container == container)
                              .order_by(Backup.data_timestamp.desc(), Backup.created_at.desc()))
            if parent is None:
                raise invalid("backup", "No backups available to do an incremental backup.")
        quotas.check(s, req.svc.settings.quotas, req.ctx.project_id, backups=1, backup_gigabytes=vol.size)
        previous = vol.status
        if not cas(s, Volume, vol.id, VOLUME_FROM[op], status="backing-up", previous_status=previous):
            if vol.status == "in-use":
                raise invalid("volume", "Volume is in-use: backing up an in-use volume must use the force flag.")
            raise volume_status_error(op, vol.status)
        b = Backup(project_id=req.ctx.project_id, user_id=req.ctx.user_id, volume_id=vol.id,
                   name=text_field(data, "name"), description=text_field(data, "description", 65535),
                   size=vol.size, container=container, parent_id=parent.id if parent else None,
                   is_incremental=parent is not None, status="creating",
                   meta=(metadata_field(data) or {}) if req.ctx.version.at_least(43) else {})
        s.add(b)
        s.flush()
        b.prefix = backup_prefix(vol.id, b.id)
        b.data_timestamp = b.created_at
        body = backup_summary(b, req.base_url)
    req.svc.manager.submit(f"backup:{b.id}", driver.create, b.id)
    return 202, {"backup": body}


def _list(req: Req, detail: bool) -> tuple[int, dict]:
    limit = int_param(req, "limit")
    with req.svc.db.session() as s:
        stmt = select(Backup).order_by(Backup.created_at.desc(), Backup.id.desc())
        stmt = tenant_filtered(req, stmt, Backup, {"name": "name", "status": "status", "volume_id": "volume_id"})
        rows = list(s.scalars(stmt))
        page = apply_marker(rows, req.query.get("marker"), limit)
        items = [backup_detail(b, req.ctx, req.base_url, _has_dependents(s, b.id)) if detail
                 else backup_summary(b, req.base_url) for b in page]
    out: dict[str, Any] = {"backups": items}
    if req.ctx.version.at_least(45) and req.flag("with_count"):
        out["count"] = len(rows)
    return 200, out


@endpoint
def index(req: Req) -> tuple[int, dict]:
    return _list(req, False)


@endpoint
def detail(req: Req) -> tuple[int, dict]:
    return _list(req, True)


@endpoint
def show(req: Req) -> tuple[int, dict]:
    with req.svc.db.session() as s:
        b = get_backup(s, req, req.params["backup_id"])
        return 200, {"backup": backup_detail(b, req.ctx, req.base_url, _has_dependents(s, b.id))}


@endpoint
def delete(req: Req) -> tuple[int, None]:
    driver = _driver(req)
    with req.svc.db.session() as s:
        b = get_backup(s, req, req.params["backup_id"])
        if _has_dependents(s, b.id):
            raise invalid("backup", "Incremental backups exist for this backup.")
        if not cas(s, Backup, b.id, BACKUP_DELETE_FROM, status="deleting"):
            raise invalid("backup", f"Backup status must be available or error, currently {b.status}.")
    req.svc.manager.submit(f"backup:{b.id}", driver.delete, b.id)
    return 202, None


@endpoint
def restore(req: Req) -> tuple[int, dict]:
    data = req.member("restore")
    driver = _driver(req)
    svc = req.svc
    with quotas.quota_lock, svc.db.session() as s:
        b = get_backup(s, req, req.params["backup_id"])
        if b.status != "available":
            raise invalid("backup", f"Backup status must be available, currently {b.status}.")
        volume_id = data.get("volume_id")
        if volume_id:
            vol = get_volume(s, req, str(volume_id))
            if vol.size < b.size:
                raise invalid("volume", f"volume size {vol.size} is smaller than backup size {b.size}.")
            if not cas(s, Volume, vol.id, VOLUME_FROM["restore"], status="restoring-backup"):
                raise volume_status_error("restore", vol.status)
            new = False
        else:
            quotas.check(s, svc.settings.quotas, req.ctx.project_id, volumes=1, gigabytes=b.size, size=b.size)
            src = s.get(Volume, b.volume_id)
            vol = Volume(project_id=req.ctx.project_id, user_id=req.ctx.user_id,
                         name=text_field(data, "name") or f"restore_backup_{b.id}", size=b.size,
                         status="creating", volume_type_id=src.volume_type_id if src else None,
                         backend=src.backend if src else svc.settings.default_backend,
                         restore_backup_id=b.id, meta={})
            s.add(vol)
            s.flush()
            new = True
        cas(s, Backup, b.id, ("available",), status="restoring", restore_volume_id=vol.id)
        out = {"backup_id": b.id, "volume_id": vol.id, "volume_name": vol.name}
    if new:
        svc.manager.create_volume(vol.id)
    else:
        svc.manager.submit(f"volume:{vol.id}", driver.restore, b.id, vol.id)
    return 202, {"restore": out}
