"""``/os-quota-sets`` and ``/limits``."""

from __future__ import annotations

from typing import Any

from stackstore.numbers import parse_int
from volumes import quotas
from volumes.api.common import Req, endpoint
from volumes.errors import ApiError, bad_request
from volumes.models import Quota


def _project(req: Req) -> str:
    project = req.params["target_project"]
    if project != req.ctx.project_id and not req.ctx.is_admin:
        raise ApiError(403, "Policy doesn't allow volume_extension:quotas:show to be performed.")
    return project


@endpoint
def show(req: Req) -> tuple[int, dict]:
    project = _project(req)
    with req.svc.db.session() as s:
        lim = quotas.limits(s, req.svc.settings.quotas, project)
        if not req.flag("usage"):
            return 200, {"quota_set": {"id": project, **lim}}
        used = quotas.usage(s, project)
    out: dict[str, Any] = {"id": project}
    for key, limit in lim.items():
        out[key] = {"limit": limit, "in_use": used.get(key, 0), "reserved": 0, "allocated": 0}
    return 200, {"quota_set": out}


@endpoint
def defaults(req: Req) -> tuple[int, dict]:
    project = req.params["target_project"]
    with req.svc.db.session() as s:
        base = quotas.limits(s, req.svc.settings.quotas, "")
    return 200, {"quota_set": {"id": project, **base}}


MAX_LIMIT = 2**31 - 1  # Cinder's bound; also PostgreSQL's INTEGER (SQLite would store any int64)


@endpoint
def update(req: Req) -> tuple[int, dict]:
    if not req.ctx.is_admin:
        raise ApiError(403, "Policy doesn't allow volume_extension:quotas:update to be performed.")
    project = req.params["target_project"]
    data = req.member("quota_set")
    with req.svc.db.session() as s:
        known = quotas.limits(s, req.svc.settings.quotas, project)
        for key, value in data.items():
            if key in ("tenant_id", "id"):
                continue
            if key not in known:
                raise bad_request(f"Bad key(s) in quota set: {key}")
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            value = parse_int(value) if isinstance(value, str) else value
            if isinstance(value, bool) or not isinstance(value, int):
                raise bad_request(f"Quota limit for {key} must be an integer.")
            if value < -1:
                raise bad_request(f"Quota limit {value} for {key} must be -1 or greater.")
            if value > MAX_LIMIT:
                raise bad_request(f"Quota limit {value} for {key} must be at most {MAX_LIMIT}.")
            row = s.get(Quota, (project, key))
            if row is None:
                s.add(Quota(project_id=project, resource=key, hard_limit=value))
            else:
                row.hard_limit = value
        s.flush()
        return 200, {"quota_set": quotas.limits(s, req.svc.settings.quotas, project)}


@endpoint
def reset(req: Req) -> tuple[int, None]:
    if not req.ctx.is_admin:
        raise ApiError(403, "Policy doesn't allow volume_extension:quotas:delete to be performed.")
    with req.svc.db.session() as s:
        s.query(Quota).filter(Quota.project_id == req.params["target_project"]).delete()
    return 200, None


@endpoint
def limits(req: Req) -> tuple[int, dict]:
    project = req.ctx.project_id
    with req.svc.db.session() as s:
        lim = quotas.limits(s, req.svc.settings.quotas, project)
        used = quotas.usage(s, project)
    absolute = {
        "maxTotalVolumes": lim["volumes"], "maxTotalSnapshots": lim["snapshots"],
        "maxTotalVolumeGigabytes": lim["gigabytes"], "maxTotalBackups": lim["backups"],
        "maxTotalBackupGigabytes": lim["backup_gigabytes"], "totalVolumesUsed": used["volumes"],
        "totalGigabytesUsed": used["gigabytes"], "totalSnapshotsUsed": used["snapshots"],
        "totalBackupsUsed": used["backups"], "totalBackupGigabytesUsed": used["backup_gigabytes"],
    }
    return 200, {"limits": {"rate": [], "absolute": absolute}}


@endpoint
def availability_zones(req: Req) -> tuple[int, dict]:
    return 200, {"availabilityZoneInfo": [{"zoneName": "nova", "zoneState": {"available": True}}]}
