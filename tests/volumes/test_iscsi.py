"""The data path through a real tgtd with real initiators (libiscsi tools and QEMU's iSCSI driver)."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import require_tool
from tests.volumes.conftest import CONNECTOR, iscsi_url, qemu_io, read_capacity

GiB = 1024**3


def attach(client, vol_id: str) -> tuple[str, dict]:
    """New-style attach (3.44): create with connector, complete. Returns (attachment id, connection_info)."""
    resp = client.post("/attachments", json={"attachment": {"volume_uuid": vol_id, "instance_uuid": None,
                                                            "connector": CONNECTOR, "mode": "rw"}})
    assert resp.status_code == 200, resp.text
    att = resp.json()["attachment"]
    assert client.post(f"/attachments/{att['id']}/action", json={"os-complete": None}).status_code == 204
    return att["id"], att["connection_info"]


def detach(client, att_id: str) -> None:
    assert client.delete(f"/attachments/{att_id}").status_code == 200


def test_attachment_flow_and_data_path(cluster, demo):
    vol = demo.create_volume(1, name="iscsi-data")
    created = demo.post("/attachments", json={"attachment": {"volume_uuid": vol["id"],
                                                             "instance_uuid": "7b0f4f36-4c0e-4a7b-8f0b-9a1c2d3e4f50"}})
    assert created.status_code == 200
    att = created.json()["attachment"]
    assert att["status"] == "reserved" and att["connection_info"] == {}
    assert demo.get(f"/volumes/{vol['id']}").json()["volume"]["status"] == "reserved"
    bad = demo.put(f"/attachments/{att['id']}", json={"attachment": {"connector": {"host": "x"}}})
    assert bad.status_code == 400  # the iSCSI target needs the initiator
    upd = demo.put(f"/attachments/{att['id']}", json={"attachment": {"connector": CONNECTOR}})
    assert upd.status_code == 200
    info = upd.json()["attachment"]["connection_info"]
    assert info["driver_volume_type"] == "iscsi" and info["target_lun"] == 1 and info["auth_method"] == "CHAP"
    assert info["target_iqn"] == f"iqn.2010-10.org.openstack:volume-{vol['id']}"
    assert len(info["auth_username"]) == 20 and len(info["auth_password"]) == 16
    assert info["attachment_id"] == att["id"] and info["volume_id"] == vol["id"]
    assert demo.post(f"/attachments/{att['id']}/action", json={"os-complete": None}).status_code == 204
    shown = demo.get(f"/volumes/{vol['id']}").json()["volume"]
    assert shown["status"] == "in-use" and shown["attachments"][0]["attachment_id"] == att["id"]
    assert demo.delete(f"/volumes/{vol['id']}").status_code == 400  # attached

    # the target offers large data segments and unsolicited data (writes need not wait for R2Ts)
    tgtadm = [require_tool("tgtadm"), "-C", str(cluster.conf["volumes"]["tgt_control_port"]), "--lld", "iscsi",
              "--op", "show", "--mode", "target"]
    listing = subprocess.run(tgtadm, capture_output=True, text=True, timeout=30).stdout
    (tid,) = [b.split(":")[0] for b in listing.split("Target ") if f": {info['target_iqn']}\n" in b]
    params = subprocess.run([*tgtadm, "--tid", tid], capture_output=True, text=True, timeout=30).stdout
    for param in ("MaxRecvDataSegmentLength=262144", "InitialR2T=No", "ImmediateData=Yes", "MaxBurstLength=1048576"):
        assert param in params, params

    url = iscsi_url(info)
    inq = subprocess.run([require_tool("iscsi-inq"), url], capture_output=True, text=True, timeout=60)
    assert inq.returncode == 0 and "DIRECT_ACCESS" in inq.stdout
    assert read_capacity(url) == GiB
    qemu_io(url, "write -P 0xa5 1M 2M")
    qemu_io(url, "read -P 0xa5 1M 2M")
    qemu_io(url, "read -P 0 0 1M")
    # CHAP is the gate: no credentials or a wrong secret are refused
    assert qemu_io(iscsi_url(info, chap=False), "read 0 512", check=False).returncode != 0
    assert qemu_io(iscsi_url(info, password="wrongwrongwrong1"), "read 0 512", check=False).returncode != 0
    assert subprocess.run([require_tool("iscsi-inq"), iscsi_url(info, chap=False)], capture_output=True,
                          timeout=60).returncode != 0

    detach(demo, att["id"])
    assert demo.get(f"/volumes/{vol['id']}").json()["volume"]["status"] == "available"
    # the target is gone with the last attachment
    assert qemu_io(url, "read 0 512", check=False).returncode != 0
    demo.delete_volume(vol["id"])


def test_snapshot_clone_and_extend_keep_data(demo):
    vol = demo.create_volume(1, name="pattern-src")
    att_id, info = attach(demo, vol["id"])
    qemu_io(iscsi_url(info), "write -P 0x11 0 1M")
    snap = demo.post("/snapshots", json={"snapshot": {"volume_id": vol["id"], "force": True}})
    assert snap.status_code == 202
    sid = snap.json()["snapshot"]["id"]
    demo.wait("snapshot", sid, "available")
    qemu_io(iscsi_url(info), "write -P 0x22 0 1M")  # after the snapshot
    detach(demo, att_id)
    from_snap = demo.create_volume(1, snapshot_id=sid)
    clone = demo.create_volume(1, source_volid=vol["id"])
    for other, pattern in ((from_snap, "0x11"), (clone, "0x22")):
        other_att, other_info = attach(demo, other["id"])
        qemu_io(iscsi_url(other_info), f"read -P {pattern} 0 1M")
        detach(demo, other_att)
    # extend, then the initiator sees the new capacity
    assert demo.post(f"/volumes/{vol['id']}/action", json={"os-extend": {"new_size": 2}}).status_code == 202
    demo.wait("volume", vol["id"], "available")
    att_id, info = attach(demo, vol["id"])
    assert read_capacity(iscsi_url(info)) == 2 * GiB
    qemu_io(iscsi_url(info), "read -P 0x22 0 1M")
    detach(demo, att_id)
    demo.delete(f"/snapshots/{sid}")
    demo.wait("snapshot", sid, "gone")
    for v in (vol, from_snap, clone):
        demo.delete_volume(v["id"])


def test_legacy_actions(demo):
    vol = demo.create_volume(1, name="legacy")
    act = f"/volumes/{vol['id']}/action"
    assert demo.post(act, json={"os-reserve": {}}).status_code == 202
    assert demo.get(f"/volumes/{vol['id']}").json()["volume"]["status"] == "attaching"
    assert demo.post(act, json={"os-reserve": {}}).status_code == 400  # illegal transition
    init = demo.post(act, json={"os-initialize_connection": {"connector": CONNECTOR}})
    assert init.status_code == 200
    info = init.json()["connection_info"]
    assert info["driver_volume_type"] == "iscsi" and info["data"]["target_lun"] == 1
    assert demo.post(act, json={"os-attach": {"instance_uuid": "8b0f4f36-4c0e-4a7b-8f0b-9a1c2d3e4f51",
                                              "mountpoint": "/dev/vdb", "mode": "rw"}}).status_code == 202
    shown = demo.get(f"/volumes/{vol['id']}").json()["volume"]
    assert shown["status"] == "in-use" and shown["attachments"][0]["device"] == "/dev/vdb"
    qemu_io(iscsi_url(info), "write -P 0x33 0 64k")
    assert demo.post(act, json={"os-begin_detaching": {}}).status_code == 202
    assert demo.post(act, json={"os-roll_detaching": {}}).status_code == 202
    assert demo.post(act, json={"os-begin_detaching": {}}).status_code == 202
    assert demo.post(act, json={"os-terminate_connection": {"connector": CONNECTOR}}).status_code == 202
    assert qemu_io(iscsi_url(info), "read 0 512", check=False).returncode != 0
    assert demo.post(act, json={"os-detach": {}}).status_code == 202
    assert demo.get(f"/volumes/{vol['id']}").json()["volume"]["status"] == "available"
    assert demo.post(act, json={"os-reserve": {}}).status_code == 202
    assert demo.post(act, json={"os-unreserve": {}}).status_code == 202
    assert demo.get(f"/volumes/{vol['id']}").json()["volume"]["status"] == "available"
    demo.delete_volume(vol["id"])


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGKILL"])
def test_targets_restored_after_restart(cluster, demo, signal_name):
    import signal

    vol = demo.create_volume(1, name=f"restart-{signal_name}")
    att_id, info = attach(demo, vol["id"])
    qemu_io(iscsi_url(info), "write -P 0x44 0 64k")
    cluster.cloud.stop_service("volumes", getattr(signal, signal_name))
    cluster.cloud.start_service("volumes")
    qemu_io(iscsi_url(info), "read -P 0x44 0 64k")  # same target, same CHAP secret
    detach(demo, att_id)
    demo.delete_volume(vol["id"])
