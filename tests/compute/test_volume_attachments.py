"""Real volume attachments: Cinder attachments flow, iSCSI login with CHAP, rollback, detach on delete."""

from __future__ import annotations

import httpx
import pytest

from tests.compute.cloud import cloud_token, url, wait_for
from tests.conftest import require_tool


@pytest.fixture(scope="module")
def cinder(cluster):
    token = cloud_token(cluster, "stackstore-admin")
    project = httpx.get(f"{url(cluster, 'identity')}/v3/auth/tokens",
                        headers={"X-Auth-Token": token, "X-Subject-Token": token}).json()["token"]["project"]["id"]
    with httpx.Client(base_url=f"{url(cluster, 'volumes')}/v3/{project}", timeout=120,
                      headers={"X-Auth-Token": token, "OpenStack-API-Version": "volume 3.44"}) as client:
        yield client


@pytest.fixture(autouse=True)
def _tools():
    for tool in ("tgtd", "tgtadm", "iscsi-readcapacity16", "qemu-io"):
        require_tool(tool)


def _volume(cinder: httpx.Client, name: str) -> str:
    resp = cinder.post("/volumes", json={"volume": {"size": 1, "name": name}})
    assert resp.status_code == 202, resp.text
    vid = resp.json()["volume"]["id"]
    wait_for(lambda: _vstatus(cinder, vid) == "available")
    return vid


def _vstatus(cinder: httpx.Client, vid: str) -> str:
    return cinder.get(f"/volumes/{vid}").json()["volume"]["status"]


def _active_server(nova: httpx.Client, image_id: str, name: str) -> str:
    body = {"server": {"name": name, "flavorRef": "1", "imageRef": image_id, "networks": "none"}}
    sid = nova.post("/servers", json=body).json()["server"]["id"]
    wait_for(lambda: nova.get(f"/servers/{sid}").json()["server"]["status"] == "ACTIVE")
    return sid


def test_attach_detach_visible_on_both_sides(nova, cinder, image_id):
    sid = _active_server(nova, image_id, "attach-vm")
    vid = _volume(cinder, "attach-vol")
    resp = nova.post(f"/servers/{sid}/os-volume_attachments", json={"volumeAttachment": {"volumeId": vid}})
    assert resp.status_code == 200, resp.text
    att = resp.json()["volumeAttachment"]
    assert att["volumeId"] == vid and att["serverId"] == sid and att["device"] == "/dev/vdb"
    assert att["attachment_id"] and att["bdm_uuid"] and "id" not in att
    vol = cinder.get(f"/volumes/{vid}").json()["volume"]
    assert vol["status"] == "in-use"
    assert [(a["server_id"], a["attachment_id"]) for a in vol["attachments"]] == [(sid, att["attachment_id"])]
    cinder_att = cinder.get(f"/attachments/{att['attachment_id']}").json()["attachment"]
    assert cinder_att["status"] == "attached" and cinder_att["instance"] == sid
    listed = nova.get(f"/servers/{sid}/os-volume_attachments").json()["volumeAttachments"]
    assert [a["volumeId"] for a in listed] == [vid]
    old = nova.get(f"/servers/{sid}/os-volume_attachments/{vid}",
                   headers={"OpenStack-API-Version": "compute 2.60"}).json()["volumeAttachment"]
    assert old["id"] == vid and "attachment_id" not in old
    srv = nova.get(f"/servers/{sid}").json()["server"]
    assert srv["os-extended-volumes:volumes_attached"] == [{"id": vid, "delete_on_termination": False}]
    # attaching it again (here or elsewhere) fails and changes nothing
    again = nova.post(f"/servers/{sid}/os-volume_attachments", json={"volumeAttachment": {"volumeId": vid}})
    assert again.status_code == 400
    assert nova.delete(f"/servers/{sid}/os-volume_attachments/{vid}").status_code == 202
    assert _vstatus(cinder, vid) == "available"
    assert cinder.get(f"/volumes/{vid}").json()["volume"]["attachments"] == []
    assert nova.get(f"/servers/{sid}/os-volume_attachments").json()["volumeAttachments"] == []
    assert nova.delete(f"/servers/{sid}/os-volume_attachments/{vid}").status_code == 404
    nova.delete(f"/servers/{sid}")
    assert cinder.delete(f"/volumes/{vid}").status_code == 202


def test_in_use_volume_is_refused_and_nothing_half_attached(nova, cinder, image_id):
    first = _active_server(nova, image_id, "owner-vm")
    second = _active_server(nova, image_id, "thief-vm")
    vid = _volume(cinder, "busy-vol")
    assert nova.post(f"/servers/{first}/os-volume_attachments",
                     json={"volumeAttachment": {"volumeId": vid}}).status_code == 200
    resp = nova.post(f"/servers/{second}/os-volume_attachments", json={"volumeAttachment": {"volumeId": vid}})
    assert resp.status_code == 400 and "badRequest" in resp.json()
    assert nova.get(f"/servers/{second}/os-volume_attachments").json()["volumeAttachments"] == []
    vol = cinder.get(f"/volumes/{vid}").json()["volume"]
    assert vol["status"] == "in-use" and [a["server_id"] for a in vol["attachments"]] == [first]
    assert len(cinder.get("/attachments", params={"volume_id": vid}).json()["attachments"]) == 1
    missing = nova.post(f"/servers/{second}/os-volume_attachments",
                        json={"volumeAttachment": {"volumeId": "00000000-0000-0000-0000-000000000000"}})
    assert missing.status_code == 404
    # deleting the server detaches its volumes
    assert nova.delete(f"/servers/{first}").status_code == 204
    assert _vstatus(cinder, vid) == "available"
    assert cinder.get("/attachments", params={"volume_id": vid}).json()["attachments"] == []
    nova.delete(f"/servers/{second}")
    cinder.delete(f"/volumes/{vid}")
