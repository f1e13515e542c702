"""A standalone identity process (its own data dir, port and database) for API-level tests."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx

from tests.harness import ServiceProcess, free_port_block, make_config


class IdentityServer:
    """One identity service (the harness's ``ServiceProcess``) on its own data dir, port and database."""

    def __init__(self, data_dir: Path, database_url: str = "", token_expiration: int = 3600,
                 admin_password: str = "secret-admin"):
        self.data_dir = Path(data_dir)
        self.port = free_port_block(1) + 1
        self.conf = make_config(self.data_dir, cluster={"hash_path_suffix": os.urandom(8).hex()},
                                identity={"host": "127.0.0.1", "port": self.port, "database_url": database_url,
                                          "token_expiration": token_expiration,
                                          "admin_password": admin_password})
        self.admin_password = admin_password
        self.process: ServiceProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def proc(self):
        return self.process.proc if self.process is not None else None

    def start(self, timeout: float = 60.0) -> IdentityServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "STACKSTORE_"))}
        self.process = ServiceProcess(self.conf, "identity").start(timeout, env)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

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
