"""S3 bucket versioning with boto3 (engine: proxy/versioning/; S3 layer: proxy/s3/versioning.py), and
the same versions seen over Swift (python-swiftclient)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from swiftclient import client as swift_client

from tests.s3.conftest import error_code, make_client


@pytest.fixture
def c(s3):
    return make_client(s3.url, when_required=True)


def enable(c, bucket: str, status: str = "Enabled") -> None:
    c.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status})


def test_get_put_bucket_versioning(c, bucket):
    assert "Status" not in c.get_bucket_versioning(Bucket=bucket)
    enable(c, bucket)
    assert c.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    enable(c, bucket, "Suspended")
    assert c.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"
    assert error_code(c.put_bucket_versioning, Bucket=bucket,
                      VersioningConfiguration={"Status": "Bogus"}) == "MalformedXML"


def test_version_id_marker_null_keeps_the_key_marker_current_latest(c, bucket):
    """Continuing after ``null`` of a key whose current version has an id: the versions listed from there say
    which one is current (IsLatest). Only the Swift API copies Swift 2.38's ``is_latest: false`` for that row
    (tests/features/test_object_versioning.py); S3 must not."""
    enable(c, bucket)
    v1 = c.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    v2 = c.put_object(Bucket=bucket, Key="k", Body=b"two")["VersionId"]
    page = c.list_object_versions(Bucket=bucket, KeyMarker="k", VersionIdMarker="null")
    assert [(v["VersionId"], v["IsLatest"]) for v in page["Versions"]] == [(v2, True), (v1, False)]


def test_versions_ids_reads_and_delete_markers(c, bucket):
    enable(c, bucket)
    v1 = c.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    v2 = c.put_object(Bucket=bucket, Key="k", Body=b"two")["VersionId"]
    assert v1 != v2
    assert c.get_object(Bucket=bucket, Key="k")["Body"].read() == b"two"
    got = c.get_object(Bucket=bucket, Key="k", VersionId=v1)
    assert got["Body"].read() == b"one" and got["VersionId"] == v1
    assert c.head_object(Bucket=bucket, Key="k", VersionId=v2)["VersionId"] == v2
    marker = c.delete_object(Bucket=bucket, Key="k")
    assert marker["DeleteMarker"] is True
    assert error_code(c.get_object, Bucket=bucket, Key="k") == "NoSuchKey"
    with pytest.raises(ClientError) as err:
        c.get_object(Bucket=bucket, Key="k", VersionId=marker["VersionId"])
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 405
    assert err.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"] == "true"
    listed = c.list_object_versions(Bucket=bucket)
    assert [(v["VersionId"], v["IsLatest"]) for v in listed["Versions"]] == [(v2, False), (v1, False)]
    assert [(m["VersionId"], m["IsLatest"]) for m in listed["DeleteMarkers"]] == [(marker["VersionId"], True)]
    # removing the marker makes the newest version current again
    c.delete_object(Bucket=bucket, Key="k", VersionId=marker["VersionId"])
    assert c.get_object(Bucket=bucket, Key="k")["Body"].read() == b"two"
    # deleting the current version by id: the one under it becomes current (AWS)
    c.delete_object(Bucket=bucket, Key="k", VersionId=v2)
    assert c.get_object(Bucket=bucket, Key="k")["Body"].read() == b"one"
    assert error_code(c.get_object, Bucket=bucket, Key="k", VersionId="bogus") == "InvalidArgument"
    assert error_code(c.get_object, Bucket=bucket, Key="k", VersionId="1234567890.12345") == "NoSuchVersion"


def test_restore_by_copy_and_delete_objects_with_versions(c, bucket):
    enable(c, bucket)
    v1 = c.put_object(Bucket=bucket, Key="r", Body=b"first")["VersionId"]
    c.put_object(Bucket=bucket, Key="r", Body=b"second")
    c.copy_object(Bucket=bucket, Key="r", CopySource={"Bucket": bucket, "Key": "r", "VersionId": v1})
    assert c.get_object(Bucket=bucket, Key="r")["Body"].read() == b"first"
    versions = c.list_object_versions(Bucket=bucket)["Versions"]
    assert len(versions) == 3
    result = c.delete_objects(Bucket=bucket, Delete={"Objects": [
        {"Key": v["Key"], "VersionId": v["VersionId"]} for v in versions] + [{"Key": "gone"}]})
    assert len(result["Deleted"]) == 4
    assert any(d.get("DeleteMarker") for d in result["Deleted"] if d["Key"] == "gone")
    left = c.list_object_versions(Bucket=bucket)
    assert "Versions" not in left and len(left["DeleteMarkers"]) == 1


def test_paging_over_many_versions(c, bucket):
    enable(c, bucket)
    ids = [c.put_object(Bucket=bucket, Key="p", Body=str(i).encode())["VersionId"] for i in range(7)]
    seen, kwargs = [], {}
    while True:
        page = c.list_object_versions(Bucket=bucket, MaxKeys=3, **kwargs)
        seen += [v["VersionId"] for v in page.get("Versions", [])]
        if not page["IsTruncated"]:
            break
        kwargs = {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page["NextVersionIdMarker"]}
    assert seen == list(reversed(ids))


def test_cross_api_versions(c, bucket, s3):
    enable(c, bucket)
    v1 = c.put_object(Bucket=bucket, Key="x", Body=b"s3-one")["VersionId"]
    conn = swift_client.Connection(authurl=f"{s3.cluster.proxy_url}/auth/v1.0", user="test:tester",
                                   key="testing", retries=0)
    try:
        out: dict = {}
        conn.put_object(bucket, "x", b"swift-two", response_dict=out)
        v2 = out["headers"]["x-object-version-id"]
        rows = conn.get_container(bucket, query_string="versions")[1]
        assert [r["version_id"] for r in rows] == [v2, v1]
        assert conn.get_object(bucket, "x", query_string=f"version-id={v1}")[1] == b"s3-one"
        assert c.get_object(Bucket=bucket, Key="x", VersionId=v2)["Body"].read() == b"swift-two"
        assert [v["VersionId"] for v in c.list_object_versions(Bucket=bucket)["Versions"]] == [v2, v1]
    finally:
        conn.close()


def test_multipart_version_keeps_its_parts(c, bucket):
    enable(c, bucket)
    part = b"m" * (5 * 1024 * 1024)
    up = c.create_multipart_upload(Bucket=bucket, Key="mpu")
    etags = [c.upload_part(Bucket=bucket, Key="mpu", UploadId=up["UploadId"], PartNumber=n, Body=part + bytes([n]))
             ["ETag"] for n in (1, 2)]
    done = c.complete_multipart_upload(Bucket=bucket, Key="mpu", UploadId=up["UploadId"], MultipartUpload={
        "Parts": [{"PartNumber": n, "ETag": e} for n, e in zip((1, 2), etags, strict=True)]})
    v1 = done["VersionId"]
    c.put_object(Bucket=bucket, Key="mpu", Body=b"small")
    body = c.get_object(Bucket=bucket, Key="mpu", VersionId=v1)["Body"].read()
    assert body == part + b"\x01" + part + b"\x02"
    assert c.get_object(Bucket=bucket, Key="mpu")["Body"].read() == b"small"


def test_more_than_a_thousand_versions_paged(c, bucket):
    from concurrent.futures import ThreadPoolExecutor

    enable(c, bucket)
    keys = [f"many/{i:04d}" for i in range(370)]

    def three_versions(key: str) -> list[str]:
        return [c.put_object(Bucket=bucket, Key=key, Body=f"{key} {n}".encode())["VersionId"] for n in range(3)]

    with ThreadPoolExecutor(8) as pool:
        written = dict(zip(keys, pool.map(three_versions, keys), strict=True))
    seen: list[tuple[str, str, bool]] = []
    pages = 0
    for page in c.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix="many/"):
        pages += 1
        seen += [(v["Key"], v["VersionId"], v["IsLatest"]) for v in page.get("Versions", [])]
    assert pages == 2 and len(seen) == 1110
    assert seen == [(k, v, n == 0) for k in keys for n, v in enumerate(reversed(written[k]))]


def test_older_versions_keep_their_write_time(c, bucket):
    """ListObjectVersions shows each version's LastModified as when it was written, not when a later write
    archived it (what rclone --s3-version-at selects by)."""
    import time

    enable(c, bucket)
    first = c.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    written = c.head_object(Bucket=bucket, Key="k")["LastModified"]
    time.sleep(2.2)
    c.put_object(Bucket=bucket, Key="k", Body=b"two")
    versions = {v["VersionId"]: v for v in c.list_object_versions(Bucket=bucket)["Versions"]}
    listed = versions[first]["LastModified"]
    assert abs((listed - written).total_seconds()) < 1.0, (listed, written)
    latest = [v for v in versions.values() if v["IsLatest"]]
    assert len(latest) == 1 and (latest[0]["LastModified"] - listed).total_seconds() >= 2.0


def test_get_and_head_of_a_deleted_key_name_its_delete_marker(c, bucket):
    """As AWS: a GET/HEAD without versionId whose latest version is a delete marker answers 404 with
    ``x-amz-delete-marker: true`` and the marker's version id; a plain missing key carries neither."""
    enable(c, bucket)
    c.put_object(Bucket=bucket, Key="gone", Body=b"v1")
    marker = c.delete_object(Bucket=bucket, Key="gone")["VersionId"]
    for call in (c.get_object, c.head_object):
        with pytest.raises(ClientError) as err:
            call(Bucket=bucket, Key="gone")
        headers = err.value.response["ResponseMetadata"]["HTTPHeaders"]
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
        assert headers.get("x-amz-delete-marker") == "true" and headers.get("x-amz-version-id") == marker
        with pytest.raises(ClientError) as err:
            call(Bucket=bucket, Key="never-written")
        assert "x-amz-delete-marker" not in err.value.response["ResponseMetadata"]["HTTPHeaders"]


