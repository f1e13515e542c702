"""Versioning details beyond the engine's first cut (issue 14): a multipart version deleted by id
releases its parts; archived SSE versions read; PostObject writes versions and honours Object Lock; the
Swift API cannot suspend an Object Lock bucket's versioning."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from swiftclient import client as swift_client

from proxy.s3.bucket import segments_container
from tests.s3.conftest import error_code, make_client
from tests.s3.test_post_object import _code, _post, _v4_fields


@pytest.fixture
def c(s3):
    return make_client(s3.url, when_required=True)


def _segments(s3, bucket: str) -> list[str]:
    conn = swift_client.Connection(authurl=f"{s3.cluster.proxy_url}/auth/v1.0", user="test:tester",
                                   key="testing", retries=0)
    try:
        return [row["name"] for row in conn.get_container(segments_container(bucket), full_listing=True)[1]]
    except swift_client.ClientException as err:
        if err.http_status == 404:
            return []
        raise
    finally:
        conn.close()


def _upload(c, bucket: str, key: str, fill: bytes) -> str:
    up = c.create_multipart_upload(Bucket=bucket, Key=key)
    part = fill * (5 * 1024 * 1024)
    etags = [c.upload_part(Bucket=bucket, Key=key, UploadId=up["UploadId"], PartNumber=n, Body=part)["ETag"]
             for n in (1, 2)]
    return c.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up["UploadId"], MultipartUpload={
        "Parts": [{"PartNumber": n, "ETag": e} for n, e in zip((1, 2), etags, strict=True)]})["VersionId"]


def test_multipart_version_deleted_by_id_releases_its_parts(c, s3, bucket):
    c.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    v1 = _upload(c, bucket, "mpu", b"a")
    parts_v1 = set(_segments(s3, bucket))
    assert len(parts_v1) == 2
    v2 = _upload(c, bucket, "mpu", b"b")
    parts_v2 = set(_segments(s3, bucket)) - parts_v1
    assert len(parts_v2) == 2
    # an archived version deleted by id: its parts go, the current one's stay
    c.delete_object(Bucket=bucket, Key="mpu", VersionId=v1)
    assert set(_segments(s3, bucket)) == parts_v2
    assert c.get_object(Bucket=bucket, Key="mpu")["Body"].read(1) == b"b"
    # the current version deleted by id (nothing under it): its parts go too
    c.put_object(Bucket=bucket, Key="mpu", Body=b"small")
    v3 = c.list_object_versions(Bucket=bucket)["Versions"][0]["VersionId"]
    c.delete_object(Bucket=bucket, Key="mpu", VersionId=v3)  # v2 becomes current again: parts kept
    assert set(_segments(s3, bucket)) == parts_v2
    assert c.get_object(Bucket=bucket, Key="mpu")["Body"].read(1) == b"b"
    c.delete_object(Bucket=bucket, Key="mpu", VersionId=v2)
    assert _segments(s3, bucket) == []
    assert error_code(c.get_object, Bucket=bucket, Key="mpu") == "NoSuchKey"


CUSTOMER_KEY = b"k" * 32


def test_archived_sse_versions_are_readable(c, bucket):
    c.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3_v1 = c.put_object(Bucket=bucket, Key="sse-s3", Body=b"one", ServerSideEncryption="AES256",
                         Metadata={"colour": "blue"})["VersionId"]
    c.put_object(Bucket=bucket, Key="sse-s3", Body=b"two", ServerSideEncryption="AES256")
    got = c.get_object(Bucket=bucket, Key="sse-s3", VersionId=s3_v1)
    assert got["Body"].read() == b"one" and got["Metadata"] == {"colour": "blue"}
    assert got["ServerSideEncryption"] == "AES256"
    sse_c = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": CUSTOMER_KEY}
    c_v1 = c.put_object(Bucket=bucket, Key="sse-c", Body=b"secret", Metadata={"a": "b"}, **sse_c)["VersionId"]
    c.put_object(Bucket=bucket, Key="sse-c", Body=b"newer", **sse_c)
    got = c.get_object(Bucket=bucket, Key="sse-c", VersionId=c_v1, **sse_c)
    assert got["Body"].read() == b"secret" and got["Metadata"] == {"a": "b"}
    assert c.head_object(Bucket=bucket, Key="sse-c", VersionId=c_v1, **sse_c)["ContentLength"] == 6
    # deleting the newest by id makes the archived one current again: still readable
    newest = c.list_object_versions(Bucket=bucket, Prefix="sse-s3")["Versions"][0]["VersionId"]
    c.delete_object(Bucket=bucket, Key="sse-s3", VersionId=newest)
    got = c.get_object(Bucket=bucket, Key="sse-s3")
    assert got["Body"].read() == b"one" and got["Metadata"] == {"colour": "blue"}


# -- PostObject into versioned and Object Lock buckets ------------------------------------------------

@pytest.fixture
def lock_bucket(c, request):
    """A fresh Object Lock bucket with a one-day GOVERNANCE default; versions removed afterwards."""
    name = f"lk{os.urandom(5).hex()}-post"
    c.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    c.put_object_lock_configuration(Bucket=name, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})
    yield name
    listed = c.list_object_versions(Bucket=name)
    for v in listed.get("Versions", []) + listed.get("DeleteMarkers", []):
        c.put_object_legal_hold(Bucket=name, Key=v["Key"], VersionId=v["VersionId"], LegalHold={"Status": "OFF"})
        c.delete_object(Bucket=name, Key=v["Key"], VersionId=v["VersionId"], BypassGovernanceRetention=True)
    c.delete_bucket(Bucket=name)


def _form(bucket: str, key: str, **extra: str) -> dict[str, str]:
    """A signed form for ``key`` whose policy names every extra field exactly."""
    return {**_v4_fields([{"key": key}, *({name: value} for name, value in extra.items())], bucket),
            "key": key, **extra}


def test_post_object_keeps_versions(c, s3, bucket):
    c.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    first = _post(s3, bucket, _form(bucket, "doc"), data=b"first")
    second = _post(s3, bucket, _form(bucket, "doc"), data=b"second")
    assert first.status_code == second.status_code == 204
    v1, v2 = first.headers["x-amz-version-id"], second.headers["x-amz-version-id"]
    assert [v["VersionId"] for v in c.list_object_versions(Bucket=bucket)["Versions"]] == [v2, v1]
    assert c.get_object(Bucket=bucket, Key="doc", VersionId=v1)["Body"].read() == b"first"
    assert c.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"second"


def test_post_object_into_a_lock_bucket(c, s3, lock_bucket):
    resp = _post(s3, lock_bucket, _form(lock_bucket, "held"), data=b"default retention")
    assert resp.status_code == 204
    vid = resp.headers["x-amz-version-id"]
    head = c.head_object(Bucket=lock_bucket, Key="held", VersionId=vid)
    assert head["ObjectLockMode"] == "GOVERNANCE"
    assert timedelta(hours=23) < head["ObjectLockRetainUntilDate"] - datetime.now(UTC) <= timedelta(days=1)
    assert error_code(c.delete_object, Bucket=lock_bucket, Key="held", VersionId=vid) == "AccessDenied"
    # the form's own lock fields, as PutObject's headers
    until = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    fields = {"x-amz-object-lock-mode": "GOVERNANCE", "x-amz-object-lock-retain-until-date": until,
              "x-amz-object-lock-legal-hold": "ON"}
    resp = _post(s3, lock_bucket, _form(lock_bucket, "held", **fields), data=b"own retention")
    assert resp.status_code == 204
    head = c.head_object(Bucket=lock_bucket, Key="held")
    assert head["VersionId"] == resp.headers["x-amz-version-id"] != vid
    assert head["ObjectLockLegalHoldStatus"] == "ON"
    assert head["ObjectLockRetainUntilDate"].strftime("%Y-%m-%dT%H:%M:%S.000Z") == until
    assert c.get_object(Bucket=lock_bucket, Key="held", VersionId=vid)["Body"].read() == b"default retention"
    # checked as PutObject's headers are
    assert _code(_post(s3, lock_bucket, _form(lock_bucket, "bad", **{"x-amz-object-lock-mode": "GOVERNANCE"}))) \
        == (400, "InvalidArgument")
    assert _code(_post(s3, lock_bucket, _form(lock_bucket, "bad", **{**fields, "x-amz-object-lock-mode": "WORM"}))) \
        == (400, "InvalidArgument")
    past = {**fields, "x-amz-object-lock-retain-until-date": "2020-01-01T00:00:00.000Z"}
    assert _code(_post(s3, lock_bucket, _form(lock_bucket, "bad", **past))) == (400, "InvalidArgument")
    assert error_code(c.head_object, Bucket=lock_bucket, Key="bad") == "404"


def test_post_object_lock_fields_need_a_lock_bucket(s3, bucket):
    resp = _post(s3, bucket, _form(bucket, "k", **{"x-amz-object-lock-legal-hold": "ON"}))
    assert _code(resp) == (400, "InvalidRequest")


# -- the Swift API cannot suspend an Object Lock bucket's versioning ----------------------------------

def test_swift_cannot_suspend_a_lock_bucket(c, swift_conn, lock_bucket, bucket):
    for call, headers in ((swift_conn.post_container, {"X-Versions-Enabled": "false"}),
                          (swift_conn.put_container, {"X-Versions-Enabled": "false"}),
                          (swift_conn.post_container, {"X-Versions-Enabled": ""}),
                          (swift_conn.post_container, {"X-Remove-Versions-Enabled": "x"}),
                          (swift_conn.put_container, {"X-Remove-Versions-Enabled": "x"})):
        with pytest.raises(swift_client.ClientException) as err:
            call(lock_bucket, headers)
        assert err.value.http_status == 409, headers
        assert b"Object Lock" in err.value.http_response_content
    assert c.get_bucket_versioning(Bucket=lock_bucket)["Status"] == "Enabled"
    # elsewhere X-Remove-Versions-Enabled changes nothing, as in Swift
    c.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    swift_conn.post_container(bucket, {"X-Remove-Versions-Enabled": "x"})
    assert swift_conn.head_container(bucket)["x-versions-enabled"] == "True"
