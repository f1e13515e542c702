"""Small helpers for identity tests against the running cluster."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from tests.identity.server import get_token


def admin_token(cluster, identity_url: str) -> str:
    import json

    clouds = json.loads((cluster.data_dir / "clouds.yaml").read_text())["clouds"]
    auth = clouds["stackstore-admin"]["auth"]
    return get_token(identity_url, auth["username"], auth["password"], auth["project_name"])[0]


def make_user(identity_url: str, admin: str, name: str, password: str, project_id: str, role: str) -> str:
    """Create a user with ``role`` on ``project_id``; returns the user id."""
    h = {"X-Auth-Token": admin}
    resp = httpx.post(f"{identity_url}/v3/users", headers=h, json={"user": {"name": name, "password": password,
                                                                             "default_project_id": project_id}})
    assert resp.status_code == 201, resp.text
    uid = resp.json()["user"]["id"]
    roles = {r["name"]: r["id"] for r in httpx.get(f"{identity_url}/v3/roles", headers=h).json()["roles"]}
    assert httpx.put(f"{identity_url}/v3/projects/{project_id}/users/{uid}/roles/{roles[role]}",
                     headers=h).status_code == 204
    return uid


def make_project(identity_url: str, admin: str, name: str) -> str:
    resp = httpx.post(f"{identity_url}/v3/projects", headers={"X-Auth-Token": admin},
                      json={"project": {"name": name, "domain_id": "default"}})
    assert resp.status_code == 201, resp.text
    return resp.json()["project"]["id"]


def eventually(check: Callable[[], bool], timeout: float = 15.0, interval: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return check()