def test_get_object_attributes_names_the_version(c, bucket):
    enable(c, bucket)
    first = c.put_object(Bucket=bucket, Key="attr", Body=b"one")["VersionId"]
    second = c.put_object(Bucket=bucket, Key="attr", Body=b"two!")["VersionId"]
    current = c.get_object_attributes(Bucket=bucket, Key="attr", ObjectAttributes=["ObjectSize"])
    assert current["VersionId"] == second and current["ObjectSize"] == 4
    old = c.get_object_attributes(Bucket=bucket, Key="attr", VersionId=first, ObjectAttributes=["ObjectSize"])
    assert old["VersionId"] == first and old["ObjectSize"] == 3


def test_acl_and_tagging_apply_to_the_version_named(c, bucket):
    """As AWS: Get/PutObjectAcl and Get/Put/DeleteObjectTagging with ``versionId`` act on that version, the
    current one or an older one, and answer its id; an unknown id is NoSuchVersion."""
    enable(c, bucket)
    old = c.put_object(Bucket=bucket, Key="v", Body=b"old")["VersionId"]
    new = c.put_object(Bucket=bucket, Key="v", Body=b"new")["VersionId"]
    c.put_object_acl(Bucket=bucket, Key="v", VersionId=old, ACL="public-read")
    old_grants = c.get_object_acl(Bucket=bucket, Key="v", VersionId=old)["Grants"]
    new_grants = c.get_object_acl(Bucket=bucket, Key="v", VersionId=new)["Grants"]
    assert any(g["Grantee"].get("URI", "").endswith("AllUsers") for g in old_grants)
    assert not any(g["Grantee"].get("URI", "").endswith("AllUsers") for g in new_grants)
    put = c.put_object_tagging(Bucket=bucket, Key="v", VersionId=old,
                               Tagging={"TagSet": [{"Key": "age", "Value": "old"}]})
    assert put["VersionId"] == old
    assert c.get_object_tagging(Bucket=bucket, Key="v", VersionId=old)["TagSet"] == [{"Key": "age", "Value": "old"}]
    assert c.get_object_tagging(Bucket=bucket, Key="v")["TagSet"] == []
    assert c.get_object(Bucket=bucket, Key="v", VersionId=old)["Body"].read() == b"old"  # data untouched
    c.delete_object_tagging(Bucket=bucket, Key="v", VersionId=old)
    assert c.get_object_tagging(Bucket=bucket, Key="v", VersionId=old)["TagSet"] == []
    gone = c.put_object(Bucket=bucket, Key="v", Body=b"gone")["VersionId"]
    c.delete_object(Bucket=bucket, Key="v", VersionId=gone)  # a well-formed id no version has any more
    for call in (c.get_object_acl, c.get_object_tagging):
        with pytest.raises(ClientError) as err:
            call(Bucket=bucket, Key="v", VersionId=gone)
        assert err.value.response["Error"]["Code"] == "NoSuchVersion"


