"""Volume fixtures: API clients with identity tokens, status polling, iSCSI URLs for the initiators."""

from __future__ import annotations

import json
import subprocess
import time
from typing import Any

import httpx
import pytest

from tests.conftest import require_tool

API_VERSION = "volume 3.71"


def identity_token(cluster, cloud: str) -> tuple[str, str]:
    """(token, project_id) for a clouds.yaml cloud (``stackstore-admin`` or ``stackstore``)."""
    auth = json.loads((cluster.data_dir / "clouds.yaml").read_text())["clouds"][cloud]["auth"]
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": auth["username"], "domain": {"name": "Default"}, "password": auth["password"]}}},
        "scope": {"project": {"name": auth["project_name"], "domain": {"name": "Default"}}}}}
    resp = httpx.post(f"http://127.0.0.1:{cluster.conf['identity']['port']}/v3/auth/tokens", json=body)
    resp.raise_for_status()
    return resp.headers["X-Subject-Token"], resp.json()["token"]["project"]["id"]


class VolumesClient:
    """httpx against ``/v3/<project>`` with a token and the advertised microversion."""

    def __init__(self, cluster, cloud: str):
        self.token, self.project_id = identity_token(cluster, cloud)
        self.root = f"http://127.0.0.1:{cluster.conf['volumes']['port']}"
        self.http = httpx.Client(base_url=f"{self.root}/v3/{self.project_id}", timeout=60,
                                 headers={"X-Auth-Token": self.token, "OpenStack-API-Version": API_VERSION})

    def __getattr__(self, name: str) -> Any:
        return getattr(self.http, name)

    def wait(self, kind: str, ident: str, *statuses: str, timeout: float = 60) -> dict:
        """Poll ``/<kind>s/<id>`` until its status is one of ``statuses`` (``"gone"``: 404)."""
        deadline = time.monotonic() + timeout
        while True:
            resp = self.http.get(f"/{kind}s/{ident}")
            if resp.status_code == 404 and "gone" in statuses:
                return {}
            resp.raise_for_status()
            obj = resp.json()[kind]
            if obj["status"] in statuses:
                return obj
            assert time.monotonic() < deadline, f"{kind} {ident} stuck in {obj['status']}"
            time.sleep(0.1)

    def create_volume(self, size: int = 1, wait: bool = True, **fields: Any) -> dict:
        body = {"size": size, "name": fields.pop("name", None), **fields}
        resp = self.http.post("/volumes", json={"volume": body})
        assert resp.status_code == 202, resp.text
        vol = resp.json()["volume"]
        return self.wait("volume", vol["id"], "available", "error") if wait else vol

    def delete_volume(self, ident: str) -> None:
        resp = self.http.delete(f"/volumes/{ident}")
        assert resp.status_code == 202, resp.text
        self.wait("volume", ident, "gone")


@pytest.fixture(scope="module")
def admin(cluster) -> VolumesClient:
    return VolumesClient(cluster, "stackstore-admin")


@pytest.fixture(scope="module")
def demo(cluster) -> VolumesClient:
    return VolumesClient(cluster, "stackstore")


CONNECTOR = {"initiator": "iqn.1993-08.org.debian:01:stackstore-test", "ip": "127.0.0.1", "host": "testhost",
             "platform": "x86_64", "os_type": "linux", "multipath": False, "enforce_multipath": False,
             "do_local_attach": False, "mountpoint": "/dev/vdb", "mode": "rw"}


def iscsi_url(info: dict, user: str | None = None, password: str | None = None, chap: bool = True) -> str:
    """libiscsi URL of the LUN in a (flat or nested) connection_info."""
    data = info.get("data", info)
    cred = ""
    if chap:
        cred = f"{user or data['auth_username']}%{password or data['auth_password']}@"
    return f"iscsi://{cred}{data['target_portal']}/{data['target_iqn']}/{data['target_lun']}"


def qemu_io(url: str, command: str, check: bool = True) -> subprocess.CompletedProcess:
    exe = require_tool("qemu-io")
    proc = subprocess.run([exe, "-f", "raw", "-c", command, url], capture_output=True, text=True, timeout=60)
    if check:
        assert proc.returncode == 0 and "Pattern verification failed" not in proc.stdout, proc.stdout + proc.stderr
    return proc


def read_capacity(url: str) -> int:
    exe = require_tool("iscsi-readcapacity16")
    proc = subprocess.run([exe, url], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return int(proc.stdout.split("Total size:")[1].split()[0])


@pytest.fixture(scope="module")
def osc(cluster):
    """``openstack --os-cloud stackstore …`` with the cluster's clouds.yaml; ``-f json`` output parsed."""
    import os

    exe = require_tool("openstack")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "STACKSTORE_"))}
    env["OS_CLIENT_CONFIG_FILE"] = str(cluster.data_dir / "clouds.yaml")

    def run(*args: str, cloud: str = "stackstore", check: bool = True) -> Any:
        proc = subprocess.run([exe, "--os-cloud", cloud, *args], capture_output=True, text=True, env=env,
                              timeout=180)
        if not check:
            return proc
        assert proc.returncode == 0, f"openstack {' '.join(args)}: {proc.stderr[-2000:]}"
        return json.loads(proc.stdout) if "json" in args and proc.stdout.strip() else proc.stdout

    run.client = None  # type: ignore[attr-defined]
    return run
