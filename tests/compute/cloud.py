"""Helpers for compute/image tests: identity tokens from the cluster's clouds.yaml, service URLs, the CLI."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx


def clouds(cluster) -> dict[str, Any]:
    """The ``clouds`` of ``<data_dir>/clouds.yaml`` (written by identity on first start, JSON)."""
    path = cluster.data_dir / "clouds.yaml"
    deadline = time.monotonic() + 15
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return json.loads(path.read_text())["clouds"]


def url(cluster, section: str) -> str:
    return f"http://127.0.0.1:{cluster.conf[section]['port']}"


def password_token(cluster, user: str, password: str, project: str) -> str:
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
    resp = httpx.post(f"{url(cluster, 'identity')}/v3/auth/tokens", json=body, timeout=30)
    assert resp.status_code == 201, resp.text
    return resp.headers["X-Subject-Token"]


def cloud_token(cluster, name: str) -> str:
    """A project-scoped token for a cloud of clouds.yaml (``stackstore-admin``, ``stackstore``)."""
    auth = clouds(cluster)[name]["auth"]
    return password_token(cluster, auth["username"], auth["password"], auth["project_name"])


def openstack(cluster, *args: str, cloud: str = "stackstore-admin", check: bool = True,
              input: bytes | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the real ``openstack`` CLI against the cluster (clouds.yaml from its data dir, no stray OS_*)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "ST_"))}
    env.update(OS_CLIENT_CONFIG_FILE=str(cluster.data_dir / "clouds.yaml"), OS_CLOUD=cloud)
    proc = subprocess.run(["openstack", *args], capture_output=True, env=env, input=input, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"openstack {' '.join(args)} failed ({proc.returncode}):\n"
                             f"{proc.stdout.decode()}\n{proc.stderr.decode()}")
    return proc


def openstack_json(cluster, *args: str, **kwargs: Any) -> Any:
    proc = openstack(cluster, *args, "-f", "json", **kwargs)
    return json.loads(proc.stdout)


def wait_for(predicate: Callable[[], Any], timeout: float = 30, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met after {timeout}s")
        time.sleep(interval)


def answers_while_database_locked(cluster, service: str, database: str,
                                  write: Callable[[], httpx.Response]) -> httpx.Response:
    """Send ``write`` while this test holds the write lock of the service's SQLite ``database``, check that
    ``/healthcheck`` still answers at once (the waiting query must not block the event loop), then release
    the lock; ``write``'s response."""
    lock = sqlite3.connect(cluster.data_dir / database, isolation_level=None, timeout=30)
    lock.execute("BEGIN IMMEDIATE")
    pool = ThreadPoolExecutor(1)
    try:
        pending = pool.submit(write)
        time.sleep(1)
        assert not pending.done(), "the write did not wait for the database lock"
        assert httpx.get(f"{url(cluster, service)}/healthcheck", timeout=5).status_code == 200
    finally:
        lock.execute("ROLLBACK")
        lock.close()
        pool.shutdown()
    return pending.result()