def test_concurrent_puts_keep_every_version(s3, c, bucket):
    """Writers racing on one key of a versioned bucket: every acknowledged version is kept and readable
    with its own body (each writer archives what it replaces, and replaces it only if still current)."""
    from concurrent.futures import ThreadPoolExecutor

    enable(c, bucket)
    c.put_object(Bucket=bucket, Key="race", Body=b"first")

    def put(i: int) -> tuple[str, bytes]:
        body = f"body {i}".encode()
        client = make_client(s3.url)  # one client (and connection pool) per writer
        return client.put_object(Bucket=bucket, Key="race", Body=body)["VersionId"], body

    with ThreadPoolExecutor(8) as pool:
        written = list(pool.map(put, range(16)))
    ids = {vid for vid, _ in written}
    assert len(ids) == 16
    listed = c.list_object_versions(Bucket=bucket, Prefix="race")["Versions"]
    assert {v["VersionId"] for v in listed} >= ids and len(listed) == 17  # the first one too
    for vid, body in written:
        assert c.get_object(Bucket=bucket, Key="race", VersionId=vid)["Body"].read() == body
    latest = [v for v in listed if v["IsLatest"]]
    assert len(latest) == 1 and c.get_object(Bucket=bucket, Key="race")["VersionId"] == latest[0]["VersionId"]


