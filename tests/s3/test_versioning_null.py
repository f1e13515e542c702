"""S3's ``null`` version (issue 14 leftovers), as AWS documents it ("Working with objects in a
versioning-suspended bucket", "Deleting objects from versioning-suspended buckets"): a suspended bucket's
delete writes a ``null`` delete marker replacing the ``null`` version, a write replaces the ``null``
version wherever it sits, ``versionId=null`` finds it current or archived, and listings place it (and page
past it) where its write time puts it. Also: a version read by id answers its own write time."""

from __future__ import annotations

import json
import os
import time

import pytest
from botocore.exceptions import ClientError

from tests.s3.conftest import error_code, make_client
from tests.s3.test_clients import _aws, _aws_env, _run


@pytest.fixture
def c(s3):
    return make_client(s3.url, when_required=True)


def _status(c, bucket: str, status: str) -> None:
    c.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status})


def _history(c, bucket: str, **kwargs) -> list[tuple[str, str, bool]]:
    """(kind, version id, is latest) of every version and marker, in listing order."""
    page = c.list_object_versions(Bucket=bucket, **kwargs)
    rows = [("v", v["VersionId"], v["IsLatest"], v["LastModified"]) for v in page.get("Versions", [])]
    rows += [("m", m["VersionId"], m["IsLatest"], m["LastModified"]) for m in page.get("DeleteMarkers", [])]
    rows.sort(key=lambda row: row[3], reverse=True)  # boto3 splits the two kinds; time orders them back
    return [row[:3] for row in rows]


def _body(c, bucket: str, key: str, version: str | None = None) -> bytes:
    extra = {"VersionId": version} if version else {}
    return c.get_object(Bucket=bucket, Key=key, **extra)["Body"].read()


def _pause() -> None:
    time.sleep(1.1)  # listing times have whole seconds: keep each write in its own second


def test_suspended_delete_writes_a_null_marker_replacing_the_null_version(c, bucket):
    _status(c, bucket, "Enabled")
    v1 = c.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    _pause()
    v2 = c.put_object(Bucket=bucket, Key="k", Body=b"two")["VersionId"]
    _pause()
    _status(c, bucket, "Suspended")
    resp = c.delete_object(Bucket=bucket, Key="k")
    assert resp["DeleteMarker"] is True and resp["VersionId"] == "null"
    assert _history(c, bucket) == [("m", "null", True), ("v", v2, False), ("v", v1, False)]
    _pause()
    # a second delete replaces the null marker (one null version per key)
    resp = c.delete_object(Bucket=bucket, Key="k")
    assert resp["DeleteMarker"] is True and resp["VersionId"] == "null"
    assert _history(c, bucket) == [("m", "null", True), ("v", v2, False), ("v", v1, False)]
    assert error_code(c.get_object, Bucket=bucket, Key="k") == "NoSuchKey"
    with pytest.raises(ClientError) as err:
        c.head_object(Bucket=bucket, Key="k", VersionId="null")
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 405
    assert err.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"] == "true"
    assert error_code(c.get_object, Bucket=bucket, Key="k", VersionId="null") == "MethodNotAllowed"
    _pause()
    # a write replaces the null marker with a null object
    c.put_object(Bucket=bucket, Key="k", Body=b"null one")
    assert _history(c, bucket) == [("v", "null", True), ("v", v2, False), ("v", v1, False)]
    _pause()
    c.put_object(Bucket=bucket, Key="k", Body=b"null two")
    assert _history(c, bucket) == [("v", "null", True), ("v", v2, False), ("v", v1, False)]
    assert _body(c, bucket, "k", "null") == b"null two"
    # deleting the null marker by id: the key is back at its newest version
    _pause()
    c.delete_object(Bucket=bucket, Key="k")
    assert _history(c, bucket) == [("m", "null", True), ("v", v2, False), ("v", v1, False)]
    resp = c.delete_object(Bucket=bucket, Key="k", VersionId="null")
    assert resp["DeleteMarker"] is True and resp["VersionId"] == "null"
    assert _body(c, bucket, "k") == b"two"
    assert _history(c, bucket) == [("v", v2, True), ("v", v1, False)]


