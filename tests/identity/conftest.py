"""Identity fixtures: the cluster's identity service, standalone servers on SQLite and PostgreSQL,
and the real ``openstack`` CLI with a clean environment."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.identity.server import IdentityServer


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def identity_server(request, tmp_path_factory):
    """A standalone identity service on SQLite and on PostgreSQL."""
    url = ""
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres").new_database()
    server = IdentityServer(tmp_path_factory.mktemp(f"identity-{request.param}"), database_url=url).start()
    yield server
    server.stop()


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "ST_", "AWS_", "STACKSTORE_"))}
    env.update(extra)
    return env


class OpenStackCLI:
    """Runs ``openstack --os-cloud <cloud> ...`` against a clouds.yaml; JSON output parsed."""

    def __init__(self, exe: str, clouds_file: Path):
        self.exe = exe
        self.clouds_file = clouds_file

    def __call__(self, *args: str, cloud: str = "stackstore-admin", check: bool = True, env: dict | None = None,
                 parse: bool = True, cwd: str | None = None):
        base = clean_env(OS_CLIENT_CONFIG_FILE=str(self.clouds_file))
        if env:
            base.update(env)
        argv = [self.exe, *(["--os-cloud", cloud] if cloud else []), *args]
        proc = subprocess.run(argv, capture_output=True, text=True, env=base, timeout=180, cwd=cwd)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
        if not check:
            return proc
        if parse and "-f" in args and "json" in args:
            return json.loads(proc.stdout) if proc.stdout.strip() else None
        return proc.stdout


@pytest.fixture(scope="module")
def osc(cluster):
    exe = require_tool("openstack")
    return OpenStackCLI(exe, cluster.data_dir / "clouds.yaml")


@pytest.fixture(scope="module")
def identity_url(cluster) -> str:
    return f"http://127.0.0.1:{cluster.conf['identity']['port']}"
