"""Fetching resources scoped to the caller (404 for other projects' ids, as Cinder answers)."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from volumes.api.common import Req
from volumes.db import DEFAULT_TYPE
from volumes.errors import ApiError, not_found
from volumes.models import Attachment, Backup, Snapshot, Volume, VolumeType


def _owned(req: Req, obj: Volume | Snapshot | Backup | Attachment | None, kind: str, ident: str):
    if obj is None or (obj.project_id != req.ctx.project_id and not req.ctx.is_admin):
        raise not_found(kind, ident)
    return obj


def get_volume(s: Session, req: Req, ident: str) -> Volume:
    return _owned(req, s.get(Volume, ident), "Volume", ident)


def get_snapshot(s: Session, req: Req, ident: str) -> Snapshot:
    return _owned(req, s.get(Snapshot, ident), "Snapshot", ident)


def get_backup(s: Session, req: Req, ident: str) -> Backup:
    return _owned(req, s.get(Backup, ident), "Backup", ident)


def get_attachment(s: Session, req: Req, ident: str) -> Attachment:
    return _owned(req, s.get(Attachment, ident), "Volume attachment", ident)


def get_type(s: Session, name_or_id: str | None) -> VolumeType:
    """A volume type by id or name (None: the default type); 404 when unknown."""
    key = name_or_id or DEFAULT_TYPE
    t = s.scalar(select(VolumeType).where(or_(VolumeType.id == key, VolumeType.name == key)))
    if t is None:
        raise ApiError(404, f"Volume type {key} could not be found.")
    return t


def attachments_of(s: Session, volume_id: str) -> list[Attachment]:
    return list(s.scalars(select(Attachment).where(Attachment.volume_id == volume_id)
                          .order_by(Attachment.created_at)))
