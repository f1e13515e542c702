"""Volumes, compute and images on a real PostgreSQL: one cloud, every service on its own database.

The flows go through the real HTTP APIs; each test then reads the rows back from PostgreSQL, so nothing
here can pass on a SQLite file by accident.
"""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from compute_shim.db import open_db as open_compute_db
from images.db import open_db as open_images_db
from tests.cluster import Cluster
from tests.compute.cloud import cloud_token, url, wait_for
from tests.conftest import require_tool
from tests.volumes.conftest import CONNECTOR, VolumesClient, iscsi_url, qemu_io
from volumes.db import Database

SERVICES = ("identity", "volumes", "compute", "images")
OCTETS = {"Content-Type": "application/octet-stream"}


@pytest.fixture(scope="module")
def pg_cloud(postgres, tmp_path_factory) -> Iterator[Cluster]:
    """A cloud whose identity, volumes, compute and images services each use a fresh PostgreSQL database."""
    databases = {name: {"database_url": postgres.new_database(name)} for name in SERVICES}
    cloud = Cluster(tmp_path_factory.mktemp("pgcloud"), nodes=3, **databases).start()
    yield cloud
    cloud.stop()


@pytest.fixture(scope="module")
def databases(pg_cloud) -> Iterator[dict[str, Engine]]:
    """An engine on each service's PostgreSQL database, to read back what the APIs wrote."""
    engines = {name: create_engine(pg_cloud.conf[name]["database_url"].replace("postgresql://",
                                                                               "postgresql+psycopg://"))
               for name in SERVICES}
    yield engines
    for engine in engines.values():
        engine.dispose()


def rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params))


@pytest.fixture(scope="module")
def demo(pg_cloud) -> Iterator[VolumesClient]:
    client = VolumesClient(pg_cloud, "stackstore")
    yield client
    client.http.close()


@pytest.fixture(scope="module")
def admin(pg_cloud) -> Iterator[VolumesClient]:
    client = VolumesClient(pg_cloud, "stackstore-admin")
    yield client
    client.http.close()


@pytest.fixture(scope="module")
def glance(pg_cloud) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url(pg_cloud, "images"), timeout=60,
                      headers={"X-Auth-Token": cloud_token(pg_cloud, "stackstore-admin")}) as client:
        yield client


@pytest.fixture(scope="module")
def nova(pg_cloud) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url(pg_cloud, "compute") + "/v2.1", timeout=120,
                      headers={"X-Auth-Token": cloud_token(pg_cloud, "stackstore-admin"),
                               "OpenStack-API-Version": "compute 2.89"}) as client:
        yield client


def test_no_sqlite_files(pg_cloud, databases):
    for name in SERVICES:
        assert not (pg_cloud.data_dir / f"{name}.sqlite").exists(), name
        assert rows(databases[name], "select current_database()")[0][0].startswith(f"{name}_")


