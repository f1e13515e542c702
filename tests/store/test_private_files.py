"""Every file the cloud writes is its owner's only: object data, account and container databases (temp-URL
keys live there), the identity database (password hashes, S3 secrets), logs and secrets. Another local user
must not read them (the services run with umask 077; the data directory is 0700)."""

from __future__ import annotations

import re
import stat
import uuid
from pathlib import Path

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


def test_no_secret_of_the_cloud_appears_in_a_log_or_a_command_line(cluster, account):
    storage_url, token = account
    assert httpx.head(storage_url, headers={"X-Auth-Token": token}).status_code == 204
    # every long token of the secret files (encryption_keys lines are "<id> <hex>") and the bootstrap passwords
    secret_text = "\n".join(p.read_text() for p in (cluster.data_dir / "secrets").iterdir() if p.is_file())
    secret_text += "\n".join(line.split(":", 1)[1] for line in
                             (cluster.data_dir / "clouds.yaml").read_text().splitlines() if '"password"' in line)
    secrets = set(re.findall(r"[A-Za-z0-9_\-]{16,}", secret_text))
    assert len(secrets) >= 4  # node key, token key, service password, encryption key, bootstrap passwords
    logs = {p.name: p.read_text(errors="replace") for p in (cluster.data_dir / "logs").glob("*.log")}
    assert logs
    command_lines = [path.read_bytes().replace(b"\0", b" ").decode(errors="replace")
                     for path in Path("/proc").glob("[0-9]*/cmdline") if _readable(path)]
    for secret in secrets:
        assert not [name for name, text in logs.items() if secret in text], "a secret in a log"
        assert not [line for line in command_lines if secret in line], "a secret on a command line"
    assert token not in "".join(logs.values())


def _readable(path: Path) -> bool:
    try:
        path.read_bytes()
    except OSError:
        return False
    return True
