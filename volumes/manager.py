"""The volume manager: slow work in background threads, driving the state machine.

The API moves a resource into a transient status (``creating``, ``deleting``, ``extending`` …) and
submits a task; the task does the backend work and moves it on (``available``) or to an error status.
At start-up :meth:`Manager.resume` picks up every transient status left by a crash: idempotent work is
redone, the rest is marked as an error, so nothing stays stuck and no backend object is orphaned.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from sqlalchemy import delete, select

from volumes.backends.base import Backend
from volumes.db import Database
from volumes.errors import BackendError
from volumes.models import Attachment, Backup, Snapshot, Volume
from volumes.states import set_status

log = logging.getLogger(__name__)


class Manager:
    def __init__(self, db: Database, backends: dict[str, Backend], workers: int = 4):
        self.db = db
        self.backends = backends
        self.backup_driver: Any = None  # volumes.backup.driver.BackupDriver, set by the app
        self.exports: Any = None  # volumes.exports.Exports, set by the app
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="volumes-manager")
        self._running: dict[str, Future] = {}
        self._lock = threading.Lock()

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=False)

    def submit(self, key: str, fn: Callable[..., None], *args: Any) -> None:
        """Run ``fn(*args)`` once per ``key`` at a time."""
        with self._lock:
            running = self._running.get(key)
            if running is not None and not running.done():
                return
            self._running[key] = self.pool.submit(self._guard, key, fn, *args)

    def _guard(self, key: str, fn: Callable[..., None], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:  # a task must never die silently: its resource was already set to an error
            log.exception("task %s failed", key)

    def wait_idle(self, timeout: float = 60.0) -> None:
        """Test helper: wait for every submitted task."""
        with self._lock:
            futures = list(self._running.values())
        for f in futures:
            f.result(timeout)

    def backend(self, name: str) -> Backend:
        if name not in self.backends:
            raise BackendError(f"No valid backend was found. Backend {name!r} is not enabled")
        return self.backends[name]

    # -- volumes ---------------------------------------------------------------------------------
    def create_volume(self, volume_id: str) -> None:
        self.submit(f"volume:{volume_id}", self._create_volume, volume_id)

    def _create_volume(self, volume_id: str) -> None:
        with self.db.session() as s:
            vol = s.get(Volume, volume_id)
            if vol is None or vol.status != "creating":
                return
            backend_name, size, snap_id, src_id = vol.backend, vol.size, vol.snapshot_id, vol.source_volid
        try:
            backend = self.backend(backend_name)
            if snap_id:
                backend.create_from_snapshot(volume_id, snap_id, size)
            elif src_id:
                backend.clone(volume_id, src_id, size)
            else:
                backend.create(volume_id, size)
        except Exception as exc:
            log.error("create volume %s failed: %s", volume_id, exc)
            with self.db.session() as s:
                set_status(s, Volume, volume_id, "error", ("creating",))
            return
        with self.db.session() as s:
            vol = s.get(Volume, volume_id)
            restore_from = vol.restore_backup_id if vol else None
            set_status(s, Volume, volume_id, "restoring-backup" if restore_from else "available", ("creating",))
        if restore_from and self.backup_driver is not None:
            self.backup_driver.restore(restore_from, volume_id)

    def delete_volume(self, volume_id: str) -> None:
        self.submit(f"volume:{volume_id}", self._delete_volume, volume_id)

    def _delete_volume(self, volume_id: str) -> None:
        with self.db.session() as s:
            vol = s.get(Volume, volume_id)
            if vol is None or vol.status != "deleting":
                return
            backend_name = vol.backend
            snaps = [(sn.id, sn.status) for sn in s.scalars(select(Snapshot).where(Snapshot.volume_id == volume_id))]
        try:
            if self.exports is not None:
                self.exports.remove(volume_id)
            backend = self.backend(backend_name) if backend_name in self.backends else None
            for snap_id, _ in snaps:  # cascade
                if backend:
                    backend.delete_snapshot(snap_id, volume_id)
            if backend:
                backend.delete(volume_id)
        except Exception as exc:
            log.error("delete volume %s failed: %s", volume_id, exc)
            with self.db.session() as s:
                set_status(s, Volume, volume_id, "error_deleting", ("deleting",))
            return
        with self.db.session() as s:
            s.execute(delete(Snapshot).where(Snapshot.volume_id == volume_id))
            s.execute(delete(Attachment).where(Attachment.volume_id == volume_id))
            s.execute(delete(Volume).where(Volume.id == volume_id, Volume.status == "deleting"))

    def extend_volume(self, volume_id: str) -> None:
        self.submit(f"volume:{volume_id}", self._extend_volume, volume_id)

    def _extend_volume(self, volume_id: str) -> None:
        with self.db.session() as s:
            vol = s.get(Volume, volume_id)
            if vol is None or vol.status != "extending" or not vol.target_size:
                return
            backend_name, new_size, back_to = vol.backend, vol.target_size, vol.previous_status or "available"
        try:
            self.backend(backend_name).extend(volume_id, new_size)
            if back_to == "in-use" and self.exports is not None:
                self.exports.refresh(volume_id)
        except Exception as exc:
            log.error("extend volume %s failed: %s", volume_id, exc)
            with self.db.session() as s:
                set_status(s, Volume, volume_id, "error_extending", ("extending",), target_size=None)
            return
        with self.db.session() as s:
            set_status(s, Volume, volume_id, back_to, ("extending",), size=new_size, target_size=None,
                       previous_status=None)

    # -- snapshots -------------------------------------------------------------------------------
    def create_snapshot(self, snapshot_id: str) -> None:
        self.submit(f"snapshot:{snapshot_id}", self._create_snapshot, snapshot_id)

    def _create_snapshot(self, snapshot_id: str) -> None:
        with self.db.session() as s:
            snap = s.get(Snapshot, snapshot_id)
            vol = s.get(Volume, snap.volume_id) if snap else None
            if snap is None or vol is None or snap.status != "creating":
                return
            args = (snapshot_id, vol.id, snap.size)
            backend_name = vol.backend
        try:
            self.backend(backend_name).create_snapshot(*args)
        except Exception as exc:
            log.error("create snapshot %s failed: %s", snapshot_id, exc)
            with self.db.session() as s:
                set_status(s, Snapshot, snapshot_id, "error", ("creating",))
            return
        with self.db.session() as s:
            set_status(s, Snapshot, snapshot_id, "available", ("creating",), progress="100%")

    def delete_snapshot(self, snapshot_id: str) -> None:
        self.submit(f"snapshot:{snapshot_id}", self._delete_snapshot, snapshot_id)

    def _delete_snapshot(self, snapshot_id: str) -> None:
        with self.db.session() as s:
            snap = s.get(Snapshot, snapshot_id)
            vol = s.get(Volume, snap.volume_id) if snap else None
            if snap is None or snap.status != "deleting":
                return
            backend_name = vol.backend if vol else None
            volume_id = snap.volume_id
        try:
            if backend_name:
                self.backend(backend_name).delete_snapshot(snapshot_id, volume_id)
        except Exception as exc:
            log.error("delete snapshot %s failed: %s", snapshot_id, exc)
            with self.db.session() as s:
                set_status(s, Snapshot, snapshot_id, "error_deleting", ("deleting",))
            return
        with self.db.session() as s:
            s.execute(delete(Snapshot).where(Snapshot.id == snapshot_id, Snapshot.status == "deleting"))

    # -- restart ---------------------------------------------------------------------------------
    def resume(self) -> None:
        """Finish or fail whatever a previous run left in a transient status."""
        with self.db.session() as s:
            vols = [(v.id, v.status) for v in s.scalars(select(Volume).where(Volume.status.in_(
                ("creating", "deleting", "extending", "backing-up", "restoring-backup", "managing"))))]
            snaps = [(x.id, x.status) for x in s.scalars(select(Snapshot).where(
                Snapshot.status.in_(("creating", "deleting"))))]
        for vid, status in vols:
            log.info("resuming volume %s (%s)", vid, status)
            if status == "creating":
                self.create_volume(vid)
            elif status == "deleting":
                self.delete_volume(vid)
            elif status == "restoring-backup":
                with self.db.session() as s:  # with its backup, the backup driver's resume redoes it
                    if s.scalar(select(Backup.id).where(Backup.restore_volume_id == vid)) is None:
                        set_status(s, Volume, vid, "error_restoring", ("restoring-backup",))
            elif status == "extending":
                self.extend_volume(vid)
            elif status == "backing-up":
                pass  # the backup driver's resume fails the backup and puts the volume back
            elif status == "managing":
                with self.db.session() as s:
                    set_status(s, Volume, vid, "error_managing", ("managing",))
        for sid, status in snaps:
            (self.create_snapshot if status == "creating" else self.delete_snapshot)(sid)
        if self.backup_driver is not None:
            self.backup_driver.resume(self)
