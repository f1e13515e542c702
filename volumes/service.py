"""Process-wide state of the volumes service: DB, backends, manager, target helper, backups."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from volumes.auth import Authenticator, identity_url
from volumes.backends import build_backends
from volumes.db import Database
from volumes.exports import Exports
from volumes.manager import Manager
from volumes.settings import Settings
from volumes.targets.tgt import TgtAdm
from volumes.targets.tgtd import TgtDaemon

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    db: Database
    manager: Manager
    exports: Exports
    auth: Authenticator
    tgtd: TgtDaemon | None = None
    objects: Any = None

    @classmethod
    def build(cls, conf: Any) -> Services:
        settings = Settings.from_config(conf)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(settings.database_url)
        backends = build_backends(settings)
        manager = Manager(db, backends, settings.manager_workers)
        tgt = TgtAdm(settings.iscsi_ip, settings.iscsi_port, settings.tgt_control_port,
                     settings.volumes_dir / "targets")
        exports = Exports(db, backends, tgt)
        manager.exports = exports
        svc = cls(settings, db, manager, exports, Authenticator(settings.auth_strategy, identity_url(conf)))
        if conf.get("cluster") and hasattr(conf, "ring_dir"):
            from volumes.backup.driver import BackupDriver
            from volumes.backup.objects import ObjectStore

            svc.objects = ObjectStore(conf)
            manager.backup_driver = BackupDriver(db, backends, svc.objects, settings.backup_chunk_size,
                                                  settings.backup_workers)
        return svc

    def start(self) -> None:
        """Start tgtd (when configured), restore targets, resume interrupted work."""
        s = self.settings
        if s.start_tgtd:
            self.tgtd = TgtDaemon(s.iscsi_ip, s.iscsi_port, s.tgt_control_port, s.data_dir / "logs" / "tgtd.log")
            try:
                self.tgtd.start()
            except RuntimeError as exc:
                log.error("iSCSI export disabled: %s", exc)
                self.exports.unavailable_reason = str(exc)
        for name, backend in self.manager.backends.items():
            try:
                backend.check()
            except Exception as exc:
                log.warning("backend %s unavailable: %s", name, exc)
        if not self.exports.unavailable_reason:
            self.exports.restore_all()
        self.manager.resume()

    def stop(self) -> None:
        self.manager.shutdown()
        if self.tgtd is not None and self.tgtd.proc is not None:
            from sqlalchemy import select

            from volumes.models import Attachment

            with self.db.session() as sess:
                ids = set(sess.scalars(select(Attachment.volume_id)))
            for volume_id in ids:  # tgtd exits on TERM only without targets; they come back at start
                try:
                    self.exports.tgt.remove_export(volume_id)
                except Exception as exc:
                    log.warning("cannot remove target of %s: %s", volume_id, exc)
            self.tgtd.stop()
        if self.objects is not None:
            self.objects.close()
        self.db.engine.dispose()
