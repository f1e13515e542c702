"""The real ``openstack`` CLI against the volumes service (identity tokens, catalog, microversion 3.71)."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.volumes.conftest import CONNECTOR, iscsi_url, qemu_io


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


def _server(cluster, token: str) -> str:
    """An ACTIVE server of the demo project, booted from a tiny image (through the Glance and Nova APIs)."""
    headers = {"X-Auth-Token": token}
    with httpx.Client(base_url=f"http://127.0.0.1:{cluster.conf['images']['port']}", headers=headers,
                      timeout=60) as glance:
        image = glance.post("/v2/images", json={"name": "att-img", "disk_format": "raw",
                                                "container_format": "bare"}).json()
        assert glance.put(f"/v2/images/{image['id']}/file", content=b"\0" * 4096,
                          headers={"Content-Type": "application/octet-stream"}).status_code == 204
    with httpx.Client(base_url=f"http://127.0.0.1:{cluster.conf['compute']['port']}/v2.1", headers=headers,
                      timeout=60) as nova:
        flavor = nova.get("/flavors").json()["flavors"][0]["id"]
        server = nova.post("/servers", json={"server": {"name": "att-vm", "imageRef": image["id"],
                                                        "flavorRef": flavor}}).json()["server"]
        deadline = time.monotonic() + 60
        while nova.get(f"/servers/{server['id']}").json()["server"]["status"] != "ACTIVE":
            assert time.monotonic() < deadline, "server never became ACTIVE"
            time.sleep(0.1)
    return server["id"]


def test_attachment_commands(osc, cluster, demo):
    """``volume attachment create/set/complete/delete`` with a connector, the LUN proven with qemu-io."""
    server_id = _server(cluster, demo.token)
    vol = demo.create_volume(1, name="cli-att")
    connector = ["--initiator", CONNECTOR["initiator"], "--ip", "127.0.0.1", "--host", "clihost",
                 "--platform", "x86_64", "--os-type", "linux", "--mountpoint", "/dev/vdb"]
    att = osc("volume", "attachment", "create", "--connect", *connector, "cli-att", server_id, "-f", "json")
    assert (att["Volume ID"], att["Instance ID"], att["Status"]) == (vol["id"], server_id, "attaching")
    info = att["Properties"]  # an attachment's connection_info is flat: the driver's data beside the type
    assert info["driver_volume_type"] == "iscsi" and info["auth_method"] == "CHAP"
    assert info["target_iqn"] == f"iqn.2010-10.org.openstack:volume-{vol['id']}"
    assert info["attachment_id"] == att["ID"] and info["target_lun"] == 1
    url = iscsi_url(info)
    qemu_io(url, "write -P 0x5a 0 1M")
    qemu_io(url, "read -P 0x5a 0 1M")

    # a new connector (e.g. the host's initiator changed): same LUN, same data
    updated = osc("volume", "attachment", "set", "--initiator", "iqn.1993-08.org.debian:01:cli-other",
                  "--ip", "127.0.0.1", "--host", "clihost", "--platform", "x86_64", "--os-type", "linux",
                  "--mountpoint", "/dev/vdb", att["ID"], "-f", "json")
    assert updated["Properties"]["target_iqn"] == info["target_iqn"]
    qemu_io(iscsi_url(updated["Properties"]), "read -P 0x5a 0 1M")

    osc("volume", "attachment", "complete", att["ID"])
    shown = demo.wait("volume", vol["id"], "in-use")
    assert [a["server_id"] for a in shown["attachments"]] == [server_id]
    listed = osc("volume", "attachment", "list", "-f", "json")
    assert [(a["ID"], a["Status"]) for a in listed if a["Volume ID"] == vol["id"]] == [(att["ID"], "attached")]
    assert demo.delete(f"/volumes/{vol['id']}").status_code == 400  # attached volumes are not deleted

    osc("volume", "attachment", "delete", att["ID"])
    demo.wait("volume", vol["id"], "available")
    assert qemu_io(url, "read -P 0x5a 0 1M", check=False).returncode != 0  # the target is gone
    assert osc("volume", "attachment", "show", att["ID"], check=False).returncode != 0
    demo.delete_volume(vol["id"])
