"""The tgtd daemon the volumes service runs: own portal port and control port, started and stopped
with the service (an already running tgtd on the same control port is reused)."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

log = logging.getLogger(__name__)


def _die_with_parent() -> None:
    """tgtd must not outlive the service that started it (even a SIGKILLed one): the targets are
    recreated from the database at the next start. Call ``start`` from the main thread."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class TgtDaemon:
    """A tgtd child process listening on ``ip:port`` and managed through ``control_port``."""

    def __init__(self, ip: str, port: int, control_port: int, log_path: Path):
        self.ip, self.port, self.control_port = ip, port, control_port
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def alive(self) -> bool:
        proc = subprocess.run(["tgtadm", "-C", str(self.control_port), "--mode", "sys", "--op", "show"],
                              capture_output=True)
        return proc.returncode == 0

    def start(self, timeout: float = 10.0) -> None:
        """Start tgtd unless one already answers on the control port; raise RuntimeError on failure."""
        if not shutil.which("tgtd") or not shutil.which("tgtadm"):
            raise RuntimeError("tgtd/tgtadm are not installed (apt-get install tgt)")
        if self.alive():
            log.info("reusing running tgtd on control port %s", self.control_port)
            return
        if os.geteuid() != 0:
            raise RuntimeError("tgtd needs root")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(
                ["tgtd", "-f", "-C", str(self.control_port), "--iscsi", f"portal={self.ip}:{self.port}"],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"tgtd exited with {self.proc.returncode}; see {self.log_path}")
            if self.alive():
                log.info("tgtd listening on %s:%s (control port %s)", self.ip, self.port, self.control_port)
                return
            time.sleep(0.05)
        raise RuntimeError("tgtd did not answer on its control port")

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the tgtd we started (targets are recreated from the database at the next start)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)  # tgtd exits on TERM only once it has no targets
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
