"""Backups into the object store: full and incremental, restore to a new or existing volume, delete."""

from __future__ import annotations

import hashlib
import os

from tests.volumes.conftest import iscsi_url, qemu_io
from tests.volumes.test_iscsi import attach, detach


def volume_digest(cluster, vol_id: str) -> str:
    """sha256 of the volume's backing file (file backend)."""
    h = hashlib.sha256()
    with open(cluster.data_dir / "volumes" / f"volume-{vol_id}", "rb") as fh:
        while chunk := fh.read(8 << 20):
            h.update(chunk)
    return h.hexdigest()


def backup(client, vol_id: str, **fields) -> dict:
    resp = client.post("/backups", json={"backup": {"volume_id": vol_id, "container": None, "name": None,
                                                    "description": None, "incremental": False, "force": False,
                                                    **fields}})
    assert resp.status_code == 202, resp.text
    return client.wait("backup", resp.json()["backup"]["id"], "available", "error", timeout=120)


def test_backup_restore_incremental(cluster, demo, tmp_path):
    vol = demo.create_volume(1, name="backed")
    att_id, info = attach(demo, vol["id"])
    qemu_io(iscsi_url(info), "write -P 0x61 0 3M")
    qemu_io(iscsi_url(info), "write -P 0x62 100M 1M")
    noise = tmp_path / "noise"
    noise.write_bytes(os.urandom(8 * 1024 * 1024))
    qemu_io(iscsi_url(info), f"write -s {noise} 200M 8M")  # one whole chunk zlib cannot shrink
    detach(demo, att_id)
    full = backup(demo, vol["id"], name="full")
    assert full["status"] == "available", full["fail_reason"]
    assert full["container"] == "volumebackups" and not full["is_incremental"] and full["size"] == 1
    assert full["object_count"] == 5  # three data chunks + _metadata + _sha256file; zeros are not stored
    digest_full = volume_digest(cluster, vol["id"])

    # the objects are in the project's account, container volumebackups
    account = f"AUTH_{demo.project_id}"
    storage_url = f"{cluster.proxy_url}/v1/{account}"
    import httpx

    listing = httpx.get(f"{storage_url}/volumebackups", params={"format": "json"},
                        headers={"X-Auth-Token": demo.token})
    assert listing.status_code == 200  # the proxy accepts the identity service's tokens
    names = [o["name"] for o in listing.json()]
    (meta_name,) = [n for n in names if n.endswith(f"az_nova_backup_{full['id']}_metadata")]
    meta = httpx.get(f"{storage_url}/volumebackups/{meta_name}", headers={"X-Auth-Token": demo.token}).json()
    stored = [c["compression"] for c in meta["chunks"] if c["object"]]
    assert sorted(stored) == ["none", "zlib", "zlib"]  # the random chunk is kept as it is
    etags = {o["name"]: o["hash"] for o in listing.json()}
    assert [c["md5"] for c in meta["chunks"] if c["object"]] == [
        etags[c["object"]] for c in meta["chunks"] if c["object"]]  # each chunk's md5 is its object's ETag

    att_id, info = attach(demo, vol["id"])
    qemu_io(iscsi_url(info), "write -P 0x63 100M 4k")
    detach(demo, att_id)
    incr = backup(demo, vol["id"], incremental=True)
    assert incr["status"] == "available" and incr["is_incremental"]
    assert incr["object_count"] == 3  # only the changed chunk
    digest_incr = volume_digest(cluster, vol["id"])
    assert demo.get(f"/backups/{full['id']}").json()["backup"]["has_dependent_backups"] is True
    assert demo.delete(f"/backups/{full['id']}").status_code == 400  # it has an incremental child

    # restore the incremental into a new volume: byte-identical
    restored = demo.post(f"/backups/{incr['id']}/restore", json={"restore": {"volume_id": None, "name": "r1"}})
    assert restored.status_code == 202
    new_id = restored.json()["restore"]["volume_id"]
    demo.wait("volume", new_id, "available", timeout=120)
    assert volume_digest(cluster, new_id) == digest_incr
    # restore the full backup over an existing volume: back to the older data
    assert demo.post(f"/backups/{full['id']}/restore", json={"restore": {"volume_id": new_id}}).status_code == 202
    demo.wait("volume", new_id, "available", timeout=120)
    demo.wait("backup", full["id"], "available")
    assert volume_digest(cluster, new_id) == digest_full

    for b in (incr, full):
        assert demo.delete(f"/backups/{b['id']}").status_code == 202
        demo.wait("backup", b["id"], "gone", timeout=120)
    for v in (vol["id"], new_id):
        demo.delete_volume(v)


def test_backup_state_rules(demo):
    vol = demo.create_volume(1)
    assert demo.post("/backups", json={"backup": {"volume_id": vol["id"], "incremental": True}}).status_code == 400
    att_id, _ = attach(demo, vol["id"])
    assert demo.post("/backups", json={"backup": {"volume_id": vol["id"]}}).status_code == 400  # in-use
    forced = backup(demo, vol["id"], force=True)
    assert forced["status"] == "available"
    assert demo.get(f"/volumes/{vol['id']}").json()["volume"]["status"] == "in-use"
    detach(demo, att_id)
    demo.delete(f"/backups/{forced['id']}")
    demo.wait("backup", forced["id"], "gone", timeout=120)
    demo.delete_volume(vol["id"])
