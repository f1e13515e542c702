"""Target helper driving tgtd with ``tgtadm``: one target per exported volume, LUN 1, CHAP per volume.

Mirrors Cinder's TgtAdm helper (IQN ``iqn.2010-10.org.openstack:volume-<id>``, the target file with
``incominguser``) but builds targets with the non-persistent tgtadm sequence, so it works against a
tgtd on any control port; the files under ``<volumes_dir>/targets/`` record what is exported.
"""

from __future__ import annotations

import os
import re
import secrets
import string
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from volumes.errors import BackendError
from volumes.targets import tgtd_ipc

IQN_PREFIX = "iqn.2010-10.org.openstack:"
LUN = 1
_TARGET_LINE = re.compile(r"^Target (\d+): (\S+)$", re.M)

# iSCSI session limits offered to initiators. tgtd's defaults (8 KiB data segments, InitialR2T=Yes,
# one outstanding R2T) make writes wait for the target every 256 KiB: about 1.5x slower here.
SESSION_PARAMS = {"MaxRecvDataSegmentLength": "262144", "MaxXmitDataSegmentLength": "262144",
                  "FirstBurstLength": "262144", "MaxBurstLength": "1048576", "InitialR2T": "No",
                  "ImmediateData": "Yes", "MaxOutstandingR2T": "8"}

TARGET_FILE = """<target {iqn}>
    backing-store {path}
    driver iscsi
    incominguser {user} {password}
    write-cache on
    scsi_sn volume-{volume_id}
    scsi_id volume-{volume_id}
{params}</target>
"""


class TargetUnavailable(BackendError):
    """tgtd cannot be reached: attaching is impossible right now."""


def iqn_for(volume_id: str) -> str:
    return f"{IQN_PREFIX}volume-{volume_id}"


def new_chap() -> tuple[str, str]:
    """Cinder's CHAP pair: a 20-character user and a 16-character secret."""
    alphabet = string.ascii_letters + string.digits
    return ("".join(secrets.choice(alphabet) for _ in range(20)),
            "".join(secrets.choice(alphabet) for _ in range(16)))


@dataclass
class Export:
    tid: int
    iqn: str
    portal: str


class TgtAdm:
    """Create, inspect and remove tgtd targets."""

    def __init__(self, ip: str, port: int, control_port: int, targets_dir: Path):
        self.ip, self.port, self.control_port = ip, port, control_port
        self.targets_dir = Path(targets_dir)
        self._lock = threading.Lock()

    @property
    def portal(self) -> str:
        return f"{self.ip}:{self.port}"

    def _tgtadm(self, *args: str, ok_errors: tuple[str, ...] = ()) -> str:
        argv = ["tgtadm", "-C", str(self.control_port), "--lld", "iscsi", *args]
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        except FileNotFoundError:
            raise TargetUnavailable("iSCSI target unavailable: tgtadm is not installed") from None
        if proc.returncode != 0:
            err = (proc.stderr or proc.stdout).strip()
            if any(e in err for e in ok_errors):
                return ""
            if "tgt daemon" in err or "connect" in err.lower():
                raise TargetUnavailable(f"iSCSI target unavailable: tgtd is not running "
                                        f"(control port {self.control_port}): {err}")
            raise BackendError(f"tgtadm {' '.join(args[:4])} failed: {err}")
        return proc.stdout

    def targets(self) -> dict[str, int]:
        """IQN → tid of every target tgtd has."""
        out = self._tgtadm("--op", "show", "--mode", "target")
        return {iqn: int(tid) for tid, iqn in _TARGET_LINE.findall(out)}

    def show(self, tid: int) -> str:
        out = self._tgtadm("--op", "show", "--mode", "target")
        blocks = re.split(r"(?m)^(?=Target \d+:)", out)
        return next((b for b in blocks if b.startswith(f"Target {tid}:")), "")

    def create_export(self, volume_id: str, path: str, user: str, password: str) -> Export:
        """Export ``path`` as LUN 1 of the volume's target with CHAP ``user``/``password`` (idempotent)."""
        iqn = iqn_for(volume_id)
        with self._lock:
            existing = self.targets()
            if iqn in existing:
                tid = existing[iqn]
                if f"Backing store path: {path}" in self.show(tid):
                    return Export(tid, iqn, self.portal)
                self._delete_target(tid)
                existing = self.targets()
            tid = max(existing.values(), default=0) + 1
            self._write_file(volume_id, iqn, path, user, password)
            self._tgtadm("--op", "new", "--mode", "target", "--tid", str(tid), "-T", iqn)
            try:
                self._tgtadm("--op", "new", "--mode", "logicalunit", "--tid", str(tid), "--lun", str(LUN),
                             "-b", path)
                self._new_account(user, password)
                self._tgtadm("--op", "bind", "--mode", "account", "--tid", str(tid), "--user", user)
                self._tgtadm("--op", "bind", "--mode", "target", "--tid", str(tid), "-I", "ALL")
                for name, value in SESSION_PARAMS.items():
                    self._tgtadm("--op", "update", "--mode", "target", "--tid", str(tid), "--name", name,
                                 "--value", value)
                if "LUN: 1" not in self.show(tid):
                    raise BackendError(f"target {iqn} has no LUN 1")
            except BackendError:
                self._delete_target(tid)
                raise
            return Export(tid, iqn, self.portal)

    def remove_export(self, volume_id: str, user: str | None = None) -> None:
        """Remove the volume's target (and its CHAP account); a missing target is fine."""
        iqn = iqn_for(volume_id)
        with self._lock:
            tid = self.targets().get(iqn)
            if tid is not None:
                self._delete_target(tid)
            if user:
                self._tgtadm("--op", "delete", "--mode", "account", "--user", user,
                             ok_errors=("can't find", "not found", "doesn't exist", "does not exist"))
            try:
                os.unlink(self.targets_dir / f"volume-{volume_id}")
            except FileNotFoundError:
                pass

    def _new_account(self, user: str, password: str) -> None:
        """Create the CHAP account ``user`` unless tgtd has it. The secret goes to tgtd over its control
        socket, never on a command line (``tgtadm --password`` would show it in every process listing)."""
        listed = self._tgtadm("--op", "show", "--mode", "account")
        if user in (line.strip() for line in listed.splitlines()[1:]):
            return
        try:
            err = tgtd_ipc.new_account(self.control_port, user, password)
        except OSError as exc:
            raise TargetUnavailable(f"iSCSI target unavailable: tgtd is not running "
                                    f"(control port {self.control_port}): {exc}") from None
        if err not in (0, tgtd_ipc.ERR_ACCOUNT_EXISTS):
            raise BackendError(f"tgtd refused the CHAP account (error {err})")

    def _delete_target(self, tid: int) -> None:
        self._tgtadm("--op", "delete", "--mode", "target", "--tid", str(tid), "--force",
                     ok_errors=("can't find the target",))

    def _write_file(self, volume_id: str, iqn: str, path: str, user: str, password: str) -> None:
        self.targets_dir.mkdir(parents=True, exist_ok=True)
        target = self.targets_dir / f"volume-{volume_id}"
        tmp = target.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            params = "".join(f"    {name} {value}\n" for name, value in SESSION_PARAMS.items())
            fh.write(TARGET_FILE.format(iqn=iqn, path=path, user=user, password=password,
                                        volume_id=volume_id, params=params))
        os.replace(tmp, target)
