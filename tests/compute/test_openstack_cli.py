"""The real ``openstack`` CLI against the cluster: flavors, images, servers, volume attach/detach.

Every CLI start costs seconds, so polling and side checks go through the APIs with httpx.
"""

from __future__ import annotations

import hashlib
import os

import httpx
import pytest

from tests.compute.cloud import cloud_token, openstack, openstack_json, url, wait_for
from tests.conftest import require_tool

CLOUD = "stackstore"  # the demo user: a plain project member


@pytest.fixture(autouse=True)
def _tools():
    for tool in ("openstack", "tgtd", "iscsi-readcapacity16", "qemu-io"):
        require_tool(tool)


@pytest.fixture(scope="module")
def api(cluster):
    """(nova, cinder) httpx clients for the demo user."""
    token = cloud_token(cluster, CLOUD)
    info = httpx.get(f"{url(cluster, 'identity')}/v3/auth/tokens",
                     headers={"X-Auth-Token": token, "X-Subject-Token": token}).json()["token"]
    nova = httpx.Client(base_url=url(cluster, "compute") + "/v2.1", timeout=60,
                        headers={"X-Auth-Token": token, "OpenStack-API-Version": "compute 2.89"})
    cinder = httpx.Client(base_url=f"{url(cluster, 'volumes')}/v3/{info['project']['id']}", timeout=60,
                          headers={"X-Auth-Token": token, "OpenStack-API-Version": "volume 3.44"})
    with nova, cinder:
        yield nova, cinder


def _os(cluster, *args: str):
    return openstack_json(cluster, *args, cloud=CLOUD)


def _run(cluster, *args: str, check: bool = True):
    return openstack(cluster, *args, cloud=CLOUD, check=check)


def _status(nova: httpx.Client, server_id: str) -> str:
    return nova.get(f"/servers/{server_id}").json()["server"]["status"]


def _volume(cinder: httpx.Client, volume_id: str) -> dict:
    return cinder.get(f"/volumes/{volume_id}").json()["volume"]


def test_cli_end_to_end(cluster, api, tmp_path):
    nova, cinder = api
    assert {"m1.tiny", "m1.small"} <= {f["Name"] for f in _os(cluster, "flavor", "list")}

    # images: create from a file, list, show, save (byte-identical)
    data = os.urandom(1024 * 1024 + 5)
    disk = tmp_path / "disk.img"
    disk.write_bytes(data)
    img = _os(cluster, "image", "create", "--file", str(disk), "--disk-format", "raw", "cirros")
    assert img["status"] == "active" and img["checksum"] == hashlib.md5(data).hexdigest()
    assert "cirros" in [i["Name"] for i in _os(cluster, "image", "list")]
    shown = _os(cluster, "image", "show", "cirros")
    assert shown["size"] == len(data) and shown["disk_format"] == "raw" and shown["container_format"] == "bare"
    out = tmp_path / "out.img"
    _run(cluster, "image", "save", "--file", str(out), "cirros")
    assert out.read_bytes() == data

    # servers: create from the image by name, list, stop/start/reboot
    srv = _os(cluster, "server", "create", "--image", "cirros", "--flavor", "m1.tiny", "--wait", "vm-cli")
    assert srv["status"] == "ACTIVE"
    listed = {s["Name"]: s for s in _os(cluster, "server", "list")}
    assert (listed["vm-cli"]["Status"], listed["vm-cli"]["Image"], listed["vm-cli"]["Flavor"]) == \
        ("ACTIVE", "cirros", "m1.tiny")
    _run(cluster, "server", "stop", "vm-cli")
    wait_for(lambda: _status(nova, srv["id"]) == "SHUTOFF")
    _run(cluster, "server", "start", "vm-cli")
    wait_for(lambda: _status(nova, srv["id"]) == "ACTIVE")
    _run(cluster, "server", "reboot", "vm-cli")
    wait_for(lambda: _status(nova, srv["id"]) == "ACTIVE")

    # a real volume, attached over iSCSI: visible on both sides
    vol = _os(cluster, "volume", "create", "--size", "1", "vol-cli")
    wait_for(lambda: _volume(cinder, vol["id"])["status"] == "available")
    att = _os(cluster, "server", "add", "volume", "vm-cli", "vol-cli")
    assert att["Device"] == "/dev/vdb" and att["Volume ID"] == vol["id"] and att["Server ID"] == srv["id"]
    shown = _os(cluster, "volume", "show", "vol-cli")
    assert shown["status"] == "in-use" and [a["server_id"] for a in shown["attachments"]] == [srv["id"]]
    server_side = _os(cluster, "server", "show", "vm-cli")
    assert server_side["status"] == "ACTIVE" and vol["id"] in str(server_side["volumes_attached"])
    nova_side = nova.get(f"/servers/{srv['id']}/os-volume_attachments").json()["volumeAttachments"]
    assert [a["attachment_id"] for a in nova_side] == [shown["attachments"][0]["attachment_id"]]

    # attaching the in-use volume to another server fails and leaves nothing half-attached
    other = nova.post("/servers", json={"server": {"name": "vm-cli2", "flavorRef": "1", "imageRef": img["id"],
                                                   "networks": "none"}}).json()["server"]["id"]
    wait_for(lambda: _status(nova, other) == "ACTIVE")
    assert _run(cluster, "server", "add", "volume", "vm-cli2", "vol-cli", check=False).returncode != 0
    assert nova.get(f"/servers/{other}/os-volume_attachments").json()["volumeAttachments"] == []
    again = _volume(cinder, vol["id"])
    assert again["status"] == "in-use" and [a["server_id"] for a in again["attachments"]] == [srv["id"]]

    # detach: available again on both sides
    _run(cluster, "server", "remove", "volume", "vm-cli", "vol-cli")
    shown = _os(cluster, "volume", "show", "vol-cli")
    assert shown["status"] == "available" and shown["attachments"] == []
    assert nova.get(f"/servers/{srv['id']}/os-volume_attachments").json()["volumeAttachments"] == []

    # deleting a server detaches what is still attached
    assert nova.post(f"/servers/{other}/os-volume_attachments",
                     json={"volumeAttachment": {"volumeId": vol["id"]}}).status_code == 200
    _run(cluster, "server", "delete", "--wait", "vm-cli", "vm-cli2")
    assert nova.get(f"/servers/{srv['id']}").status_code == 404 and nova.get(f"/servers/{other}").status_code == 404
    assert _volume(cinder, vol["id"])["status"] == "available"
    assert cinder.delete(f"/volumes/{vol['id']}").status_code == 202
    _run(cluster, "image", "delete", "cirros")
    assert _run(cluster, "image", "show", "cirros", check=False).returncode != 0
