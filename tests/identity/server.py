"""A standalone identity process (its own data dir, port and database) for API-level tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from stackstore.tomlwrite import dumps
from tests.cluster import free_port_block

ROOT = Path(__file__).resolve().parents[2]


class IdentityServer:
    def __init__(self, data_dir: Path, database_url: str = "", token_expiration: int = 3600,
                 admin_password: str = "secret-admin"):
        self.data_dir = Path(data_dir)
        self.port = free_port_block(1) + 1
        self.conf = {"cluster": {"data_dir": str(self.data_dir), "hash_path_suffix": os.urandom(8).hex()},
                     "identity": {"host": "127.0.0.1", "port": self.port, "database_url": database_url,
                                  "token_expiration": token_expiration, "admin_password": admin_password}}
        self.admin_password = admin_password
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> IdentityServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "identity.toml"
        config.write_text(dumps(self.conf))
        log = open(self.data_dir / "identity.log", "ab")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "STACKSTORE_"))}
        self.proc = subprocess.Popen([sys.executable, "-m", "identity", "--config", str(config)], cwd=ROOT,
                                     stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{self.url}/healthcheck", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"identity did not start: {(self.data_dir / 'identity.log').read_text()[-3000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def clouds(self) -> dict:
        return json.loads((self.data_dir / "clouds.yaml").read_text())["clouds"]


def password_auth(user: str, password: str, project: str | None = None, domain: str = "Default") -> dict:
    ident = {"methods": ["password"],
             "password": {"user": {"name": user, "domain": {"name": domain}, "password": password}}}
    auth: dict = {"identity": ident}
    if project:
        auth["scope"] = {"project": {"name": project, "domain": {"name": domain}}}
    return {"auth": auth}


def get_token(url: str, user: str, password: str, project: str | None = None) -> tuple[str, dict]:
    resp = httpx.post(f"{url}/v3/auth/tokens", json=password_auth(user, password, project))
    assert resp.status_code == 201, resp.text
    return resp.headers["X-Subject-Token"], resp.json()["token"]
