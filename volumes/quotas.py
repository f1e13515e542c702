"""Per-project quotas: limits (defaults from configuration, overrides in the database) and usage.

A check and the insert or resize it allows form one transaction that holds the project's quota lock in
the database (``lock_project``), so API processes sharing a database cannot together exceed a limit.
"""

from __future__ import annotations

import threading
import zlib

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from volumes.errors import over_limit
from volumes.models import Backup, Quota, Snapshot, Volume, VolumeType

# Within one process, quota checks queue here rather than in the database's lock (SQLite's busy wait).
quota_lock = threading.RLock()
QUOTA_LOCK = zlib.crc32(b"stackstore.volumes.quotas") & 0x7FFFFFFF  # PostgreSQL advisory lock class (int4)

RESOURCES = ("volumes", "snapshots", "gigabytes", "backups", "backup_gigabytes", "per_volume_gigabytes", "groups")


def limits(s: Session, defaults: dict[str, int], project_id: str) -> dict[str, int]:
    out = {k: int(defaults.get(k, -1)) for k in RESOURCES}
    for q in s.scalars(select(Quota).where(Quota.project_id == project_id)):
        out[q.resource] = q.hard_limit
    for t in s.scalars(select(VolumeType)):
        for res in ("volumes", "snapshots", "gigabytes"):
            out.setdefault(f"{res}_{t.name}", -1)
    return out


def usage(s: Session, project_id: str) -> dict[str, int]:
    vols = s.execute(select(func.count(Volume.id), func.coalesce(func.sum(Volume.size), 0))
                     .where(Volume.project_id == project_id)).one()
    snaps = s.execute(select(func.count(Snapshot.id), func.coalesce(func.sum(Snapshot.size), 0))
                      .where(Snapshot.project_id == project_id)).one()
    backups = s.execute(select(func.count(Backup.id), func.coalesce(func.sum(Backup.size), 0))
                        .where(Backup.project_id == project_id)).one()
    return {"volumes": vols[0], "gigabytes": int(vols[1]) + int(snaps[1]), "snapshots": snaps[0],
            "backups": backups[0], "backup_gigabytes": int(backups[1]), "groups": 0, "per_volume_gigabytes": 0}


def lock_project(s: Session, project_id: str) -> None:
    """Hold the project's quota lock until the transaction of ``s`` ends: a PostgreSQL advisory lock per
    project; on SQLite the database's write lock (``BEGIN IMMEDIATE``), taken before usage is read."""
    conn = s.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(QUOTA_LOCK, func.hashtext(project_id))))
    elif conn.dialect.name == "sqlite" and not conn.connection.dbapi_connection.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def check(s: Session, defaults: dict[str, int], project_id: str, **deltas: int) -> None:
    """413 when adding ``deltas`` (e.g. volumes=1, gigabytes=10) would exceed a limit.

    Holds the project's quota lock until ``s`` commits, so the caller's insert or resize is atomic with it.
    """
    lock_project(s, project_id)
    lim = limits(s, defaults, project_id)
    used = usage(s, project_id)
    size = deltas.pop("size", None)
    per_volume = lim.get("per_volume_gigabytes", -1)
    if size is not None and per_volume >= 0 and size > per_volume:
        raise over_limit(f"VolumeSizeExceedsLimit: Requested volume size {size}G is larger than maximum "
                         f"allowed limit {per_volume}G.")
    names = {"volumes": "VolumeLimitExceeded", "snapshots": "SnapshotLimitExceeded",
             "gigabytes": "VolumeSizeExceedsAvailableQuota", "backups": "BackupLimitExceeded",
             "backup_gigabytes": "VolumeBackupSizeExceedsAvailableQuota"}
    for res, delta in deltas.items():
        limit = lim.get(res, -1)
        if limit >= 0 and delta > 0 and used.get(res, 0) + delta > limit:
            raise over_limit(f"{names.get(res, 'OverQuota')}: Maximum number of {res} allowed ({limit}) "
                             f"exceeded (in use {used.get(res, 0)}, requested {delta}).")
