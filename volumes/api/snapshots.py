"""``/snapshots``: create, list, show, update, delete."""

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
    next_link,
    sorted_paged,
    tenant_filtered,
    text_field,
)
from volumes.api.lookups import get_snapshot, get_volume
from volumes.db import cas
from volumes.errors import bad_request
from volumes.models import Snapshot, Volume
from volumes.states import SNAPSHOT_DELETE_FROM, VOLUME_FROM, invalid
from volumes.views import snapshot_detail

SORTABLE = ("created_at", "updated_at", "id", "name", "size", "status")


@endpoint
def create(req: Req) -> tuple[int, dict]:
    data = req.member("snapshot")
    if not data.get("volume_id"):
        raise bad_request("Invalid input received: volume_id is required.")
    force = data.get("force", False)
    if isinstance(force, str):
        force = force.lower() in ("true", "1", "yes")
    allowed = VOLUME_FROM["snapshot_force" if force or req.ctx.version.at_least(66) else "snapshot"]
    svc = req.svc
    with quotas.quota_lock, svc.db.session() as s:
        vol = get_volume(s, req, str(data["volume_id"]))
        # the volume's status is re-checked atomically (a racing delete/extend cannot slip in)
        if vol.status not in allowed or not cas(s, Volume, vol.id, allowed):
            raise invalid("volume", f"Volume {vol.id} status must be {' or '.join(allowed)}, "
                                    f"but current status is: {vol.status}.")
        quotas.check(s, svc.settings.quotas, req.ctx.project_id, snapshots=1, gigabytes=vol.size)
        snap = Snapshot(project_id=req.ctx.project_id, user_id=req.ctx.user_id, volume_id=vol.id,
                        name=text_field(data, "name") or text_field(data, "display_name"),
                        description=text_field(data, "description", 65535), size=vol.size,
                        status="creating", meta=metadata_field(data) or {})
        s.add(snap)
        s.flush()
        body = snapshot_detail(snap, req.ctx)
    svc.manager.create_snapshot(snap.id)
    return 202, {"snapshot": body}


def _list(req: Req, detail: bool) -> tuple[int, dict]:
    limit = int_param(req, "limit")
    with req.svc.db.session() as s:
        stmt = tenant_filtered(req, select(Snapshot), Snapshot,
                               {"name": "name", "status": "status", "volume_id": "volume_id"})
        rows = list(s.scalars(sorted_paged(req, stmt, Snapshot, SORTABLE)))
        page = apply_marker(rows, req.query.get("marker"), limit)
        more = bool(limit is not None and page and len(page) == limit and page[-1].id != rows[-1].id)
        items = [snapshot_detail(sn, req.ctx) if detail else
                 {k: v for k, v in snapshot_detail(sn, req.ctx).items() if ":" not in k} for sn in page]
    out: dict[str, Any] = {"snapshots": items}
    if nl := next_link(req, "snapshots", page, limit, more):
        out["snapshots_links"] = nl
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
        return 200, {"snapshot": snapshot_detail(get_snapshot(s, req, req.params["snapshot_id"]), req.ctx)}


@endpoint
def update(req: Req) -> tuple[int, dict]:
    data = req.member("snapshot")
    if not data or set(data) - {"name", "description", "display_name", "display_description"}:
        raise bad_request("Invalid input: only name and description can be updated.")
    with req.svc.db.session() as s:
        snap = get_snapshot(s, req, req.params["snapshot_id"])
        if "name" in data or "display_name" in data:
            snap.name = text_field(data, "name" if "name" in data else "display_name")
        if "description" in data or "display_description" in data:
            key = "description" if "description" in data else "display_description"
            snap.description = text_field(data, key, 65535)
        s.flush()
        return 200, {"snapshot": snapshot_detail(snap, req.ctx)}


@endpoint
def delete(req: Req) -> tuple[int, None]:
    with req.svc.db.session() as s:
        snap = get_snapshot(s, req, req.params["snapshot_id"])
        if not cas(s, Snapshot, snap.id, SNAPSHOT_DELETE_FROM, status="deleting"):
            raise invalid("snapshot", f"Snapshot status must be available or error and must not be part "
                                      f"of a group, currently {snap.status}.")
    req.svc.manager.delete_snapshot(snap.id)
    return 202, None


@endpoint
def metadata_show(req: Req) -> tuple[int, dict]:
    with req.svc.db.session() as s:
        return 200, {"metadata": dict(get_snapshot(s, req, req.params["snapshot_id"]).meta or {})}


@endpoint
def metadata_update(req: Req) -> tuple[int, dict]:
    meta = metadata_field(req.body if isinstance(req.body, dict) else {}) or {}
    with req.svc.db.session() as s:
        snap = get_snapshot(s, req, req.params["snapshot_id"])
        snap.meta = {**(snap.meta or {}), **meta}
        return 200, {"metadata": dict(snap.meta)}
