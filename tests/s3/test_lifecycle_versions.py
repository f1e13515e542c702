"""S3 lifecycle over versions, end to end (boto3 against a real cloud whose lifecycle "day" lasts two
seconds): Expiration in versioning-enabled and suspended buckets writes a delete marker,
NoncurrentVersionExpiration (NoncurrentDays, NewerNoncurrentVersions) removes older versions, expired
object delete markers go, filters select versions; the same history seen over Swift."""

from __future__ import annotations

import asyncio
import os
import time
from urllib.parse import unquote, urlsplit

import httpx
import pytest

from stackstore.timestamp import Timestamp
from tests.harness import Cluster
from tests.s3.conftest import error_code, make_client
from tests.s3.test_lifecycle import DAY, _put_rules, _rule, _wait_for

WAIT = 60.0


@pytest.fixture(scope="module")
def client(lifecycle_cluster):
    return make_client(lifecycle_cluster.proxy_url)


def _empty(client, name: str) -> None:
    for page in client.get_paginator("list_object_versions").paginate(Bucket=name):
        entries = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                   for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        if entries:
            client.delete_objects(Bucket=name, Delete={"Objects": entries, "Quiet": True})
    client.delete_bucket(Bucket=name)


def _bucket(client, status: str = "Enabled"):
    name = "lcv-" + os.urandom(6).hex()
    client.create_bucket(Bucket=name)
    client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": status})
    return name


@pytest.fixture
def bucket(client):
    name = _bucket(client)
    yield name
    try:
        _empty(client, name)
    except Exception:  # best effort cleanup
        pass


def _history(client, bucket: str, prefix: str = "") -> dict[str, list[tuple[str, str, bool]]]:
    """key -> [(kind, version id, is latest)], newest first (kind: "v" a version, "dm" a delete marker)."""
    listed = client.list_object_versions(Bucket=bucket, Prefix=prefix)
    rows = [(v["Key"], v["LastModified"], "v", v["VersionId"], v["IsLatest"]) for v in listed.get("Versions", [])]
    rows += [(m["Key"], m["LastModified"], "dm", m["VersionId"], m["IsLatest"])
             for m in listed.get("DeleteMarkers", [])]
    out: dict[str, list[tuple[str, str, bool]]] = {}
    for key, _, kind, vid, latest in rows:
        out.setdefault(key, []).append((kind, vid, latest))
    for entries in out.values():
        entries.sort(key=lambda e: e[1], reverse=True)  # version ids are timestamps: newest first
    return out


def _keys(client, bucket: str) -> set[str]:
    return {o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])}


def test_expiration_in_versioned_bucket_writes_a_delete_marker(client, bucket):
    v1 = client.put_object(Bucket=bucket, Key="exp/a", Body=b"first")["VersionId"]
    v2 = client.put_object(Bucket=bucket, Key="exp/a", Body=b"second")["VersionId"]
    up = client.create_multipart_upload(Bucket=bucket, Key="exp/mp")["UploadId"]
    etag = client.upload_part(Bucket=bucket, Key="exp/mp", UploadId=up, PartNumber=1, Body=b"m" * 100)["ETag"]
    mp = client.complete_multipart_upload(Bucket=bucket, Key="exp/mp", UploadId=up,
                                          MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})["VersionId"]
    client.put_object(Bucket=bucket, Key="keep", Body=b"kept")
    _put_rules(client, bucket, _rule("r", {"Prefix": "exp/"}, Expiration={"Days": 1}))
    assert _wait_for(lambda: _keys(client, bucket) == {"keep"}, WAIT), _keys(client, bucket)
    history = _history(client, bucket)
    a = history["exp/a"]
    assert [(kind, latest) for kind, _, latest in a] == [("dm", True), ("v", False), ("v", False)]
    assert [vid for _, vid, _ in a[1:]] == [v2, v1]
    assert [(kind, latest) for kind, _, latest in history["exp/mp"]] == [("dm", True), ("v", False)]
    # the current versions were kept as they were: data, multipart parts and all
    assert client.get_object(Bucket=bucket, Key="exp/a", VersionId=v2)["Body"].read() == b"second"
    assert client.get_object(Bucket=bucket, Key="exp/mp", VersionId=mp)["Body"].read() == b"m" * 100
    assert error_code(client.get_object, Bucket=bucket, Key="exp/a") == "NoSuchKey"
    time.sleep(3 * DAY)  # no second marker over a marker, noncurrent versions untouched
    assert _history(client, bucket)["exp/a"] == a
    assert [(k, latest) for k, _, latest in _history(client, bucket)["keep"]] == [("v", True)]


