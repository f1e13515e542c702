"""JSON views of the resources, shaped by microversion as Cinder's views are."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from volumes.context import Context
from volumes.models import Attachment, Backup, Snapshot, Volume, VolumeType

API_STATUS = {"managing": "creating", "error_managing": "error"}


def iso(ts: datetime | None) -> str | None:
    return ts.isoformat(timespec="microseconds") if ts else None


def links(base: str, kind: str, ident: str, project_id: str) -> list[dict[str, str]]:
    return [{"rel": "self", "href": f"{base}/v3/{project_id}/{kind}/{ident}"},
            {"rel": "bookmark", "href": f"{base}/{project_id}/{kind}/{ident}"}]


def volume_summary(vol: Volume, base: str) -> dict[str, Any]:
    return {"id": vol.id, "name": vol.name, "links": links(base, "volumes", vol.id, vol.project_id)}


def volume_attachment_rows(atts: list[Attachment]) -> list[dict[str, Any]]:
    return [{"id": a.volume_id, "attachment_id": a.id, "volume_id": a.volume_id, "server_id": a.instance_uuid,
             "host_name": a.attached_host, "device": a.mountpoint, "attached_at": iso(a.attach_time)}
            for a in atts if a.attach_status == "attached"]


def volume_detail(vol: Volume, ctx: Context, base: str, vtype: VolumeType | None,
                  atts: list[Attachment]) -> dict[str, Any]:
    v = ctx.version
    out: dict[str, Any] = {
        "id": vol.id, "name": vol.name, "description": vol.description,
        "status": API_STATUS.get(vol.status, vol.status), "size": vol.size,
        "availability_zone": vol.availability_zone, "created_at": iso(vol.created_at),
        "updated_at": iso(vol.updated_at), "attachments": volume_attachment_rows(atts),
        "volume_type": vtype.name if vtype else None, "snapshot_id": vol.snapshot_id,
        "source_volid": vol.source_volid, "metadata": dict(vol.meta or {}), "user_id": vol.user_id,
        "bootable": "true" if vol.bootable else "false", "encrypted": False,
        "replication_status": None, "consistencygroup_id": None, "multiattach": vol.multiattach,
        "migration_status": vol.migration_status, "links": links(base, "volumes", vol.id, vol.project_id),
    }
    if v.at_least(13):
        out["group_id"] = None
    if v.at_least(21) and ctx.is_admin:
        out["provider_id"] = None
    if v.at_least(48):
        out["shared_targets"] = False if not v.at_least(69) else None
        out["service_uuid"] = "stackstore-volumes"
    if v.at_least(61) and ctx.is_admin:
        out["cluster_name"] = None
    if v.at_least(63):
        out["volume_type_id"] = vol.volume_type_id
    if v.at_least(64):
        out["encryption_key_id"] = None
    if v.at_least(65):
        out["consumes_quota"] = True
    if ctx.is_admin:
        out["os-vol-tenant-attr:tenant_id"] = vol.project_id
        out["os-vol-host-attr:host"] = f"stackstore@{vol.backend}#{vol.backend}"
        out["os-vol-mig-status-attr:migstat"] = vol.migration_status
        out["os-vol-mig-status-attr:name_id"] = None
    return out


def snapshot_detail(snap: Snapshot, ctx: Context) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": snap.id, "name": snap.name, "description": snap.description, "status": snap.status,
        "size": snap.size, "volume_id": snap.volume_id, "created_at": iso(snap.created_at),
        "updated_at": iso(snap.updated_at), "metadata": dict(snap.meta or {}),
        "os-extended-snapshot-attributes:progress": snap.progress,
        "os-extended-snapshot-attributes:project_id": snap.project_id,
    }
    if ctx.version.at_least(41):
        out["user_id"] = snap.user_id
    if ctx.version.at_least(14):
        out["group_snapshot_id"] = None
    if ctx.version.at_least(65):
        out["consumes_quota"] = True
    return out


def attachment_summary(att: Attachment) -> dict[str, Any]:
    return {"id": att.id, "status": att.attach_status, "instance": att.instance_uuid,
            "volume_id": att.volume_id}


def attachment_detail(att: Attachment) -> dict[str, Any]:
    return {**attachment_summary(att), "attached_at": iso(att.attach_time), "detached_at": iso(att.detach_time),
            "attach_mode": att.attach_mode, "connection_info": att.connection_info or {}}


def backup_summary(b: Backup, base: str) -> dict[str, Any]:
    return {"id": b.id, "name": b.name, "links": links(base, "backups", b.id, b.project_id)}


def backup_detail(b: Backup, ctx: Context, base: str, has_dependents: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        **backup_summary(b, base), "description": b.description, "status": b.status, "size": b.size,
        "object_count": b.object_count, "container": b.container, "volume_id": b.volume_id,
        "snapshot_id": b.snapshot_id, "is_incremental": b.is_incremental,
        "has_dependent_backups": has_dependents, "fail_reason": b.fail_reason,
        "data_timestamp": iso(b.data_timestamp), "created_at": iso(b.created_at),
        "updated_at": iso(b.updated_at), "availability_zone": b.availability_zone,
    }
    if ctx.version.at_least(43):
        out["metadata"] = dict(b.meta or {})
    if ctx.version.at_least(56):
        out["user_id"] = b.user_id
    if ctx.is_admin:
        out["os-backup-project-attr:project_id"] = b.project_id
    return out


def volume_type(t: VolumeType, ctx: Context) -> dict[str, Any]:
    out: dict[str, Any] = {"id": t.id, "name": t.name, "description": t.description, "is_public": t.is_public,
                           "os-volume-type-access:is_public": t.is_public, "qos_specs_id": None}
    out["extra_specs"] = dict(t.extra_specs or {})
    return out
