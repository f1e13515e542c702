"""The real ``openstack`` CLI against the volumes service (identity tokens, catalog, microversion 3.71)."""

from __future__ import annotations

import time

import pytest


def wait(osc, kind: list[str], name: str, *statuses: str, timeout: float = 60) -> dict:
    """Poll with cheap API calls (the CLI costs seconds per call), then show the final state by CLI."""
    client = osc.client
    path = "/snapshots" if kind[-1] == "snapshot" else "/backups" if kind[-1] == "backup" else "/volumes"
    key = path[1:-1]
    deadline = time.monotonic() + timeout
    while True:
        rows = client.get(f"{path}/detail", params={"name": name}).json()[path[1:]]
        if not rows and "gone" in statuses:
            return {}
        if rows and rows[0]["status"] in statuses:
            return osc(*kind, "show", rows[0]["id"], "-f", "json")
        assert time.monotonic() < deadline, f"{key} {name} not {statuses}: {rows}"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def osc(osc, demo):
    osc.client = demo  # the same user and project as the CLI's "stackstore" cloud
    return osc


def test_volume_commands(osc):
    vol = osc("volume", "create", "--size", "1", "--description", "from the CLI", "--property", "k=v",
              "cli-vol", "-f", "json")
    assert vol["name"] == "cli-vol" and vol["size"] == 1
    shown = wait(osc, ["volume"], "cli-vol", "available")
    assert shown["properties"] in ({"k": "v"}, "k='v'")
    assert "cli-vol" in [v["Name"] for v in osc("volume", "list", "-f", "json")]
    osc("volume", "set", "--name", "cli-vol2", "--property", "x=y", "cli-vol")
    osc("volume", "set", "--size", "2", "cli-vol2")
    assert wait(osc, ["volume"], "cli-vol2", "available")["size"] == 2
    osc("volume", "snapshot", "create", "--volume", "cli-vol2", "cli-snap", "-f", "json")
    wait(osc, ["volume", "snapshot"], "cli-snap", "available")
    refused = osc("volume", "delete", "cli-vol2", check=False)
    assert refused.returncode != 0  # snapshots exist
    osc("volume", "create", "--snapshot", "cli-snap", "--size", "2", "cli-from-snap", "-f", "json")
    osc("volume", "create", "--source", "cli-vol2", "--size", "2", "cli-clone", "-f", "json")
    assert wait(osc, ["volume"], "cli-from-snap", "available")["snapshot_id"]
    assert wait(osc, ["volume"], "cli-clone", "available")["source_volid"]
    osc("volume", "snapshot", "delete", "cli-snap")
    wait(osc, ["volume", "snapshot"], "cli-snap", "gone")
    osc("volume", "delete", "cli-vol2", "cli-from-snap", "cli-clone")
    for name in ("cli-vol2", "cli-from-snap", "cli-clone"):
        wait(osc, ["volume"], name, "gone")


def test_backup_commands(osc):
    osc("volume", "create", "--size", "1", "cli-backed", "-f", "json")
    wait(osc, ["volume"], "cli-backed", "available")
    osc("volume", "backup", "create", "--name", "cli-backup", "cli-backed", "-f", "json")
    backup = wait(osc, ["volume", "backup"], "cli-backup", "available", timeout=120)
    assert backup["container"] == "volumebackups"
    osc("volume", "backup", "restore", "--force", "cli-backup", "cli-backed", "-f", "json")
    wait(osc, ["volume"], "cli-backed", "available", timeout=120)
    wait(osc, ["volume", "backup"], "cli-backup", "available")
    osc("volume", "backup", "delete", "cli-backup")
    wait(osc, ["volume", "backup"], "cli-backup", "gone", timeout=120)
    osc("volume", "delete", "cli-backed")
    wait(osc, ["volume"], "cli-backed", "gone")