def test_expiration_in_suspended_bucket_removes_the_null_version(client):
    name = _bucket(client, "Suspended")
    try:
        client.put_object(Bucket=name, Key="s/null", Body=b"null version")
        _put_rules(client, name, _rule("r", {"Prefix": "s/"}, Expiration={"Days": 1}))
        assert _wait_for(lambda: _keys(client, name) == set(), WAIT)
        history = _history(client, name)["s/null"]
        assert [(kind, latest) for kind, _, latest in history] == [("dm", True)]
    finally:
        _empty(client, name)


def test_expiration_in_suspended_bucket_writes_the_null_marker(client):
    """AWS: in a suspended bucket Expiration writes a ``null`` delete marker, which replaces the ``null``
    version wherever it sits; versions with ids stay."""
    name = "lcv-" + os.urandom(6).hex()
    client.create_bucket(Bucket=name)
    try:
        client.put_object(Bucket=name, Key="s/a", Body=b"null, archived below v1")
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        v1 = client.put_object(Bucket=name, Key="s/a", Body=b"v1")["VersionId"]
        v2 = client.put_object(Bucket=name, Key="s/b", Body=b"v2")["VersionId"]
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Suspended"})
        client.put_object(Bucket=name, Key="s/b", Body=b"null, current")
        assert [v["VersionId"] for v in client.list_object_versions(Bucket=name, Prefix="s/a")["Versions"]] \
            == [v1, "null"]
        _put_rules(client, name, _rule("r", {"Prefix": "s/"}, Expiration={"Days": 1}))
        assert _wait_for(lambda: _keys(client, name) == set(), WAIT)
        listed = client.list_object_versions(Bucket=name)
        assert [(m["Key"], m["VersionId"], m["IsLatest"]) for m in listed["DeleteMarkers"]] \
            == [("s/a", "null", True), ("s/b", "null", True)]
        assert [(v["Key"], v["VersionId"]) for v in listed["Versions"]] == [("s/a", v1), ("s/b", v2)]
        assert client.get_object(Bucket=name, Key="s/a", VersionId=v1)["Body"].read() == b"v1"
    finally:
        _empty(client, name)


def test_noncurrent_days_removes_older_versions(client, bucket):
    for body in (b"1", b"2", b"3"):
        current = client.put_object(Bucket=bucket, Key="nc/a", Body=body)["VersionId"]
    client.put_object(Bucket=bucket, Key="nc/b", Body=b"only")
    client.put_object(Bucket=bucket, Key="other", Body=b"o1")
    client.put_object(Bucket=bucket, Key="other", Body=b"o2")
    _put_rules(client, bucket, _rule("nc", {"Prefix": "nc/"}, NoncurrentVersionExpiration={"NoncurrentDays": 1}))
    assert _wait_for(lambda: _history(client, bucket, "nc/a")["nc/a"] == [("v", current, True)], WAIT)
    assert client.get_object(Bucket=bucket, Key="nc/a")["Body"].read() == b"3"
    assert len(_history(client, bucket)["nc/b"]) == 1
    assert len(_history(client, bucket)["other"]) == 2  # outside the rule's prefix


def test_newer_noncurrent_versions_keeps_the_newest(client, bucket):
    ids = [client.put_object(Bucket=bucket, Key="k", Body=str(i).encode())["VersionId"] for i in range(5)]
    _put_rules(client, bucket, _rule("keep2", {"Prefix": ""}, NoncurrentVersionExpiration={
        "NoncurrentDays": 1, "NewerNoncurrentVersions": 2}))
    expected = [("v", ids[4], True), ("v", ids[3], False), ("v", ids[2], False)]
    assert _wait_for(lambda: _history(client, bucket)["k"] == expected, WAIT), _history(client, bucket)
    time.sleep(3 * DAY)
    assert _history(client, bucket)["k"] == expected