def test_volume_lifecycle_filters_and_paging(demo, databases):
    made = [demo.create_volume(1, name=f"pg-page{i}", wait=False, metadata={"tier": "gold", "n": str(i)})
            for i in range(3)]
    for vol in made:
        assert demo.wait("volume", vol["id"], "available")["bootable"] == "false"
    first = demo.get("/volumes", params={"limit": 2, "sort": "name:asc", "name~": "pg-page"}).json()
    assert [v["name"] for v in first["volumes"]] == ["pg-page0", "pg-page1"]
    rest = demo.get("/volumes", params={"limit": 2, "sort": "name:asc", "name~": "pg-page",
                                        "marker": first["volumes"][-1]["id"]}).json()
    assert [v["name"] for v in rest["volumes"]] == ["pg-page2"]
    counted = demo.get("/volumes/detail", params={"with_count": "true", "name~": "pg-page",
                                                  "status": "available", "bootable": "false"}).json()
    assert counted["count"] == 3
    by_meta = demo.get("/volumes/detail", params={"metadata": '{"n": "1"}'}).json()["volumes"]
    assert [v["name"] for v in by_meta] == ["pg-page1"]
    assert demo.get("/volumes", params={"marker": "nope"}).status_code == 400
    # the same answers as on SQLite: name~ ignores case and takes % literally, unnamed volumes sort first
    assert len(demo.get("/volumes", params={"name~": "PG-PAGE"}).json()["volumes"]) == 3
    assert demo.get("/volumes", params={"name~": "pg%page"}).json()["volumes"] == []
    unnamed = demo.create_volume(1)
    by_name = demo.get("/volumes", params={"sort": "name:asc"}).json()["volumes"]
    assert by_name[0]["id"] == unnamed["id"] and [v["name"] for v in by_name[1:]] == [
        "pg-page0", "pg-page1", "pg-page2"]
    assert demo.get("/volumes", params={"sort": "name:desc"}).json()["volumes"][-1]["id"] == unnamed["id"]
    demo.delete_volume(unnamed["id"])

    vid = made[0]["id"]
    upd = demo.put(f"/volumes/{vid}", json={"volume": {"name": "pg-renamed", "metadata": {"b": "2"}}})
    assert upd.status_code == 200 and upd.json()["volume"]["metadata"] == {"b": "2"}
    assert demo.post(f"/volumes/{vid}/metadata", json={"metadata": {"c": "3"}}).json()["metadata"] == {
        "b": "2", "c": "3"}
    assert demo.post(f"/volumes/{vid}/action", json={"os-extend": {"new_size": 2}}).status_code == 202
    assert demo.wait("volume", vid, "available")["size"] == 2
    shown = demo.get(f"/volumes/{vid}").json()["volume"]
    assert shown["updated_at"] and shown["updated_at"] >= shown["created_at"]

    name, size, meta = rows(databases["volumes"], "select name, size, metadata from volumes where id = :id",
                            id=vid)[0]
    assert (name, size, meta) == ("pg-renamed", 2, {"b": "2", "c": "3"})
    for vol in made:
        demo.delete_volume(vol["id"])
    assert rows(databases["volumes"], "select id from volumes where name like 'pg-%'") == []


def test_snapshot_from_snapshot_and_clone(demo, databases):
    vol = demo.create_volume(1, name="pg-src")
    resp = demo.post("/snapshots", json={"snapshot": {"volume_id": vol["id"], "name": "pg-snap"}})
    assert resp.status_code == 202, resp.text
    sid = resp.json()["snapshot"]["id"]
    assert demo.wait("snapshot", sid, "available")["size"] == 1
    assert demo.delete(f"/volumes/{vol['id']}").status_code == 400  # it has a snapshot
    from_snap = demo.create_volume(2, snapshot_id=sid)
    assert from_snap["status"] == "available" and from_snap["snapshot_id"] == sid
    clone = demo.create_volume(None, source_volid=vol["id"])
    assert clone["status"] == "available" and clone["source_volid"] == vol["id"]
    listed = demo.get("/snapshots/detail", params={"volume_id": vol["id"]}).json()["snapshots"]
    assert [s["id"] for s in listed] == [sid]
    assert rows(databases["volumes"], "select volume_id, status from snapshots where id = :id", id=sid) == [
        (vol["id"], "available")]
    assert demo.delete(f"/snapshots/{sid}").status_code == 202
    demo.wait("snapshot", sid, "gone")
    for v in (vol, from_snap, clone):
        demo.delete_volume(v["id"])


def test_quotas_and_limits(admin, demo, databases):
    assert admin.put(f"/os-quota-sets/{demo.project_id}", json={"quota_set": {"gigabytes": 3}}).status_code == 200
    try:
        vol = demo.create_volume(2, name="pg-quota")
        over = demo.post("/volumes", json={"volume": {"size": 2}})
        assert over.status_code == 413 and "overLimit" in over.json()
        limits = demo.get("/limits").json()["limits"]["absolute"]
        assert limits["maxTotalVolumeGigabytes"] == 3 and limits["totalGigabytesUsed"] >= 2
        usage = demo.get(f"/os-quota-sets/{demo.project_id}", params={"usage": "True"}).json()["quota_set"]
        assert usage["gigabytes"]["limit"] == 3 and usage["gigabytes"]["in_use"] >= 2
        assert rows(databases["volumes"], "select hard_limit from quotas where project_id = :p and "
                    "resource = 'gigabytes'", p=demo.project_id) == [(3,)]
        demo.delete_volume(vol["id"])
    finally:
        admin.put(f"/os-quota-sets/{demo.project_id}", json={"quota_set": {"gigabytes": 1000}})