def test_archived_null_version_keeps_its_id_and_place(c, bucket):
    c.put_object(Bucket=bucket, Key="k", Body=b"plain")  # written before versioning: the null version
    _pause()
    _status(c, bucket, "Enabled")
    v1 = c.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    _pause()
    v2 = c.put_object(Bucket=bucket, Key="k", Body=b"two")["VersionId"]
    assert _history(c, bucket) == [("v", v2, True), ("v", v1, False), ("v", "null", False)]
    assert _body(c, bucket, "k", "null") == b"plain"
    head = c.head_object(Bucket=bucket, Key="k", VersionId="null")
    assert head["VersionId"] == "null" and head["ContentLength"] == 5
    _pause()
    # suspended: a write replaces the archived null version; the versions with ids stay
    _status(c, bucket, "Suspended")
    c.put_object(Bucket=bucket, Key="k", Body=b"null again")
    assert _history(c, bucket) == [("v", "null", True), ("v", v2, False), ("v", v1, False)]
    assert _body(c, bucket, "k", "null") == b"null again"
    _pause()
    _status(c, bucket, "Enabled")
    v3 = c.put_object(Bucket=bucket, Key="k", Body=b"three")["VersionId"]
    assert _history(c, bucket) == [("v", v3, True), ("v", "null", False), ("v", v2, False), ("v", v1, False)]
    # deleting the archived null version by id: the others stay
    c.delete_object(Bucket=bucket, Key="k", VersionId="null")
    assert error_code(c.get_object, Bucket=bucket, Key="k", VersionId="null") == "NoSuchVersion"
    assert _history(c, bucket) == [("v", v3, True), ("v", v2, False), ("v", v1, False)]


def test_null_version_made_current_again_stays_null(c, bucket):
    """s3-tests' plain_null_version_overwrite: the null version under a deleted newest one is current again,
    still ``null``, and deleting ``null`` leaves no version."""
    c.put_object(Bucket=bucket, Key="k", Body=b"fooz")
    _status(c, bucket, "Enabled")
    c.put_object(Bucket=bucket, Key="k", Body=b"zzz")
    got = c.get_object(Bucket=bucket, Key="k")
    assert got["Body"].read() == b"zzz"
    c.delete_object(Bucket=bucket, Key="k", VersionId=got["VersionId"])
    got = c.get_object(Bucket=bucket, Key="k")
    assert got["Body"].read() == b"fooz" and got["VersionId"] == "null"
    c.delete_object(Bucket=bucket, Key="k", VersionId="null")
    assert error_code(c.get_object, Bucket=bucket, Key="k") == "NoSuchKey"
    assert "Versions" not in c.list_object_versions(Bucket=bucket)


def test_paging_past_an_archived_null_version(c, bucket):
    c.put_object(Bucket=bucket, Key="a", Body=b"a0")
    c.put_object(Bucket=bucket, Key="b", Body=b"b-null")
    _pause()
    _status(c, bucket, "Enabled")
    ids = {"a": [], "b": []}
    for n in range(2):
        for key in ("a", "b"):
            ids[key].append(c.put_object(Bucket=bucket, Key=key, Body=f"{key}{n}".encode())["VersionId"])
    expected = [("a", v) for v in reversed(ids["a"])] + [("a", "null")]
    expected += [("b", v) for v in reversed(ids["b"])] + [("b", "null")]
    for page_size in (1, 2, 3):
        seen: list[tuple[str, str]] = []
        kwargs: dict = {}
        while True:
            page = c.list_object_versions(Bucket=bucket, MaxKeys=page_size, **kwargs)
            seen += [(v["Key"], v["VersionId"]) for v in page.get("Versions", [])]
            if not page["IsTruncated"]:
                break
            kwargs = {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page["NextVersionIdMarker"]}
        assert seen == expected, page_size
    # a page that ends on the archived null version continues with the next key
    page = c.list_object_versions(Bucket=bucket, KeyMarker="a", VersionIdMarker="null")
    assert [(v["Key"], v["VersionId"]) for v in page["Versions"]] == expected[3:]


def test_delete_objects_in_a_suspended_bucket(c, bucket):
    _status(c, bucket, "Enabled")
    v1 = c.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    _pause()
    _status(c, bucket, "Suspended")
    result = c.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k"}, {"Key": "other"}]})
    deleted = {row["Key"]: row for row in result["Deleted"]}
    assert deleted["k"]["DeleteMarker"] is True and deleted["k"]["DeleteMarkerVersionId"] == "null"
    assert deleted["other"]["DeleteMarkerVersionId"] == "null"
    assert _history(c, bucket, Prefix="k") == [("m", "null", True), ("v", v1, False)]
    result = c.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k", "VersionId": "null"}]})
    assert result["Deleted"][0]["VersionId"] == "null" and result["Deleted"][0]["DeleteMarker"] is True
    assert _body(c, bucket, "k") == b"one"