def test_expired_object_delete_marker_is_removed(client, bucket):
    v1 = client.put_object(Bucket=bucket, Key="alone", Body=b"x")["VersionId"]
    client.delete_object(Bucket=bucket, Key="alone")
    client.delete_object(Bucket=bucket, Key="alone", VersionId=v1)  # only the marker is left
    client.put_object(Bucket=bucket, Key="kept", Body=b"y")
    client.delete_object(Bucket=bucket, Key="kept")  # a marker over a version: not expired
    assert [k for k, _, _ in _history(client, bucket)["alone"]] == ["dm"]
    _put_rules(client, bucket, _rule("dm", {"Prefix": ""}, Expiration={"ExpiredObjectDeleteMarker": True}))
    assert _wait_for(lambda: "alone" not in _history(client, bucket), WAIT)
    assert [(k, latest) for k, _, latest in _history(client, bucket)["kept"]] == [("dm", True), ("v", False)]


def test_noncurrent_expiry_then_its_delete_marker(client, bucket):
    client.put_object(Bucket=bucket, Key="gone/x", Body=b"1")
    client.put_object(Bucket=bucket, Key="gone/x", Body=b"2")
    client.delete_object(Bucket=bucket, Key="gone/x")
    client.put_object(Bucket=bucket, Key="live", Body=b"1")
    _put_rules(client, bucket, _rule("all", {"Prefix": ""}, NoncurrentVersionExpiration={"NoncurrentDays": 1},
                                     Expiration={"ExpiredObjectDeleteMarker": True}))
    assert _wait_for(lambda: set(_history(client, bucket)) == {"live"}, WAIT), _history(client, bucket)


def test_expiration_days_removes_old_expired_markers(client, bucket):
    """AWS: an Expiration Days rule also removes an expired object delete marker once old enough."""
    v1 = client.put_object(Bucket=bucket, Key="d/x", Body=b"1")["VersionId"]
    client.delete_object(Bucket=bucket, Key="d/x")
    client.delete_object(Bucket=bucket, Key="d/x", VersionId=v1)
    _put_rules(client, bucket, _rule("days", {"Prefix": "d/"}, Expiration={"Days": 1}))
    assert _wait_for(lambda: "d/x" not in _history(client, bucket), WAIT)


def test_filters_apply_to_versions(client, bucket):
    tagged = client.put_object(Bucket=bucket, Key="t", Body=b"1", Tagging="class=temp")["VersionId"]
    client.put_object(Bucket=bucket, Key="t", Body=b"2")
    untagged = client.put_object(Bucket=bucket, Key="u", Body=b"1")["VersionId"]
    client.put_object(Bucket=bucket, Key="u", Body=b"2", Tagging="class=temp")  # the current one is tagged
    big = client.put_object(Bucket=bucket, Key="s/big", Body=b"b" * 5000)["VersionId"]
    client.put_object(Bucket=bucket, Key="s/big", Body=b"now small")
    small = client.put_object(Bucket=bucket, Key="s/small", Body=b"tiny")["VersionId"]
    client.put_object(Bucket=bucket, Key="s/small", Body=b"b" * 5000)
    _put_rules(client, bucket,
               _rule("tag", {"Tag": {"Key": "class", "Value": "temp"}},
                     NoncurrentVersionExpiration={"NoncurrentDays": 1}),
               _rule("size", {"And": {"Prefix": "s/", "ObjectSizeGreaterThan": 1000}},
                     NoncurrentVersionExpiration={"NoncurrentDays": 1}))

    def noncurrent() -> set[str]:
        return {vid for entries in _history(client, bucket).values() for _, vid, latest in entries if not latest}

    assert _wait_for(lambda: noncurrent() == {untagged, small}, WAIT), (noncurrent(), tagged, big)
    time.sleep(2 * DAY)
    assert noncurrent() == {untagged, small}


