"""The volume/snapshot/backup state machine: which statuses each operation may start from.

Every change goes through :func:`volumes.db.cas` with these sets, so two racing requests can never
both win; a loser gets Cinder's 400 ``Invalid volume: …`` body.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from volumes.db import cas
from volumes.errors import ApiError
from volumes.models import Backup, Snapshot, Volume

VOLUME_STATUSES = (
    "creating", "available", "reserved", "attaching", "in-use", "detaching", "deleting", "error",
    "error_deleting", "extending", "error_extending", "backing-up", "error_backing-up", "restoring-backup",
    "error_restoring", "downloading", "uploading", "retyping", "maintenance", "awaiting-transfer",
    "managing", "error_managing",
)
ATTACH_STATUSES = ("attached", "attaching", "detached", "reserved", "error_attaching", "error_detaching",
                   "deleted")

# operation -> statuses it may start from
VOLUME_FROM = {
    "delete": ("available", "error", "error_restoring", "error_extending", "error_managing"),
    "force_delete": VOLUME_STATUSES,
    "extend": ("available",),
    "extend_in_use": ("available", "in-use"),
    "snapshot": ("available",),
    "snapshot_force": ("available", "in-use"),
    "clone": ("available", "in-use"),
    "reserve": ("available",),
    "reserve_multiattach": ("available", "in-use", "reserved", "attaching"),
    "attach": ("attaching", "reserved", "available", "in-use"),
    "unreserve": ("attaching", "reserved"),
    "begin_detaching": ("in-use",),
    "roll_detaching": ("detaching",),
    "backup": ("available",),
    "backup_force": ("available", "in-use"),
    "restore": ("available",),
}
SNAPSHOT_DELETE_FROM = ("available", "error", "error_deleting")
BACKUP_DELETE_FROM = ("available", "error")
BACKUP_RESTORE_FROM = ("available",)

# transient statuses the manager owns (resumed or failed after a restart)
VOLUME_BUSY = ("creating", "deleting", "extending", "backing-up", "restoring-backup", "managing")


def invalid(kind: str, message: str) -> ApiError:
    return ApiError(400, f"Invalid {kind}: {message}")


def volume_status_error(op: str, current: str) -> ApiError:
    allowed = " or ".join(VOLUME_FROM[op])
    return invalid("volume", f"Volume status must be {allowed} to {op.split('_')[0]}, currently {current}.")


def move_volume(s: Session, vol: Volume, op: str, new_status: str, **values: object) -> None:
    """Move ``vol`` to ``new_status`` if its status allows ``op``, else raise the 400."""
    if not cas(s, Volume, vol.id, VOLUME_FROM[op], status=new_status, **values):
        s.refresh(vol)
        raise volume_status_error(op, vol.status)
    s.refresh(vol)


def set_status(s: Session, model: type[Volume | Snapshot | Backup], ident: str, status: str,
               expected: tuple[str, ...] | None = None, **values: object) -> bool:
    """Manager-side transition (``expected`` guards against a concurrent change)."""
    return cas(s, model, ident, expected, status=status, **values)
