"""SQLAlchemy tables: volumes, snapshots, attachments, backups, volume types, quotas."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime, default=None, onupdate=utcnow)


class Volume(Timestamps, Base):
    __tablename__ = "volumes"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(32), default="creating", index=True)
    previous_status: Mapped[str | None] = mapped_column(String(32))
    attach_status: Mapped[str] = mapped_column(String(32), default="detached")
    migration_status: Mapped[str | None] = mapped_column(String(32))
    availability_zone: Mapped[str] = mapped_column(String(64), default="nova")
    volume_type_id: Mapped[str | None] = mapped_column(String(36))
    backend: Mapped[str] = mapped_column(String(64), default="file")
    snapshot_id: Mapped[str | None] = mapped_column(String(36))
    source_volid: Mapped[str | None] = mapped_column(String(36))
    restore_backup_id: Mapped[str | None] = mapped_column(String(36))
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    bootable: Mapped[bool] = mapped_column(Boolean, default=False)
    readonly: Mapped[bool] = mapped_column(Boolean, default=False)
    multiattach: Mapped[bool] = mapped_column(Boolean, default=False)
    provider_location: Mapped[str | None] = mapped_column(String(255))
    provider_auth: Mapped[str | None] = mapped_column(String(255))
    target_size: Mapped[int | None] = mapped_column(Integer)  # os-extend in progress


class Snapshot(Timestamps, Base):
    __tablename__ = "snapshots"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(String(64))
    volume_id: Mapped[str] = mapped_column(String(36), index=True)
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(32), default="creating")
    progress: Mapped[str] = mapped_column(String(8), default="0%")
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)


class Attachment(Timestamps, Base):
    __tablename__ = "attachments"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    volume_id: Mapped[str] = mapped_column(String(36), index=True)
    project_id: Mapped[str] = mapped_column(String(64))
    instance_uuid: Mapped[str | None] = mapped_column(String(36))
    attached_host: Mapped[str | None] = mapped_column(String(255))
    mountpoint: Mapped[str | None] = mapped_column(String(255))
    attach_status: Mapped[str] = mapped_column(String(32), default="reserved")
    attach_mode: Mapped[str] = mapped_column(String(4), default="rw")
    connector: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    connection_info: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    attach_time: Mapped[datetime | None] = mapped_column(DateTime)
    detach_time: Mapped[datetime | None] = mapped_column(DateTime)


class Backup(Timestamps, Base):
    __tablename__ = "backups"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(String(64))
    volume_id: Mapped[str] = mapped_column(String(36))
    snapshot_id: Mapped[str | None] = mapped_column(String(36))
    parent_id: Mapped[str | None] = mapped_column(String(36))
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32), default="creating")
    size: Mapped[int] = mapped_column(Integer)
    object_count: Mapped[int] = mapped_column(Integer, default=0)
    container: Mapped[str] = mapped_column(String(255))
    prefix: Mapped[str | None] = mapped_column(String(512))
    is_incremental: Mapped[bool] = mapped_column(Boolean, default=False)
    fail_reason: Mapped[str | None] = mapped_column(Text)
    data_timestamp: Mapped[datetime | None] = mapped_column(DateTime)
    availability_zone: Mapped[str] = mapped_column(String(64), default="nova")
    restore_volume_id: Mapped[str | None] = mapped_column(String(36))
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)


class VolumeType(Timestamps, Base):
    __tablename__ = "volume_types"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    extra_specs: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)


class Quota(Base):
    __tablename__ = "quotas"
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource: Mapped[str] = mapped_column(String(64), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)
