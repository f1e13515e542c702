"""Multipart uploads: 20 MiB in 5 MiB parts (ETag formula), part validation, listings, abort, copy parts."""

from __future__ import annotations

import hashlib
import os

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from tests.s3.conftest import make_client

MIB = 1024 * 1024


def _mp_etag(parts: list[bytes]) -> str:
    return '"' + hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest() + f'-{len(parts)}"'


def test_upload_20mib_in_5mib_parts(s3c, bucket, tmp_path):
    data = os.urandom(20 * MIB + 12345)
    src = tmp_path / "big"
    src.write_bytes(data)
    cfg = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB, max_concurrency=4)
    s3c.upload_file(str(src), bucket, "big/object", Config=cfg, ExtraArgs={"Metadata": {"k": "v"},
                                                                          "ContentType": "application/x-big"})
    parts = [data[i:i + 5 * MIB] for i in range(0, len(data), 5 * MIB)]
    head = s3c.head_object(Bucket=bucket, Key="big/object")
    assert head["ETag"] == _mp_etag(parts) and head["ContentLength"] == len(data)
    assert head["Metadata"] == {"k": "v"} and head["ContentType"] == "application/x-big"
    out = tmp_path / "down"
    s3c.download_file(bucket, "big/object", str(out), Config=cfg)
    assert hashlib.md5(out.read_bytes()).hexdigest() == hashlib.md5(data).hexdigest()
    got = s3c.get_object(Bucket=bucket, Key="big/object", Range=f"bytes={5 * MIB - 10}-{5 * MIB + 9}")
    assert got["Body"].read() == data[5 * MIB - 10:5 * MIB + 10]
    assert s3c.get_object(Bucket=bucket, Key="big/object")["Body"].read() == data
    assert [b["Name"] for b in s3c.list_buckets()["Buckets"] if b["Name"].endswith("+segments")] == []
    listed = s3c.list_objects_v2(Bucket=bucket, Prefix="big/")["Contents"][0]
    listed_etag = listed["ETag"]
    s3c.delete_object(Bucket=bucket, Key="big/object")
    with pytest.raises(ClientError):
        s3c.head_object(Bucket=bucket, Key="big/object")
    assert listed_etag == _mp_etag(parts)
    assert listed["Size"] == len(data)


def test_low_level_flow_and_validation(s3, bucket):
    c = make_client(s3.url, when_required=True)
    up = c.create_multipart_upload(Bucket=bucket, Key="mp", Metadata={"a": "b"})["UploadId"]
    p1, p2, p3 = os.urandom(5 * MIB), os.urandom(5 * MIB), b"tail"
    e1 = c.upload_part(Bucket=bucket, Key="mp", UploadId=up, PartNumber=1, Body=p1)["ETag"]
    e2 = c.upload_part(Bucket=bucket, Key="mp", UploadId=up, PartNumber=2, Body=p2)["ETag"]
    e3 = c.upload_part(Bucket=bucket, Key="mp", UploadId=up, PartNumber=3, Body=p3)["ETag"]
    small = c.upload_part(Bucket=bucket, Key="mp", UploadId=up, PartNumber=4, Body=b"tiny")["ETag"]
    parts = c.list_parts(Bucket=bucket, Key="mp", UploadId=up, MaxParts=2)
    assert [p["PartNumber"] for p in parts["Parts"]] == [1, 2] and parts["IsTruncated"]
    parts = c.list_parts(Bucket=bucket, Key="mp", UploadId=up, PartNumberMarker=parts["NextPartNumberMarker"])
    assert [p["PartNumber"] for p in parts["Parts"]] == [3, 4]
    uploads = c.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [("mp", up)]

    def complete(plist):
        return c.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up,
                                           MultipartUpload={"Parts": plist})

    with pytest.raises(ClientError) as err:
        complete([{"PartNumber": 2, "ETag": e2}, {"PartNumber": 1, "ETag": e1}])
    assert err.value.response["Error"]["Code"] == "InvalidPartOrder"
    with pytest.raises(ClientError) as err:
        complete([{"PartNumber": 1, "ETag": e2}])
    assert err.value.response["Error"]["Code"] == "InvalidPart"
    with pytest.raises(ClientError) as err:
        complete([{"PartNumber": 1, "ETag": e1}, {"PartNumber": 5, "ETag": e3}])
    assert err.value.response["Error"]["Code"] == "InvalidPart"
    with pytest.raises(ClientError) as err:
        complete([{"PartNumber": 3, "ETag": e3}, {"PartNumber": 4, "ETag": small}])
    assert err.value.response["Error"]["Code"] == "EntityTooSmall"
    done = complete([{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2.strip('"')},
                     {"PartNumber": 3, "ETag": e3}])
    assert done["ETag"] == _mp_etag([p1, p2, p3])
    got = c.get_object(Bucket=bucket, Key="mp")
    assert got["Body"].read() == p1 + p2 + p3 and got["Metadata"] == {"a": "b"}
    assert c.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    with pytest.raises(ClientError) as err:
        c.list_parts(Bucket=bucket, Key="mp", UploadId=up)
    assert err.value.response["Error"]["Code"] == "NoSuchUpload"


