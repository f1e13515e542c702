"""Volume exports: the CHAP pair and tgt target of each attached volume, kept in step with the DB."""

from __future__ import annotations

import logging

from sqlalchemy import select

from volumes.backends.base import Backend
from volumes.connection import provider_location
from volumes.db import Database
from volumes.models import Attachment, Volume
from volumes.targets.tgt import Export, TargetUnavailable, TgtAdm, new_chap

log = logging.getLogger(__name__)
LIVE_ATTACH = ("attaching", "attached")


class Exports:
    def __init__(self, db: Database, backends: dict[str, Backend], tgt: TgtAdm):
        self.db, self.backends, self.tgt = db, backends, tgt
        self.unavailable_reason: str | None = None  # set when tgtd could not be started

    def _check(self) -> None:
        if self.unavailable_reason:
            raise TargetUnavailable(f"iSCSI target unavailable: {self.unavailable_reason}")

    def ensure(self, volume_id: str) -> tuple[Volume, Export]:
        """Export the volume (reusing its CHAP pair) and record provider_location/auth."""
        self._check()
        with self.db.session() as s:
            vol = s.get(Volume, volume_id)
            assert vol is not None
            if not vol.provider_auth:
                user, password = new_chap()
                vol.provider_auth = f"CHAP {user} {password}"
            _, user, password = vol.provider_auth.split(" ", 2)
            backend = self.backends[vol.backend]
        export = self.tgt.create_export(volume_id, backend.path(volume_id), user, password)
        with self.db.session() as s:
            vol = s.get(Volume, volume_id)
            vol.provider_location = provider_location(export)
        return vol, export

    def remove(self, volume_id: str) -> None:
        with self.db.session() as s:
            vol = s.get(Volume, volume_id)
            user = vol.provider_auth.split(" ", 2)[1] if vol and vol.provider_auth else None
            if vol is not None:
                vol.provider_location = None
        if self.unavailable_reason:
            return
        try:
            self.tgt.remove_export(volume_id, user)
        except TargetUnavailable as exc:  # no tgtd, no target: nothing to tear down
            log.warning("target of volume %s not removed: %s", volume_id, exc)

    def remove_if_unused(self, volume_id: str) -> None:
        """Tear the target down once no attachment of the volume has a live connection."""
        with self.db.session() as s:
            live = s.scalar(select(Attachment.id).where(Attachment.volume_id == volume_id,
                                                        Attachment.connector.is_not(None),
                                                        Attachment.attach_status.in_(LIVE_ATTACH)))
        if live is None:
            self.remove(volume_id)

    def refresh(self, volume_id: str) -> None:
        """Re-create the target so initiators see a new size (after an in-use extend)."""
        self.remove(volume_id)
        self.ensure(volume_id)

    def restore_all(self) -> None:
        """After a restart: re-create the target of every volume with a live attachment."""
        with self.db.session() as s:
            ids = set(s.scalars(select(Attachment.volume_id).where(
                Attachment.connector.is_not(None), Attachment.attach_status.in_(LIVE_ATTACH))))
        for volume_id in sorted(ids):
            try:
                self.ensure(volume_id)
                log.info("restored target of volume %s", volume_id)
            except Exception as exc:
                log.error("cannot restore target of volume %s: %s", volume_id, exc)
