"""The manager after a crash: every transient status is resumed or failed, nothing stays stuck."""

from __future__ import annotations

from stackstore.config import load_config
from volumes.models import Backup, Snapshot, Volume, VolumeType
from volumes.service import Services


def services(tmp_path, **volumes) -> Services:
    conf = load_config(environ={})
    conf["cluster"]["data_dir"] = str(tmp_path)
    conf["volumes"].update(auth_strategy="noauth", start_tgtd=False, **volumes)
    return Services.build(conf)


def test_resume_after_crash(tmp_path):
    svc = services(tmp_path)
    backend = svc.manager.backends["file"]
    backend.create("deleting-vol", 1)
    backend.create("extend-vol", 1)
    backend.create("snap-src", 1)
    backend.create("backed-vol", 1)
    with svc.db.session() as s:
        vtype = s.query(VolumeType).first().id
        common = dict(project_id="p", user_id="u", volume_type_id=vtype, backend="file")
        s.add_all([
            Volume(id="creating-vol", size=1, status="creating", **common),
            Volume(id="deleting-vol", size=1, status="deleting", **common),
            Volume(id="extend-vol", size=1, status="extending", target_size=2, previous_status="available",
                   **common),
            Volume(id="snap-src", size=1, status="available", **common),
            Volume(id="backed-vol", size=1, status="backing-up", previous_status="in-use", **common),
            Volume(id="restoring-vol", size=1, status="restoring-backup", **common),
            Snapshot(id="snap-creating", project_id="p", user_id="u", volume_id="snap-src", size=1,
                     status="creating"),
            Backup(id="backup-running", project_id="p", user_id="u", volume_id="backed-vol", size=1,
                   container="volumebackups", status="creating"),
        ])
    svc.start()
    svc.manager.wait_idle()
    with svc.db.session() as s:
        assert s.get(Volume, "creating-vol").status == "available"
        assert s.get(Volume, "deleting-vol") is None
        ext = s.get(Volume, "extend-vol")
        assert (ext.status, ext.size) == ("available", 2)
        assert s.get(Snapshot, "snap-creating").status == "available"
        assert s.get(Backup, "backup-running").status == "error"
        assert s.get(Volume, "backed-vol").status == "in-use"
        assert s.get(Volume, "restoring-vol").status == "error_restoring"  # no backup to resume from
    assert backend.exists("creating-vol") and not backend.exists("deleting-vol")
    assert (tmp_path / "volumes" / "snapshot-snap-creating").exists()
    assert (tmp_path / "volumes" / "volume-extend-vol").stat().st_size == 2 * 1024**3
    svc.stop()


def test_attach_without_tgtd_is_a_clear_error(tmp_path):
    from starlette.testclient import TestClient

    from volumes.api.app import VolumesApp

    svc = services(tmp_path)
    svc.exports.unavailable_reason = "tgtd is not running"
    with TestClient(VolumesApp(None, svc)) as client:
        headers = {"X-Auth-Token": "u:p", "OpenStack-API-Version": "volume 3.71"}
        vol = client.post("/v3/p/volumes", json={"volume": {"size": 1}}, headers=headers).json()["volume"]
        svc.manager.wait_idle()
        resp = client.post("/v3/p/attachments", headers=headers, json={"attachment": {
            "volume_uuid": vol["id"], "connector": {"initiator": "iqn.x"}}})
        assert resp.status_code == 503
        assert "iSCSI target unavailable" in resp.json()["serviceUnavailable"]["message"]
        # the failed attach left the volume usable
        assert client.get(f"/v3/p/volumes/{vol['id']}", headers=headers).json()["volume"]["status"] == "available"
        assert client.get("/v3/volumes", headers=headers).status_code == 200  # 3.67: no project id in URL
