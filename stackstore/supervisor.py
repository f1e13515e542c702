"""Keep a single-machine cloud running: restart a service that dies, never stop the others for it.

``stackstore up`` starts the cloud, then hands it to :class:`Supervisor`. A service that exits is
restarted after a backoff (1 s, doubling up to ``MAX_BACKOFF``; back to 1 s once it has stayed up for
``STABLE_AFTER``), with a message naming it and its log. The others keep serving meanwhile: three
replicas on four nodes are meant to survive one node's crash. The supervisor publishes every service's
state, pid and restart count in ``<data_dir>/run/services.json`` for ``stackstore status``.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TextIO

from stackstore.launcher import Cloud

MIN_BACKOFF = 1.0
MAX_BACKOFF = 30.0
STABLE_AFTER = 60.0  # seconds a restarted service must stay up before its backoff is reset
POLL_INTERVAL = 0.5


@dataclass
class ServiceState:
    """What ``stackstore status`` shows of one supervised service."""

    name: str
    state: str  # running | restarting | stopped
    pid: int | None
    restarts: int = 0
    last_exit: int | None = None  # exit status of the last crash (negative: killed by that signal)
    since: float = 0.0  # when the current state began (epoch seconds)
    log: str = ""


def state_path(data_dir: Path) -> Path:
    """Where the supervisor publishes the services' states."""
    return Path(data_dir) / "run" / "services.json"


def read_states(data_dir: Path) -> list[ServiceState]:
    """The states last published by a supervisor running on ``data_dir`` (empty when none)."""
    try:
        doc = json.loads(state_path(data_dir).read_text())
    except (OSError, ValueError):
        return []
    if not isinstance(doc, dict) or not isinstance(doc.get("services"), list):
        return []
    fields = set(ServiceState.__dataclass_fields__)
    return [ServiceState(**{k: v for k, v in s.items() if k in fields}) for s in doc["services"]
            if isinstance(s, dict) and "name" in s]


class Supervisor:
    """Watches the services of a started :class:`Cloud` until :meth:`run`'s ``stop`` event is set."""

    def __init__(self, cloud: Cloud, out: TextIO | None = None):
        self.cloud = cloud
        self.out = out or sys.stderr
        now = time.time()
        self.states = {name: ServiceState(name, "running", svc.proc.pid if svc.proc else None, since=now,
                                          log=str(svc.log_path))
                       for name, svc in cloud.services.items()}
        self._backoff = dict.fromkeys(cloud.services, MIN_BACKOFF)
        self._restart_at: dict[str, float] = {}

    def run(self, stop: threading.Event) -> None:
        """Supervise until ``stop`` is set, then stop every service (proxy first)."""
        self._publish()
        try:
            while not stop.wait(POLL_INTERVAL):
                self.tick(time.monotonic())
        finally:
            self.cloud.stop()
            now = time.time()
            for st in self.states.values():
                st.state, st.pid, st.since = "stopped", None, now
            self._publish()

    def tick(self, now: float) -> None:
        """One look at every service: note the dead, restart those whose backoff is over."""
        changed = False
        for name, svc in self.cloud.services.items():
            st = self.states[name]
            if st.state == "running" and not svc.running:
                code = svc.proc.returncode if svc.proc is not None else None
                delay = self._backoff[name]
                if time.time() - st.since >= STABLE_AFTER:
                    delay = MIN_BACKOFF
                self._restart_at[name] = now + delay
                self._backoff[name] = min(MAX_BACKOFF, delay * 2)
                st.state, st.pid, st.last_exit, st.since = "restarting", None, code, time.time()
                self._say(f"{name} exited (status {code}); restarting it in {delay:.0f}s (log: {svc.log_path})")
                changed = True
            elif st.state == "restarting" and now >= self._restart_at.get(name, 0.0):
                svc.start()
                st.state, st.pid, st.since = "running", svc.proc.pid if svc.proc else None, time.time()
                st.restarts += 1
                self._say(f"{name} restarted (restart {st.restarts})")
                changed = True
        if changed:
            self._publish()

    def _say(self, message: str) -> None:
        print(f"stackstore: {message}", file=self.out, flush=True)

    def _publish(self) -> None:
        path = state_path(self.cloud.conf.data_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        doc = {"pid": os.getpid(), "updated": time.time(), "services": [asdict(s) for s in self.states.values()]}
        tmp.write_text(json.dumps(doc, indent=1))
        os.replace(tmp, path)
