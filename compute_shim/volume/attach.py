"""Attach and detach a volume the way Nova does with Cinder's attachments API, rolling back on failure.

attach: volume must be ``available`` → record the mapping (``attaching``) → create the Cinder attachment
(reserves the volume) → update it with this host's connector (Cinder exports the target and returns
connection_info) → log in over iSCSI with the CHAP credentials and read capacity and first block →
``os-complete`` (volume ``in-use``) → mapping ``attached``. Any failure undoes the steps already done.
detach: mapping ``detaching`` → delete the Cinder attachment (volume ``available``) → drop the mapping.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from apiservice.db import in_db
from compute_shim.db import now
from compute_shim.errors import ApiError
from compute_shim.models import Server, VolumeAttachment
from compute_shim.volume.cinder import Cinder, CinderError
from compute_shim.volume.iscsi import Probe, ProbeError

log = logging.getLogger("stackstore.compute.attach")

LIVE = ("attaching", "attached", "detaching")
DEVICE = re.compile(r"^/dev/[a-z]{2,3}[a-z]$")
Prober = Callable[[dict[str, Any], str, float], Awaitable[Probe]]
CinderFactory = Callable[[str, str], Cinder]  # (project_id, token) -> client


def _public(info: dict[str, Any]) -> dict[str, Any]:
    """connection_info without secrets, as recorded in the database."""
    return {k: v for k, v in info.items() if "password" not in k and "secret" not in k}


def _api_error(exc: CinderError, volume_id: str) -> ApiError:
    if exc.status == 404:
        return ApiError(404, f"Volume {volume_id} could not be found.")
    if exc.status in (400, 409):
        return ApiError(400, f"Invalid volume: {exc.message}")
    if exc.status in (401, 403):
        return ApiError(exc.status, exc.message)
    return ApiError(503, f"Volume service error: {exc.message}")


def _next_device(db: Session, server_id: str, wanted: str | None) -> str:
    used = set(db.scalars(select(VolumeAttachment.device).where(
        VolumeAttachment.server_id == server_id, VolumeAttachment.status.in_(LIVE))))
    used.add("/dev/vda")
    if wanted:
        if not DEVICE.match(wanted):
            raise ApiError(400, f"The supplied device path ({wanted}) is invalid.")
        if wanted in used:
            raise ApiError(400, f"The supplied device path ({wanted}) is in use.")
        return wanted
    for letter in "bcdefghijklmnopqrstuvwxyz":
        if f"/dev/vd{letter}" not in used:
            return f"/dev/vd{letter}"
    raise ApiError(403, "Maximum number of volumes attached to this server reached.")


def _record(db: Session, srv: Server, volume_id: str, device: str | None, tag: str | None,
            dot: bool) -> VolumeAttachment:
    """The new mapping (``attaching``) on the next free (or the wanted) device; 409 if already attached."""
    device = _next_device(db, srv.id, device)
    dup = db.scalar(select(VolumeAttachment).where(VolumeAttachment.server_id == srv.id,
                                                   VolumeAttachment.volume_id == volume_id,
                                                   VolumeAttachment.status.in_(LIVE)))
    if dup is not None:
        raise ApiError(409, f"Volume {volume_id} is already attached to server {srv.id}.")
    bdm = VolumeAttachment(id=str(uuid.uuid4()), server_id=srv.id, volume_id=volume_id,
                           device=device, tag=tag, delete_on_termination=dot,
                           status="attaching", created_at=now())
    db.add(bdm)
    db.commit()
    return bdm


def _attached(db: Session, bdm_id: str, attachment_id: str, info: dict[str, Any], capacity: int) -> VolumeAttachment:
    row = db.get(VolumeAttachment, bdm_id)
    row.status, row.attachment_id = "attached", attachment_id
    row.connection, row.capacity = _public(info), capacity
    db.commit()
    return row


def _set_status(db: Session, bdm_id: str, status: str) -> tuple[VolumeAttachment, str] | None:
    """The mapping and its previous status, now ``status``; None when it is gone."""
    row = db.get(VolumeAttachment, bdm_id)
    if row is None:
        return None
    previous, row.status = row.status, status
    db.commit()
    return row, previous


def _forget(db: Session, bdm_id: str) -> None:
    row = db.get(VolumeAttachment, bdm_id)
    if row is not None:
        db.delete(row)
        db.commit()


class Attacher:
    def __init__(self, sessions: sessionmaker, cinder: CinderFactory, connector: dict[str, Any], prober: Prober,
                 timeout: float = 30.0):
        self.sessions, self.cinder, self.connector, self.prober = sessions, cinder, connector, prober
        self.timeout = timeout
        self._locks: dict[str, asyncio.Lock] = {}

    def lock(self, server_id: str) -> asyncio.Lock:
        return self._locks.setdefault(server_id, asyncio.Lock())

    async def attach(self, project_id: str, token: str, srv: Server, volume_id: str, device: str | None = None,
                     tag: str | None = None, delete_on_termination: bool = False) -> VolumeAttachment:
        cinder = self.cinder(project_id, token)
        async with self.lock(srv.id):
            try:
                volume = await cinder.get_volume(volume_id)
            except CinderError as exc:
                raise _api_error(exc, volume_id) from None
            if volume.get("status") != "available":
                raise ApiError(400, f"Invalid volume: volume {volume_id} status must be 'available'. "
                                    f"Currently in '{volume.get('status')}'")
            bdm = await in_db(self.sessions, _record, srv, volume_id, device, tag, delete_on_termination)
            attachment_id = None
            try:
                attachment_id = (await cinder.create_attachment(volume_id, srv.id))["id"]
                att = await cinder.update_attachment(attachment_id, {**self.connector, "mountpoint": bdm.device,
                                                                     "mode": "rw"})
                info = att.get("connection_info") or {}
                probe = await self.prober(info, self.connector["initiator"], self.timeout)
                await cinder.complete_attachment(attachment_id)
            except (CinderError, ProbeError, KeyError, TypeError) as exc:
                await self._rollback(cinder, attachment_id, bdm.id)
                if isinstance(exc, CinderError):
                    raise _api_error(exc, volume_id) from None
                raise ApiError(500, f"Volume {volume_id} could not be attached: {exc}") from None
            except BaseException:
                await self._rollback(cinder, attachment_id, bdm.id)
                raise
            log.info("attached volume %s to server %s as %s (%d bytes readable)", volume_id, srv.id, bdm.device,
                     probe.capacity)
            return await in_db(self.sessions, _attached, bdm.id, attachment_id, info, probe.capacity)

    async def _rollback(self, cinder: Cinder, attachment_id: str | None, bdm_id: str) -> None:
        if attachment_id:
            try:
                await cinder.delete_attachment(attachment_id)
            except CinderError as exc:
                if exc.status != 404:
                    log.error("rollback: could not delete attachment %s: %s", attachment_id, exc.message)
        await in_db(self.sessions, _forget, bdm_id)

    async def detach(self, project_id: str, token: str, srv: Server, bdm: VolumeAttachment,
                     delete_volume: bool = False) -> None:
        cinder = self.cinder(project_id, token)
        async with self.lock(srv.id):
            found = await in_db(self.sessions, _set_status, bdm.id, "detaching")
            if found is None:
                return
            row, previous = found
            try:
                if row.attachment_id:
                    await cinder.delete_attachment(row.attachment_id)
            except CinderError as exc:
                if exc.status != 404:
                    await in_db(self.sessions, _set_status, bdm.id, previous)
                    raise _api_error(exc, bdm.volume_id) from None
            await in_db(self.sessions, _forget, bdm.id)
            log.info("detached volume %s from server %s", bdm.volume_id, srv.id)
        if delete_volume:
            try:
                await cinder.delete_volume(bdm.volume_id)
            except CinderError as exc:
                log.warning("could not delete volume %s on termination: %s", bdm.volume_id, exc.message)
