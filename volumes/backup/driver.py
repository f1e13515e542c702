"""Backup, restore and delete of volume backups (Cinder's chunked driver layout in ``volumebackups``).

Objects of backup B of volume V live under ``volume_<V>/<YYYYmmddHHMMSS>/az_nova_backup_<B>``:
``-00001``… data chunks (zlib, md5 ETag), ``_metadata`` (chunk list with offsets, lengths, sha256,
md5, and the backup whose object holds each chunk) and ``_sha256file``. An incremental backup
uploads only the chunks whose sha256 differs from its parent's and refers to the parent's objects
for the rest; all-zero chunks are stored as no object at all.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

from sqlalchemy import select

from volumes.backends.base import Backend, GiB
from volumes.backup import chunks, metadata
from volumes.backup.objects import ObjectStore
from volumes.backup.pipeline import ordered_map
from volumes.db import Database
from volumes.models import Backup, Volume, utcnow
from volumes.states import set_status

log = logging.getLogger(__name__)
ACCOUNT_PREFIX = "AUTH_"


class BackupDriver:
    def __init__(self, db: Database, backends: dict[str, Backend], store: ObjectStore, chunk_size: int,
                 workers: int = 4):
        self.db, self.backends, self.store, self.chunk_size = db, backends, store, chunk_size
        self.workers = workers  # chunks compressed, hashed and moved at once (zlib and sha256 free the GIL)

    # -- create ----------------------------------------------------------------------------------
    def create(self, backup_id: str) -> None:
        with self.db.session() as s:
            b = s.get(Backup, backup_id)
            vol = s.get(Volume, b.volume_id)
            back_to = vol.previous_status or "available"
            parent = s.get(Backup, b.parent_id) if b.parent_id else None
            parent_prefix = parent.prefix if parent else None
            account, container, prefix = ACCOUNT_PREFIX + b.project_id, b.container, b.prefix
            path, size = self.backends[vol.backend].path(vol.id), vol.size * GiB
        try:
            parent_meta = None
            if parent_prefix:
                parent_meta = self._metadata(account, container, parent_prefix, size)
                metadata.validate(parent_meta, size)  # its entries are copied into this backup's metadata
            count = self._write(account, container, prefix, backup_id, path, size, parent_meta)
        except Exception as exc:
            log.error("backup %s failed: %s", backup_id, exc)
            with self.db.session() as s:
                set_status(s, Backup, backup_id, "error", ("creating",), fail_reason=str(exc)[:1000])
                set_status(s, Volume, b.volume_id, back_to, ("backing-up",), previous_status=None)
            return
        with self.db.session() as s:
            set_status(s, Backup, backup_id, "available", ("creating",), object_count=count)
            set_status(s, Volume, b.volume_id, back_to, ("backing-up",), previous_status=None)

    def _write(self, account: str, container: str, prefix: str, backup_id: str, path: str, size: int,
               parent_meta: dict[str, Any] | None) -> int:
        self.store.ensure_container(account, container)
        old = {c["offset"]: c for c in (parent_meta or {}).get("chunks", [])}

        def store_chunk(item: tuple[int, tuple[int, bytes]]) -> dict[str, Any]:
            """The chunk's metadata entry, uploading it unless it is zero or unchanged since the parent."""
            index, (offset, data) = item
            zero = isinstance(data, int) or chunks.is_zero(data)
            length = data if isinstance(data, int) else len(data)
            digest = chunks.zero_sha256(length) if zero else chunks.sha256(data)
            prev = old.get(offset)
            if prev is not None and prev["sha256"] == digest and prev["length"] == length:
                return prev  # unchanged: points at the parent's object (or zero)
            entry = {"offset": offset, "length": length, "sha256": digest, "object": None,
                     "md5": None, "backup_id": backup_id}
            if not zero:
                packed, compression = chunks.compress(data)
                name = f"{prefix}-{index:05d}"
                md5 = self.store.put(account, container, name, packed)  # the upload's MD5 of the bytes
                entry.update(object=name, md5=md5, compression=compression)
            return entry

        with open(path, "rb") as fh:
            numbered = enumerate(chunks.read_chunks(fh, size, self.chunk_size), start=1)
            entries = list(ordered_map(store_chunk, numbered, self.workers))
        written = sum(1 for e in entries if e["object"] and e["backup_id"] == backup_id)
        meta = {"version": 1, "backup_id": backup_id, "size": size, "chunk_size": self.chunk_size,
                "compression": "zlib", "parent_id": (parent_meta or {}).get("backup_id"), "chunks": entries}
        sha = {"chunk_size": self.chunk_size, "sha256s": [e["sha256"] for e in entries]}
        self.store.put(account, container, f"{prefix}_sha256file", json.dumps(sha).encode(),
                       content_type="application/json")
        self.store.put(account, container, f"{prefix}_metadata", json.dumps(meta).encode(),
                       content_type="application/json")
        return written + 2

    def _metadata(self, account: str, container: str, prefix: str, volume_size: int) -> Any:
        """The backup's metadata object, parsed (ValueError when it is too large or not JSON)."""
        raw = self.store.get(account, container, f"{prefix}_metadata",
                             max_bytes=metadata.max_metadata_bytes(volume_size))
        try:
            return json.loads(raw)
        except RecursionError:
            raise ValueError("backup metadata nested too deeply") from None

    # -- restore ---------------------------------------------------------------------------------
    def restore(self, backup_id: str, volume_id: str) -> None:
        with self.db.session() as s:
            b = s.get(Backup, backup_id)
            vol = s.get(Volume, volume_id)
            fresh = vol.restore_backup_id == backup_id  # a new volume: already sparse zeros
            account, container, prefix = ACCOUNT_PREFIX + b.project_id, b.container, b.prefix
            path, size = self.backends[vol.backend].path(vol.id), vol.size * GiB
        try:
            meta = self._metadata(account, container, prefix, size)
            entries = metadata.validate(meta, size)  # before any write: nothing lands outside the volume
            fd = os.open(path, os.O_RDWR)
            try:
                def restore_chunk(c: dict[str, Any]) -> None:
                    if c.get("object") is None:
                        if not fresh:
                            os.pwrite(fd, bytes(c["length"]), c["offset"])
                        return
                    # stored bytes are never longer than the data (see chunks.compress)
                    packed = self.store.get(account, container, c["object"], max_bytes=c["length"])
                    data = chunks.decompress(packed, c["md5"], c["sha256"],
                                             c.get("compression", meta.get("compression", "zlib")), c["length"])
                    os.pwrite(fd, data, c["offset"])

                for _ in ordered_map(restore_chunk, entries, self.workers):
                    pass
                os.fsync(fd)
            finally:
                os.close(fd)
        except ValueError as exc:  # metadata or chunk data that cannot be trusted: this backup is broken
            log.error("restore of backup %s into %s refused: %s", backup_id, volume_id, exc)
            with self.db.session() as s:
                set_status(s, Volume, volume_id, "error_restoring", ("restoring-backup",))
                set_status(s, Backup, backup_id, "error", ("restoring",), restore_volume_id=None,
                           fail_reason=f"restore refused: {exc}"[:1000])
            return
        except Exception as exc:
            log.error("restore of backup %s into %s failed: %s", backup_id, volume_id, exc)
            with self.db.session() as s:
                set_status(s, Volume, volume_id, "error_restoring", ("restoring-backup",))
                set_status(s, Backup, backup_id, "available", ("restoring",), restore_volume_id=None)
            return
        with self.db.session() as s:
            set_status(s, Volume, volume_id, "available", ("restoring-backup",), restore_backup_id=None)
            set_status(s, Backup, backup_id, "available", ("restoring",), restore_volume_id=None)

    # -- delete ----------------------------------------------------------------------------------
    def delete(self, backup_id: str) -> None:
        with self.db.session() as s:
            b = s.get(Backup, backup_id)
            account, container, prefix = ACCOUNT_PREFIX + b.project_id, b.container, b.prefix
            size = (b.size or 0) * GiB
        try:
            try:
                meta = self._metadata(account, container, prefix, size)
                metadata.validate(meta, size)
            except Exception:
                meta = {"chunks": []}  # never written (failed backup): nothing but the tail objects
            for c in meta["chunks"]:
                if c["object"] and c.get("backup_id") == backup_id:
                    self.store.delete(account, container, c["object"])
            self.store.delete(account, container, f"{prefix}_sha256file")
            self.store.delete(account, container, f"{prefix}_metadata")
        except Exception as exc:
            log.error("delete of backup %s failed: %s", backup_id, exc)
            with self.db.session() as s:
                set_status(s, Backup, backup_id, "error_deleting", ("deleting",), fail_reason=str(exc)[:1000])
            return
        with self.db.session() as s:
            row = s.get(Backup, backup_id)
            if row is not None and row.status == "deleting":
                s.delete(row)

    # -- restart ---------------------------------------------------------------------------------
    def resume(self, manager: Any) -> None:
        """Backups interrupted mid-way fail (volume back to its status); restores and deletes re-run."""
        with self.db.session() as s:
            rows = list(s.scalars(select(Backup).where(Backup.status.in_(("creating", "restoring", "deleting")))))
            for b in rows:
                if b.status == "creating":
                    b.status, b.fail_reason = "error", "interrupted by a restart of the volume service"
                    vol = s.get(Volume, b.volume_id)
                    if vol is not None and vol.status == "backing-up":
                        vol.status, vol.previous_status = vol.previous_status or "available", None
            restores = [(b.id, b.restore_volume_id) for b in rows if b.status == "restoring"]
            deletes = [b.id for b in rows if b.status == "deleting"]
        for backup_id, volume_id in restores:
            with self.db.session() as s:
                vol = s.get(Volume, volume_id) if volume_id else None
                busy = vol is not None and vol.status == "restoring-backup"
                if not busy and vol is not None and vol.status == "creating":
                    continue  # the volume's own create task restores it
                if not busy:
                    set_status(s, Backup, backup_id, "available", ("restoring",))
            if busy:
                manager.submit(f"volume:{volume_id}", self.restore, backup_id, volume_id)
        for backup_id in deletes:
            manager.submit(f"backup:{backup_id}", self.delete, backup_id)


def backup_prefix(volume_id: str, backup_id: str) -> str:
    return f"volume_{volume_id}/{utcnow().strftime('%Y%m%d%H%M%S')}/az_nova_backup_{backup_id}"
