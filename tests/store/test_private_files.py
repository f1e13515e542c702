"""Every file the cloud writes is its owner's only: object data, account and container databases (temp-URL
keys live there), the identity database (password hashes, S3 secrets), logs and secrets. Another local user
must not read them (the services run with umask 077; the data directory is 0700)."""

from __future__ import annotations

import stat
import uuid

import httpx


def test_data_directory_and_everything_written_below_it_are_owner_only(cluster, account):
    storage_url, token = account
    container = f"private-{uuid.uuid4().hex[:8]}"
    headers = {"X-Auth-Token": token}
    assert httpx.put(f"{storage_url}/{container}", headers=headers).status_code in (201, 202)
    assert httpx.put(f"{storage_url}/{container}/obj", headers=headers, content=b"secret data").status_code == 201
    assert httpx.post(storage_url, headers={**headers, "X-Account-Meta-Temp-URL-Key": "k"}).status_code == 204

    assert stat.S_IMODE(cluster.data_dir.stat().st_mode) == 0o700
    readable_by_others = []
    checked = 0
    for path in cluster.data_dir.rglob("*"):
        if path.is_symlink() or not (path.is_file() or path.is_dir()):
            continue
        checked += 1
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            readable_by_others.append(str(path.relative_to(cluster.data_dir)))
    assert checked > 50  # object files, databases, logs: the walk saw the cloud's data
    assert readable_by_others == [], "\n".join(readable_by_others)
