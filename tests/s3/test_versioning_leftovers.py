"""Versioning details beyond the engine's first cut (issue 14): a multipart version deleted by id
releases its parts."""

from __future__ import annotations

import pytest
from swiftclient import client as swift_client

from proxy.s3.bucket import segments_container
from tests.s3.conftest import error_code, make_client


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
