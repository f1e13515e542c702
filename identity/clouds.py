"""``<data_dir>/clouds.yaml`` for the openstack CLI/SDK: clouds ``stackstore-system`` (the operator: admin
user, system scope), ``stackstore-admin`` (admin user, admin project) and ``stackstore`` (demo user).

Written as JSON, which every YAML parser reads; readable by the owner only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path


def cloud(auth_url: str, user: str, password: str, project: str, region: str) -> dict:
    """A project-scoped cloud entry."""
    return {"auth": {"auth_url": auth_url, "username": user, "password": password, "project_name": project,
                     "user_domain_name": "Default", "project_domain_name": "Default"},
            "region_name": region, "identity_api_version": 3, "interface": "public"}


def system_cloud(auth_url: str, user: str, password: str, region: str) -> dict:
    """A system-scoped cloud entry (``system_scope: all``): cloud-wide administration."""
    return {"auth": {"auth_url": auth_url, "username": user, "password": password, "user_domain_name": "Default",
                     "system_scope": "all"},
            "region_name": region, "identity_api_version": 3, "interface": "public"}


def write_clouds_yaml(path: Path, auth_url: str, region: str, passwords: dict[str, str],
                      admin_project: str = "admin") -> None:
    """Add/replace the clouds whose users got a password this start; keep anything else in the file."""
    doc: dict = {"clouds": {}}
    if path.exists():
        try:
            doc = json.loads(path.read_text()) or doc
        except ValueError:
            pass
    clouds = doc.setdefault("clouds", {})
    if "admin" in passwords:
        clouds["stackstore-admin"] = cloud(auth_url, "admin", passwords["admin"], admin_project, region)
        clouds["stackstore-system"] = system_cloud(auth_url, "admin", passwords["admin"], region)
    if "demo" in passwords:
        clouds["stackstore"] = cloud(auth_url, "demo", passwords["demo"], "demo", region)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(json.dumps(doc, indent=2) + "\n")
    os.replace(tmp, path)