def test_abort(s3, bucket):
    c = make_client(s3.url)
    up = c.create_multipart_upload(Bucket=bucket, Key="ab")["UploadId"]
    c.upload_part(Bucket=bucket, Key="ab", UploadId=up, PartNumber=1, Body=b"x" * 1000)
    c.abort_multipart_upload(Bucket=bucket, Key="ab", UploadId=up)
    with pytest.raises(ClientError) as err:
        c.upload_part(Bucket=bucket, Key="ab", UploadId=up, PartNumber=2, Body=b"y")
    assert err.value.response["Error"]["Code"] == "NoSuchUpload"
    assert c.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_upload_part_copy_with_ranges(s3, bucket):
    c = make_client(s3.url)
    src = os.urandom(6 * MIB)
    c.put_object(Bucket=bucket, Key="src", Body=src)
    up = c.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    r1 = c.upload_part_copy(Bucket=bucket, Key="dst", UploadId=up, PartNumber=1,
                            CopySource={"Bucket": bucket, "Key": "src"}, CopySourceRange=f"bytes=0-{5 * MIB - 1}")
    r2 = c.upload_part_copy(Bucket=bucket, Key="dst", UploadId=up, PartNumber=2,
                            CopySource=f"{bucket}/src", CopySourceRange=f"bytes={5 * MIB}-{6 * MIB - 1}")
    c.complete_multipart_upload(Bucket=bucket, Key="dst", UploadId=up, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": r1["CopyPartResult"]["ETag"]},
        {"PartNumber": 2, "ETag": r2["CopyPartResult"]["ETag"]}]})
    assert c.get_object(Bucket=bucket, Key="dst")["Body"].read() == src
    # a copy of the multipart object is a plain object with an md5 ETag
    c.copy_object(Bucket=bucket, Key="dst-copy", CopySource={"Bucket": bucket, "Key": "dst"})
    head = c.head_object(Bucket=bucket, Key="dst-copy")
    assert head["ETag"] == f'"{hashlib.md5(src).hexdigest()}"'


def test_complete_repeated_after_success_answers_the_same(s3, bucket):
    """A client that lost Complete's answer and sends it again gets the same success (AWS, Swift's s3api);
    another part list, or an upload that never completed, is NoSuchUpload."""
    c = make_client(s3.url)
    upload = c.create_multipart_upload(Bucket=bucket, Key="again")["UploadId"]
    etag = c.upload_part(Bucket=bucket, Key="again", UploadId=upload, PartNumber=1, Body=b"only part")["ETag"]
    parts = {"Parts": [{"PartNumber": 1, "ETag": etag}]}
    first = c.complete_multipart_upload(Bucket=bucket, Key="again", UploadId=upload, MultipartUpload=parts)
    again = c.complete_multipart_upload(Bucket=bucket, Key="again", UploadId=upload, MultipartUpload=parts)
    assert again["ETag"] == first["ETag"] and again["Key"] == "again"
    assert c.get_object(Bucket=bucket, Key="again")["Body"].read() == b"only part"
    wrong = {"Parts": [{"PartNumber": 1, "ETag": '"' + "0" * 32 + '"'}]}
    for upload_id, listed in ((upload, wrong), ("never-created", parts), (upload, {"Parts": [
            {"PartNumber": 1, "ETag": "not-hex"}]})):
        with pytest.raises(ClientError) as err:
            c.complete_multipart_upload(Bucket=bucket, Key="again", UploadId=upload_id, MultipartUpload=listed)
        assert err.value.response["Error"]["Code"] == "NoSuchUpload"


def test_complete_of_an_unknown_upload_is_no_such_upload_whatever_the_body(s3, bucket):
    """The upload is looked up before its document is read: NoSuchUpload (404), not MalformedXML, for an
    upload of another key; and error documents name no <Resource> (as AWS and Swift's s3api)."""
    import httpx
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    c = make_client(s3.url)
    upload = c.create_multipart_upload(Bucket=bucket, Key="one-key")["UploadId"]
    url = f"{s3.url}/{bucket}/another-key?uploadId={upload}"
    req = AWSRequest(method="POST", url=url, data=b"<CompleteMultipartUpload><Part>&xxe;",
                     headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    S3SigV4Auth(Credentials("test:tester", "testing"), "s3", "us-east-1").add_auth(req)
    resp = httpx.post(url, content=req.body, headers=dict(req.headers.items()))
    assert resp.status_code == 404 and b"<Code>NoSuchUpload</Code>" in resp.content, resp.content
    assert b"<Resource>" not in resp.content
    c.abort_multipart_upload(Bucket=bucket, Key="one-key", UploadId=upload)


def test_list_uploads_names_the_initiating_account(s3, bucket):
    """An upload started by another account (allowed by the bucket's ACL) lists that account as its
    Initiator and Owner, as AWS."""
    main = make_client(s3.url)
    main.put_bucket_acl(Bucket=bucket, ACL="public-read-write")
    alt = make_client(s3.url, key="test2:tester2", secret="testing2")
    mine = main.create_multipart_upload(Bucket=bucket, Key="by-main")["UploadId"]
    theirs = alt.create_multipart_upload(Bucket=bucket, Key="by-alt")["UploadId"]
    alt_id = alt.list_buckets()["Owner"]["ID"]
    main_id = main.list_buckets()["Owner"]["ID"]
    listed = {u["UploadId"]: u for u in main.list_multipart_uploads(Bucket=bucket)["Uploads"]}
    assert listed[theirs]["Initiator"]["ID"] == alt_id and listed[theirs]["Owner"]["ID"] == alt_id
    assert listed[mine]["Initiator"]["ID"] == main_id
    for key, upload in (("by-main", mine), ("by-alt", theirs)):
        main.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload)