def test_concurrent_puts_and_deletes_keep_every_version(s3, c, bucket):
    """PutObject and DeleteObject (no version id) racing on one versioned key: every acknowledged version
    is still listed with its body (a delete removes only the version it archived, never a newer one), and
    every delete left its marker (Ceph's s3-tests: test_versioned_concurrent_object_create_and_remove)."""
    from concurrent.futures import ThreadPoolExecutor

    enable(c, bucket)

    def write_and_delete(i: int) -> tuple[list[tuple[str, bytes]], list[str]]:
        client = make_client(s3.url)
        written, markers = [], []
        for round_ in range(4):
            body = f"body {i}.{round_}".encode()
            written.append((client.put_object(Bucket=bucket, Key="churn", Body=body)["VersionId"], body))
            deleted = client.delete_object(Bucket=bucket, Key="churn")
            assert deleted["DeleteMarker"] is True
            markers.append(deleted["VersionId"])
        return written, markers

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(write_and_delete, range(6)))
    written = [w for ws, _ in results for w in ws]
    markers = {m for _, ms in results for m in ms}
    listing = c.list_object_versions(Bucket=bucket, Prefix="churn")
    versions = {v["VersionId"] for v in listing.get("Versions", [])}
    assert {vid for vid, _ in written} <= versions, "a version was deleted without being kept"
    assert markers <= {m["VersionId"] for m in listing.get("DeleteMarkers", [])}
    for vid, body in written:
        assert c.get_object(Bucket=bucket, Key="churn", VersionId=vid)["Body"].read() == body


def test_concurrent_version_deletes_leave_nothing(s3, c, bucket):
    """Every version deleted by id at once (the current one's delete promotes the next newest meanwhile):
    afterwards no version is left, none comes back as current (Ceph's s3-tests:
    test_versioned_concurrent_object_create_concurrent_remove)."""
    from concurrent.futures import ThreadPoolExecutor

    enable(c, bucket)
    for round_ in range(3):
        for i in range(5):
            c.put_object(Bucket=bucket, Key="many", Body=f"v{round_}.{i}".encode())
        versions = c.list_object_versions(Bucket=bucket, Prefix="many")["Versions"]
        assert len(versions) == 5

        def remove(version_id: str) -> None:
            make_client(s3.url).delete_object(Bucket=bucket, Key="many", VersionId=version_id)

        with ThreadPoolExecutor(5) as pool:
            list(pool.map(remove, [v["VersionId"] for v in versions]))
        assert "Versions" not in c.list_object_versions(Bucket=bucket, Prefix="many"), round_
        assert error_code(c.head_object, Bucket=bucket, Key="many") == "404"


def test_concurrent_copies_and_completes_keep_every_version(s3, c, bucket):
    """CopyObject and CompleteMultipartUpload racing with PutObject on one versioned key: all kept."""
    from concurrent.futures import ThreadPoolExecutor

    enable(c, bucket)
    c.put_object(Bucket=bucket, Key="src", Body=b"copied body")

    def write(i: int) -> str:
        client = make_client(s3.url)
        if i % 3 == 0:
            return client.copy_object(Bucket=bucket, Key="mixed", CopySource={"Bucket": bucket, "Key": "src"})[
                "VersionId"]
        if i % 3 == 1:
            upload = client.create_multipart_upload(Bucket=bucket, Key="mixed")["UploadId"]
            etag = client.upload_part(Bucket=bucket, Key="mixed", UploadId=upload, PartNumber=1,
                                      Body=f"part {i}".encode())["ETag"]
            return client.complete_multipart_upload(Bucket=bucket, Key="mixed", UploadId=upload, MultipartUpload={
                "Parts": [{"PartNumber": 1, "ETag": etag}]})["VersionId"]
        return client.put_object(Bucket=bucket, Key="mixed", Body=f"put {i}".encode())["VersionId"]

    with ThreadPoolExecutor(6) as pool:
        ids = set(pool.map(write, range(12)))
    assert len(ids) == 12
    listed = {v["VersionId"] for v in c.list_object_versions(Bucket=bucket, Prefix="mixed")["Versions"]}
    assert listed == ids