def test_attachment_with_chap_and_backup_restore(pg_cloud, demo, databases):
    for tool in ("tgtd", "tgtadm", "qemu-io"):
        require_tool(tool)
    vol = demo.create_volume(1, name="pg-attach")
    resp = demo.post("/attachments", json={"attachment": {"volume_uuid": vol["id"], "instance_uuid": None,
                                                          "connector": CONNECTOR, "mode": "rw"}})
    assert resp.status_code == 200, resp.text
    att = resp.json()["attachment"]
    info = att["connection_info"]
    assert info["auth_method"] == "CHAP" and len(info["auth_password"]) == 16
    assert demo.post(f"/attachments/{att['id']}/action", json={"os-complete": None}).status_code == 204
    shown = demo.get(f"/volumes/{vol['id']}").json()["volume"]
    assert shown["status"] == "in-use" and shown["attachments"][0]["attachment_id"] == att["id"]
    assert shown["attachments"][0]["attached_at"]
    qemu_io(iscsi_url(info), "write -P 0x5a 0 1M")
    status, attach_time, connector = rows(
        databases["volumes"], "select attach_status, attach_time, connector from attachments where id = :id",
        id=att["id"])[0]
    assert status == "attached" and attach_time is not None and connector["initiator"] == CONNECTOR["initiator"]
    assert demo.delete(f"/attachments/{att['id']}").status_code == 200
    assert demo.get(f"/volumes/{vol['id']}").json()["volume"]["status"] == "available"

    resp = demo.post("/backups", json={"backup": {"volume_id": vol["id"], "name": "pg-backup"}})
    assert resp.status_code == 202, resp.text
    backup = demo.wait("backup", resp.json()["backup"]["id"], "available", "error", timeout=120)
    assert backup["status"] == "available", backup["fail_reason"]
    restored = demo.post(f"/backups/{backup['id']}/restore", json={"restore": {"name": "pg-restored"}})
    assert restored.status_code == 202, restored.text
    new_id = restored.json()["restore"]["volume_id"]
    demo.wait("volume", new_id, "available", timeout=120)
    demo.wait("backup", backup["id"], "available")
    volumes_dir = pg_cloud.data_dir / "volumes"
    assert digest(volumes_dir / f"volume-{new_id}") == digest(volumes_dir / f"volume-{vol['id']}")
    assert rows(databases["volumes"], "select status, object_count > 0 from backups where id = :id",
                id=backup["id"]) == [("available", True)]
    assert demo.delete(f"/backups/{backup['id']}").status_code == 202
    demo.wait("backup", backup["id"], "gone", timeout=120)
    for ident in (vol["id"], new_id):
        demo.delete_volume(ident)


