"""Compute state: flavors, servers and their volume attachments (block device mappings)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Flavor(Base):
    __tablename__ = "flavors"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    ram: Mapped[int] = mapped_column(Integer)
    vcpus: Mapped[int] = mapped_column(Integer)
    disk: Mapped[int] = mapped_column(Integer)
    ephemeral: Mapped[int] = mapped_column(Integer, default=0)
    swap: Mapped[int] = mapped_column(Integer, default=0)
    rxtx_factor: Mapped[float] = mapped_column(Float, default=1.0)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str | None] = mapped_column(String(65535))
    extra_specs: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Server(Base):
    __tablename__ = "servers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), index=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(String(64))
    flavor_id: Mapped[str] = mapped_column(String(255))
    flavor: Mapped[dict] = mapped_column(JSON)  # snapshot of the flavor at create time
    image_id: Mapped[str] = mapped_column(String(36), default="")
    metadata_: Mapped[dict] = mapped_column("metadata", JSON, default=dict)
    key_name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(255))
    availability_zone: Mapped[str] = mapped_column(String(255))
    host: Mapped[str] = mapped_column(String(255))
    vm_state: Mapped[str] = mapped_column(String(32))
    task_state: Mapped[str | None] = mapped_column(String(32))
    power_state: Mapped[int] = mapped_column(Integer, default=0)
    fault: Mapped[dict | None] = mapped_column(JSON)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    launched_at: Mapped[datetime | None] = mapped_column(DateTime)
    terminated_at: Mapped[datetime | None] = mapped_column(DateTime)


class VolumeAttachment(Base):
    """One volume on one server (Nova's block device mapping); ``status`` attaching/attached/detaching."""

    __tablename__ = "volume_attachments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # bdm_uuid
    server_id: Mapped[str] = mapped_column(ForeignKey("servers.id"), index=True)
    volume_id: Mapped[str] = mapped_column(String(36), index=True)
    attachment_id: Mapped[str | None] = mapped_column(String(36))  # Cinder attachment
    device: Mapped[str] = mapped_column(String(64))
    tag: Mapped[str | None] = mapped_column(String(60))
    delete_on_termination: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16))
    connection: Mapped[dict | None] = mapped_column(JSON)  # connection_info without the CHAP secret
    capacity: Mapped[int | None] = mapped_column(Integer)  # bytes read back over iSCSI at attach
    created_at: Mapped[datetime] = mapped_column(DateTime)