def test_version_read_by_id_answers_its_write_time(c, bucket):
    c.put_object(Bucket=bucket, Key="k", Body=b"plain")
    time.sleep(2)
    _status(c, bucket, "Enabled")
    v1 = c.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    time.sleep(2)
    v2 = c.put_object(Bucket=bucket, Key="k", Body=b"two")["VersionId"]
    listed = {v["VersionId"]: v["LastModified"] for v in c.list_object_versions(Bucket=bucket)["Versions"]}
    for version in ("null", v1, v2):
        assert c.head_object(Bucket=bucket, Key="k", VersionId=version)["LastModified"] == listed[version]
        assert c.get_object(Bucket=bucket, Key="k", VersionId=version)["LastModified"] == listed[version]
        attrs = c.get_object_attributes(Bucket=bucket, Key="k", VersionId=version, ObjectAttributes=["ETag"])
        assert attrs["LastModified"] == listed[version]
    assert listed["null"] < listed[v1] < listed[v2]
    # a conditional read of a version compares with its own write time
    got = c.get_object(Bucket=bucket, Key="k", VersionId=v1, IfUnmodifiedSince=listed[v1])
    assert got["Body"].read() == b"one"
    c.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "k", "VersionId": v1},
                  CopySourceIfUnmodifiedSince=listed[v1])
    assert _body(c, bucket, "copy") == b"one"


def test_swift_lists_the_archived_null_version_by_its_write_time(c, swift_conn, bucket):
    c.put_object(Bucket=bucket, Key="k", Body=b"plain")
    _status(c, bucket, "Enabled")
    c.put_object(Bucket=bucket, Key="k", Body=b"one")
    rows = swift_conn.get_container(bucket, query_string="versions")[1]
    assert [sorted(row) for row in rows] == [sorted(rows[0])] * 2  # no row carries anything extra
    ids = [row["version_id"] for row in rows]
    assert "null" not in ids and ids == sorted(ids, reverse=True)
    assert swift_conn.get_object(bucket, "k", query_string=f"version-id={ids[1]}")[1] == b"plain"
    _status(c, bucket, "Suspended")
    c.delete_object(Bucket=bucket, Key="k")  # the archived null version goes, a null marker comes
    rows = swift_conn.get_container(bucket, query_string="versions")[1]
    assert [row["version_id"] for row in rows][1:] == ids[:1]
    assert rows[0]["version_id"] > ids[0] and rows[0]["is_latest"]
    assert rows[0]["content_type"] == "application/x-deleted;swift_versions_deleted=1"


def test_awscli_suspended_bucket_null_versions(s3, tmp_path):
    env = _aws_env(tmp_path)
    api = _aws() + ["--endpoint-url", s3.url, "s3api"]
    bucket = "awsn-" + os.urandom(4).hex()

    def call(*args: str) -> dict:
        out = _run(api + list(args), env).stdout
        return json.loads(out) if out.strip() else {}

    call("create-bucket", "--bucket", bucket)
    body = tmp_path / "body"
    body.write_text("plain")
    call("put-object", "--bucket", bucket, "--key", "k", "--body", str(body))
    call("put-bucket-versioning", "--bucket", bucket, "--versioning-configuration", "Status=Enabled")
    body.write_text("one")
    v1 = call("put-object", "--bucket", bucket, "--key", "k", "--body", str(body))["VersionId"]
    listed = call("list-object-versions", "--bucket", bucket)
    assert [v["VersionId"] for v in listed["Versions"]] == [v1, "null"]
    target = tmp_path / "null"
    call("get-object", "--bucket", bucket, "--key", "k", "--version-id", "null", str(target))
    assert target.read_text() == "plain"
    call("put-bucket-versioning", "--bucket", bucket, "--versioning-configuration", "Status=Suspended")
    marker = call("delete-object", "--bucket", bucket, "--key", "k")
    assert marker == {"DeleteMarker": True, "VersionId": "null"}
    listed = call("list-object-versions", "--bucket", bucket)
    assert [v["VersionId"] for v in listed["Versions"]] == [v1]
    assert [(m["VersionId"], m["IsLatest"]) for m in listed["DeleteMarkers"]] == [("null", True)]
    call("delete-object", "--bucket", bucket, "--key", "k", "--version-id", "null")
    call("get-object", "--bucket", bucket, "--key", "k", str(target))
    assert target.read_text() == "one"
    call("delete-object", "--bucket", bucket, "--key", "k", "--version-id", v1)
    call("delete-bucket", "--bucket", bucket)