def digest(path: os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(8 << 20):
            h.update(chunk)
    return h.hexdigest()


def test_interrupted_work_resumed_after_restart(pg_cloud, demo, databases):
    creating, restoring = str(uuid.uuid4()), str(uuid.uuid4())
    vtype = rows(databases["volumes"], "select id from volume_types where name = '__DEFAULT__'")[0][0]
    pg_cloud.cloud.stop_service("volumes")
    with databases["volumes"].begin() as conn:
        for ident, status in ((creating, "creating"), (restoring, "restoring-backup")):
            conn.execute(text(
                "insert into volumes (id, project_id, user_id, name, size, status, attach_status, "
                "availability_zone, volume_type_id, backend, metadata, bootable, readonly, multiattach, "
                "created_at) values (:id, :p, 'u', :name, 1, :status, 'detached', 'nova', :t, 'file', "
                "'{}', false, false, false, now())"),
                {"id": ident, "p": demo.project_id, "name": f"pg-{status}", "status": status, "t": vtype})
    pg_cloud.cloud.start_service("volumes")
    assert demo.wait("volume", creating, "available")["size"] == 1
    assert demo.wait("volume", restoring, "error_restoring")
    for ident in (creating, restoring):
        demo.delete_volume(ident)


def test_images_upload_download_list_delete(glance, databases):
    data = os.urandom(1024 * 1024 + 5)
    resp = glance.post("/v2/images", json={"name": "pg-image", "disk_format": "raw", "container_format": "bare",
                                           "tags": ["pg"], "purpose": "test"})
    assert resp.status_code == 201, resp.text
    img = resp.json()
    assert glance.put(f"/v2/images/{img['id']}/file", content=data, headers=OCTETS).status_code == 204
    shown = glance.get(f"/v2/images/{img['id']}").json()
    assert shown["status"] == "active" and shown["size"] == len(data) and shown["purpose"] == "test"
    assert shown["checksum"] == hashlib.md5(data).hexdigest()
    got = glance.get(f"/v2/images/{img['id']}/file")
    assert got.status_code == 200 and got.content == data
    listed = glance.get("/v2/images", params={"name": "pg-image", "tag": "pg"}).json()["images"]
    assert [i["id"] for i in listed] == [img["id"]]
    assert rows(databases["images"], "select status, size, tags, properties from images where id = :id",
                id=img["id"]) == [("active", len(data), ["pg"], {"purpose": "test"})]
    assert glance.delete(f"/v2/images/{img['id']}").status_code == 204
    assert glance.get(f"/v2/images/{img['id']}").status_code == 404
    assert rows(databases["images"], "select id from images where id = :id", id=img["id"]) == []


@pytest.fixture(scope="module")
def image_id(glance) -> Iterator[str]:
    img = glance.post("/v2/images", json={"name": "pg-boot", "disk_format": "raw", "container_format": "bare",
                                          "visibility": "public"}).json()
    assert glance.put(f"/v2/images/{img['id']}/file", content=b"\0" * 4096, headers=OCTETS).status_code == 204
    yield img["id"]
    glance.delete(f"/v2/images/{img['id']}")


def server_status(nova: httpx.Client, sid: str) -> str:
    return nova.get(f"/servers/{sid}").json()["server"]["status"]


def test_compute_flavors_servers_and_volume_attachment(nova, admin, image_id, databases):
    for tool in ("tgtd", "tgtadm", "iscsi-readcapacity16"):
        require_tool(tool)
    flavors = nova.get("/flavors/detail").json()["flavors"]
    assert {"m1.tiny", "m1.small"} <= {f["name"] for f in flavors}
    assert nova.get("/flavors/1").json()["flavor"]["ram"] == 512
    body = {"server": {"name": "pg-vm", "flavorRef": "1", "imageRef": image_id, "networks": "none"}}
    resp = nova.post("/servers", json=body)
    assert resp.status_code == 202, resp.text
    sid = resp.json()["server"]["id"]
    wait_for(lambda: server_status(nova, sid) == "ACTIVE")
    assert sid in [s["id"] for s in nova.get("/servers", params={"name": "pg-vm"}).json()["servers"]]
    detail = nova.get("/servers/detail", params={"status": "ACTIVE"}).json()["servers"]
    assert sid in [s["id"] for s in detail]
    assert nova.post(f"/servers/{sid}/action", json={"os-stop": None}).status_code == 202
    wait_for(lambda: server_status(nova, sid) == "SHUTOFF")
    assert nova.post(f"/servers/{sid}/action", json={"os-start": None}).status_code == 202
    wait_for(lambda: server_status(nova, sid) == "ACTIVE")

    vol = admin.create_volume(1, name="pg-nova-vol")
    resp = nova.post(f"/servers/{sid}/os-volume_attachments", json={"volumeAttachment": {"volumeId": vol["id"]}})
    assert resp.status_code == 200, resp.text
    att = resp.json()["volumeAttachment"]
    assert admin.get(f"/volumes/{vol['id']}").json()["volume"]["status"] == "in-use"
    assert [a["volumeId"] for a in nova.get(f"/servers/{sid}/os-volume_attachments").json()[
        "volumeAttachments"]] == [vol["id"]]
    status, capacity = rows(databases["compute"], "select status, capacity from volume_attachments "
                            "where id = :id", id=att["bdm_uuid"])[0]
    assert status == "attached" and capacity == 1024**3
    assert nova.delete(f"/servers/{sid}/os-volume_attachments/{vol['id']}").status_code == 202
    assert admin.get(f"/volumes/{vol['id']}").json()["volume"]["status"] == "available"
    assert nova.get(f"/servers/{sid}/os-volume_attachments").json()["volumeAttachments"] == []

    assert rows(databases["compute"], "select vm_state, deleted from servers where id = :id", id=sid) == [
        ("active", False)]
    assert nova.delete(f"/servers/{sid}").status_code == 204
    wait_for(lambda: nova.get(f"/servers/{sid}").status_code == 404)
    assert rows(databases["compute"], "select deleted, terminated_at is not null from servers where id = :id",
                id=sid) == [(True, True)]
    admin.delete_volume(vol["id"])


def test_values_postgresql_refuses_are_400(demo, admin, glance, nova, image_id):
    """PostgreSQL refuses NUL bytes, over-long strings and int4 overflows that SQLite stores: 400, never 500."""
    nul = "nul\x00byte"
    answers = {
        "volume name": demo.post("/volumes", json={"volume": {"size": 1, "name": nul}}),
        "volume filter": demo.get("/volumes/detail", params={"status": nul}),
        "volume id": demo.get("/volumes/nul%00id"),
        "quota project": admin.put("/os-quota-sets/" + "p" * 65, json={"quota_set": {"volumes": 5}}),
        "quota limit": admin.put(f"/os-quota-sets/{demo.project_id}", json={"quota_set": {"volumes": 2**31}}),
        "image name": glance.post("/v2/images", json={"name": nul}),
        "image filter": glance.get("/v2/images", params={"owner": nul}),
        "image id": glance.get("/v2/images/nul%00id"),
        "server name": nova.post("/servers", json={"server": {"name": nul, "flavorRef": "1", "imageRef": image_id,
                                                              "networks": "none"}}),
        "server id": nova.get("/servers/nul%00id"),
        "flavor name": nova.post("/flavors", json={"flavor": {"name": nul, "ram": 1, "vcpus": 1, "disk": 1}}),
    }
    assert {what: resp.status_code for what, resp in answers.items()} == dict.fromkeys(answers, 400)
    assert "NUL" in answers["volume name"].json()["badRequest"]["message"]
    assert "NUL" in answers["server id"].json()["badRequest"]["message"]
    assert "NUL" in answers["image name"].json()["message"]
    assert "at most 2147483647" in answers["quota limit"].json()["badRequest"]["message"]


def test_services_survive_a_database_restart(postgres, demo, glance, nova):
    """Pooled connections die with the server; the first request afterwards must still succeed."""
    assert demo.get("/volumes").status_code == 200 and glance.get("/v2/images").status_code == 200
    assert nova.get("/servers").status_code == 200
    postgres.restart()
    assert demo.get("/volumes").status_code == 200
    assert glance.get("/v2/images").status_code == 200
    assert nova.get("/servers").status_code == 200


def test_concurrent_detaches_leave_the_volume_available(demo):
    """PostgreSQL runs the last detaches side by side; the volume must not stay in-use without attachments."""
    require_tool("tgtadm")
    vol = demo.create_volume(1, name="pg-multi", multiattach=True)

    def detach(att_id: str) -> int:
        with httpx.Client(base_url=demo.http.base_url, headers=dict(demo.http.headers), timeout=60) as client:
            return client.delete(f"/attachments/{att_id}").status_code

    for _ in range(5):
        ids = []
        for host in ("h1", "h2", "h3"):
            resp = demo.post("/attachments", json={"attachment": {
                "volume_uuid": vol["id"], "connector": {**CONNECTOR, "host": host}, "mode": "rw"}})
            assert resp.status_code == 200, resp.text
            ids.append(resp.json()["attachment"]["id"])
            assert demo.post(f"/attachments/{ids[-1]}/action", json={"os-complete": None}).status_code == 204
        with ThreadPoolExecutor(len(ids)) as pool:
            assert list(pool.map(detach, ids)) == [200] * len(ids)
        shown = demo.get(f"/volumes/{vol['id']}").json()["volume"]
        assert (shown["status"], shown["attachments"]) == ("available", [])
    demo.delete_volume(vol["id"])


def _open_volumes(url: str) -> Engine:
    return Database(url).engine


def _open_compute(url: str) -> Engine:
    return open_compute_db(url).kw["bind"]


def _open_images(url: str) -> Engine:
    return open_images_db(url).kw["bind"]


@pytest.mark.parametrize("service, open_db, seeded", [
    ("volumes", _open_volumes, "select name from volume_types"),
    ("compute", _open_compute, "select id from flavors order by id"),
    ("images", _open_images, "select id from images"),
])
def test_first_start_on_an_empty_database_is_safe_when_concurrent(postgres, service, open_db, seeded):
    """Several processes of one service start at once on a fresh database: all come up, defaults exist once."""
    url = postgres.new_database(f"first_{service}")
    starters = 6
    start = threading.Barrier(starters)

    def first_start(_: int) -> Engine:
        start.wait()
        return open_db(url)

    with ThreadPoolExecutor(starters) as pool:
        engines = list(pool.map(first_start, range(starters)))
    for engine in engines:
        engine.dispose()
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    expected = {"volumes": [("__DEFAULT__",)], "compute": [(str(i),) for i in range(1, 6)], "images": []}
    assert rows(engine, seeded) == expected[service]
    engine.dispose()
