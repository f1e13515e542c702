"""An SLO in a versioned container answers for the version it is, as Swift's object_versioning does:
``X-Object-Version-Id`` on GET/HEAD of the current manifest, its ``?part-number`` reads, and their 416."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from swiftclient import client as swift_client

SEG = 1024 * 1024


def test_current_slo_version_names_its_version_id(swift_conn):
    container = f"slov-{uuid.uuid4().hex[:8]}"
    swift_conn.put_container(container, headers={"X-Versions-Enabled": "true"})
    segs = []
    for letter in "ab":
        etag = swift_conn.put_object(container, f"seg-{letter}", letter.encode() * SEG)
        segs.append({"path": f"/{container}/seg-{letter}", "etag": etag, "size_bytes": SEG})
    out: dict = {}
    swift_conn.put_object(container, "m", json.dumps(segs), query_string="multipart-manifest=put", response_dict=out)
    version_id = out["headers"]["x-object-version-id"]

    headers, body = swift_conn.get_object(container, "m")
    assert body == b"a" * SEG + b"b" * SEG
    assert headers["x-object-version-id"] == version_id
    assert swift_conn.head_object(container, "m")["x-object-version-id"] == version_id
    part = swift_conn.head_object(container, "m", query_string="part-number=2")
    assert part["x-object-version-id"] == version_id and part["x-parts-count"] == "2"
    with pytest.raises(swift_client.ClientException) as err:
        swift_conn.head_object(container, "m", query_string="part-number=3")
    assert err.value.http_status == 416
    assert err.value.http_response_headers["x-object-version-id"] == version_id


def test_copied_manifest_keeps_the_version_id_it_answers(swift_conn, http):
    """COPY / X-Copy-From of a manifest (``multipart-manifest=get``) into a versioned container re-PUTs the
    manifest: it is stored with the version id the copy answers (readable by it, listed as Swift's version link),
    as Swift's test_slo_manifest_version restores a manifest version by COPY."""
    container = f"slov-{uuid.uuid4().hex[:8]}"
    swift_conn.put_container(container, headers={"X-Versions-Enabled": "true"})
    etag = swift_conn.put_object(container, "seg", b"s" * SEG)
    manifest = json.dumps([{"path": f"/{container}/seg", "etag": etag, "size_bytes": SEG}])
    out: dict = {}
    swift_conn.put_object(container, "m", manifest, query_string="multipart-manifest=put", response_dict=out)
    first = out["headers"]["x-object-version-id"]
    swift_conn.put_object(container, "m2", b"", headers={"X-Copy-From": f"{container}/m"},
                          query_string="multipart-manifest=get", response_dict=(out := {}))
    copied = out["headers"]["x-object-version-id"]
    assert swift_conn.head_object(container, "m2")["x-object-version-id"] == copied
    swift_conn.delete_object(container, "m")
    resp = http.request("COPY", f"{container}/m", params={"multipart-manifest": "get", "version-id": first},
                        headers={"Destination": f"{container}/m"})
    assert resp.status_code == 201
    restored = resp.headers["x-object-version-id"]
    assert restored not in (first, copied)
    headers, body = swift_conn.get_object(container, "m", query_string=f"version-id={restored}")
    assert headers["x-object-version-id"] == restored and body == b"s" * SEG
    rows = {row["name"]: row for row in swift_conn.get_container(container)[1]}
    assert rows["m"]["version_symlink"] is True and rows["m"]["symlink_path"].endswith(f"/m?version-id={restored}")
    assert rows["m2"]["symlink_path"].endswith(f"/m2?version-id={copied}")


def test_manifest_delete_of_a_version_removes_its_segments(swift_conn, http):
    """``DELETE ?version-id=<id>&multipart-manifest=delete`` removes that version's manifest and segments with
    the SLO result body (200), as Swift sends it on to the version's object (test_slo_manifest_version); a
    current version goes the same way and the name stays deleted."""
    container, segments = f"slov-{uuid.uuid4().hex[:8]}", f"segs-{uuid.uuid4().hex[:8]}"
    swift_conn.put_container(container, headers={"X-Versions-Enabled": "true"})
    swift_conn.put_container(segments)
    ids = []
    for letter in "ab":
        etag = swift_conn.put_object(segments, letter, letter.encode() * SEG)
        manifest = json.dumps([{"path": f"/{segments}/{letter}", "etag": etag, "size_bytes": SEG}])
        out: dict = {}
        swift_conn.put_object(container, "m", manifest, query_string="multipart-manifest=put", response_dict=out)
        ids.append(out["headers"]["x-object-version-id"])
    for version_id, letter in ((ids[0], "a"), (ids[1], "b")):
        resp = http.delete(f"{container}/m", params={"multipart-manifest": "delete", "version-id": version_id},
                           headers={"Accept": "application/json"})
        assert resp.status_code == 200, resp.text
        result = resp.json()
        assert (result["Response Status"], result["Number Deleted"], result["Errors"]) == ("200 OK", 2, [])
        assert resp.headers["x-object-version-id"] == version_id
        assert [o["name"] for o in swift_conn.get_container(segments)[1]] == ([] if letter == "b" else ["b"])
        listed = swift_conn.get_container(container, query_string="versions")[1]
        assert version_id not in [row["version_id"] for row in listed]
        if letter == "a":
            assert swift_conn.get_object(container, "m")[1] == b"b" * SEG
    with pytest.raises(swift_client.ClientException) as err:
        swift_conn.head_object(container, "m")
    assert err.value.http_status == 404
    assert swift_conn.get_container(container, query_string="versions")[1] == []


def test_manifest_delete_of_a_plain_version_deletes_nothing(swift_conn, http):
    """``DELETE ?version-id=<id>&multipart-manifest=delete`` of a version that is not an SLO: Swift's SLO
    middleware reads it and refuses in the result body ("Not an SLO manifest"); both versions stay."""
    container = f"slov-{uuid.uuid4().hex[:8]}"
    swift_conn.put_container(container, headers={"X-Versions-Enabled": "true"})
    ids = []
    for body in (b"older", b"newer"):
        out: dict = {}
        swift_conn.put_object(container, "plain", body, response_dict=out)
        ids.append(out["headers"]["x-object-version-id"])
    for version_id in ids:  # archived, then current
        resp = http.delete(f"{container}/plain", params={"multipart-manifest": "delete", "version-id": version_id},
                           headers={"Accept": "application/json"})
        assert resp.status_code == 200, resp.text
        result = resp.json()
        assert result["Response Status"] == "400 Bad Request" and result["Number Deleted"] == 0
        assert result["Errors"] == [[f"/{container}/plain", "Not an SLO manifest"]], result
    for version_id, body in zip(ids, (b"older", b"newer"), strict=True):
        assert swift_conn.get_object(container, "plain", query_string=f"version-id={version_id}")[1] == body
    assert swift_conn.get_object(container, "plain")[1] == b"newer"


def test_concurrent_manifest_puts_and_copies_keep_every_version(cluster, swift_conn):
    """Manifest PUTs (``multipart-manifest=put``, some with ``heartbeat=on``, which answers 202 before it writes)
    and manifest copies (``multipart-manifest=get``) racing onto one versioned name: every acknowledged write is
    a version, readable with its own segments (each replaces only the version it archived, as a plain PUT:
    docs/versioning.md "Concurrent writers")."""
    from collections import Counter
    from concurrent.futures import ThreadPoolExecutor

    container = f"slov-{uuid.uuid4().hex[:8]}"
    swift_conn.put_container(container, headers={"X-Versions-Enabled": "true"})
    segments = {}
    for i in range(12):
        body = f"segment {i:02d} ".encode() * 64
        segments[i] = (body, swift_conn.put_object(container, f"seg-{i:02d}", body))
    swift_conn.put_object(container, "source", json.dumps(
        [{"path": f"/{container}/seg-00", "etag": segments[0][1], "size_bytes": len(segments[0][0])}]),
        query_string="multipart-manifest=put")

    def write(i: int) -> tuple[str | None, bytes]:
        """(the version id the write answered, None for heartbeat=on; the body it wrote)"""
        conn = swift_client.Connection(authurl=f"{cluster.proxy_url}/auth/v1.0", user="test:tester", key="testing",
                                       retries=0)
        out: dict = {}
        try:
            if i % 4 == 0:
                conn.put_object(container, "race", b"", headers={"X-Copy-From": f"/{container}/source"},
                                query_string="multipart-manifest=get", response_dict=out)
                return out["headers"]["x-object-version-id"], segments[0][0]
            body, etag = segments[i]
            manifest = json.dumps([{"path": f"/{container}/seg-{i:02d}", "etag": etag, "size_bytes": len(body)}])
            if i % 4 == 1:  # the answer comes before the write: its outcome is in the result body
                resp = httpx.put(f"{url}/{container}/race", content=manifest, timeout=60,
                                 params={"multipart-manifest": "put", "heartbeat": "on"},
                                 headers={"X-Auth-Token": token, "Accept": "application/json"})
                assert resp.status_code == 202 and "x-object-version-id" not in resp.headers
                assert json.loads(resp.content)["Response Status"] == "201 Created", resp.text
                return None, body
            conn.put_object(container, "race", manifest, query_string="multipart-manifest=put", response_dict=out)
            return out["headers"]["x-object-version-id"], body
        finally:
            conn.close()

    url, token = cluster.auth()
    with ThreadPoolExecutor(6) as pool:
        written = list(pool.map(write, range(12)))
    for version_id, body in written:
        if version_id is not None:
            assert swift_conn.get_object(container, "race", query_string=f"version-id={version_id}")[1] == body
    listed = [row["version_id"] for row in swift_conn.get_container(container, query_string="versions&prefix=race")[1]]
    assert {vid for vid, _ in written if vid} <= set(listed) and len(listed) == len(written), \
        "a write was replaced without being kept"
    bodies = Counter(swift_conn.get_object(container, "race", query_string=f"version-id={vid}")[1] for vid in listed)
    assert bodies == Counter(body for _, body in written)
