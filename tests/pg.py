"""A throwaway PostgreSQL server for tests: ``initdb`` + ``pg_ctl`` in a temp dir, as user postgres when root."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from tests.cluster import free_port_block
from tests.conftest import missing_prerequisite


def _bin_dir() -> str | None:
    found = shutil.which("initdb")
    if found:
        return str(Path(found).resolve().parent)
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(d.split("/")[-2]))
    return dirs[-1] if dirs and os.path.exists(f"{dirs[-1]}/initdb") else None


class PostgresServer:
    def __init__(self, bin_dir: str, root: Path, port: int, run_as: str | None):
        self.bin_dir, self.root, self.port, self.run_as = bin_dir, root, port, run_as

    @classmethod
    def create(cls, _tmp: Path) -> PostgresServer:
        bin_dir = _bin_dir()
        if bin_dir is None:
            missing_prerequisite("initdb not found (apt-get install postgresql)")
        run_as = None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                missing_prerequisite("no postgres system user to run the server as")
            run_as = "postgres"
        root = Path(tempfile.mkdtemp(prefix="stackstore-pg-"))
        os.chmod(root, 0o755)
        if run_as:
            shutil.chown(root, run_as)
        server = cls(bin_dir, root, free_port_block(1) + 1, run_as)
        server._run("initdb", "-D", str(root / "data"), "-U", "postgres", "-A", "trust", "-E", "UTF8")
        server._run("pg_ctl", "-D", str(root / "data"), "-l", str(root / "server.log"), "-w", "-t", "60",
                    "-o", f"-p {server.port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
        return server

    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess:
        argv = [f"{self.bin_dir}/{tool}", *args]
        if self.run_as:
            argv = ["runuser", "-u", self.run_as, "--", *argv]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=str(self.root))
        if proc.returncode != 0:
            raise RuntimeError(f"{tool} failed: {proc.stdout[-2000:]} {proc.stderr[-2000:]}")
        return proc

    def new_database(self, prefix: str = "test") -> str:
        """A fresh empty database named ``<prefix>_<random>``; its SQLAlchemy URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def restart(self) -> None:
        """Stop and start the server: every open client connection is cut."""
        self._run("pg_ctl", "-D", str(self.root / "data"), "-l", str(self.root / "server.log"), "-m", "fast", "-w",
                  "-t", "60", "restart")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")
        except RuntimeError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)