def test_swift_sees_the_lifecycle_history(lifecycle_cluster, client, bucket):
    v1 = client.put_object(Bucket=bucket, Key="sw", Body=b"swift view")["VersionId"]
    _put_rules(client, bucket, _rule("r", {"Prefix": "sw"}, Expiration={"Days": 1}))
    assert _wait_for(lambda: _keys(client, bucket) == set(), WAIT)
    url, token = lifecycle_cluster.auth()
    auth = {"X-Auth-Token": token}
    assert httpx.get(f"{url}/{bucket}", params={"format": "json"}, headers=auth).json() == []
    rows = httpx.get(f"{url}/{bucket}", params={"format": "json", "versions": ""}, headers=auth).json()
    assert [(r["name"], r["version_id"], r["content_type"]) for r in rows][1:] == [
        ("sw", v1, "binary/octet-stream")]
    assert rows[0]["content_type"] == "application/x-deleted;swift_versions_deleted=1" and rows[0]["is_latest"]
    assert httpx.get(f"{url}/{bucket}/sw", headers=auth).status_code == 404
    old = httpx.get(f"{url}/{bucket}/sw", params={"version-id": v1}, headers=auth)
    assert old.status_code == 200 and old.content == b"swift view"


def test_unversioned_bucket_still_deletes_for_good(lifecycle_cluster, client):
    name = "lcu-" + os.urandom(6).hex()
    client.create_bucket(Bucket=name)
    try:
        client.put_object(Bucket=name, Key="x", Body=b"1")
        _put_rules(client, name, _rule("r", {"Prefix": ""}, Expiration={"Days": 1}))
        assert _wait_for(lambda: _keys(client, name) == set(), WAIT)
        assert client.list_object_versions(Bucket=name).get("DeleteMarkers", []) == []
    finally:
        client.delete_bucket(Bucket=name)



def _account(cluster: Cluster) -> str:
    url, _ = cluster.auth()
    return unquote(urlsplit(url).path.split("/")[2])


def test_locked_versions_are_kept(lifecycle_cluster, client, bucket):
    """A version under Object Lock (legal hold or retention, in its sysmeta) outlives the rules."""
    import objclient
    from stackstore import versioning_names as names

    held = client.put_object(Bucket=bucket, Key="l", Body=b"held")["VersionId"]
    retained = client.put_object(Bucket=bucket, Key="l", Body=b"retained")["VersionId"]
    free = client.put_object(Bucket=bucket, Key="l", Body=b"free")["VersionId"]
    current = client.put_object(Bucket=bucket, Key="l", Body=b"current")["VersionId"]
    locks = {held: {"X-Object-Sysmeta-S3-Lock-Legal-Hold": "ON"},
             retained: {"X-Object-Sysmeta-S3-Lock-Mode": "GOVERNANCE",
                        "X-Object-Sysmeta-S3-Lock-Retain-Until": str(time.time() + 3600)}}

    async def lock() -> None:
        storage = objclient.from_config(lifecycle_cluster.conf)
        try:
            for version_id, headers in locks.items():
                name = names.version_object("l", version_id)
                stored = await storage.head_object(_account(lifecycle_cluster), names.versions_container(bucket), name)
                kept = {k: v for k, v in stored.headers.items() if k.lower().startswith("x-object-")}
                resp = await storage.post_object(_account(lifecycle_cluster), names.versions_container(bucket), name,
                                                 {**kept, **headers, "X-Timestamp": Timestamp.now().normal})
                assert resp.status == 202, resp.status
        finally:
            await storage.close()

    asyncio.run(lock())
    _put_rules(client, bucket, _rule("nc", {"Prefix": ""}, NoncurrentVersionExpiration={"NoncurrentDays": 1}))
    expected = [("v", current, True), ("v", retained, False), ("v", held, False)]
    assert _wait_for(lambda: _history(client, bucket)["l"] == expected, WAIT), (_history(client, bucket), free)
    time.sleep(3 * DAY)
    assert _history(client, bucket)["l"] == expected
    assert client.get_object(Bucket=bucket, Key="l", VersionId=held)["Body"].read() == b"held"
