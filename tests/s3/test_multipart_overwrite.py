"""Overwriting or deleting a completed multipart upload releases its parts (no orphaned segments)."""

from __future__ import annotations

import os

import httpx
import pytest

from tests.s3.conftest import make_client

MIB = 1024 * 1024


@pytest.fixture
def swift(s3):
    url, token = s3.cluster.auth("test:tester", "testing")
    return url, {"X-Auth-Token": token}


def _upload(client, bucket: str, key: str, parts: list[bytes]) -> str:
    up = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    etags = [client.upload_part(Bucket=bucket, Key=key, UploadId=up, PartNumber=i + 1, Body=p)["ETag"]
             for i, p in enumerate(parts)]
    client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up, MultipartUpload={
        "Parts": [{"PartNumber": i + 1, "ETag": e} for i, e in enumerate(etags)]})
    return up


def _segments(swift, bucket: str) -> list[str]:
    url, auth = swift
    resp = httpx.get(f"{url}/{bucket}+segments?format=json", headers=auth)
    assert resp.status_code == 200, resp.text
    return [row["name"] for row in resp.json()]


def _body(client, bucket: str, key: str) -> bytes:
    return client.get_object(Bucket=bucket, Key=key)["Body"].read()


def test_put_over_multipart_releases_parts(s3, bucket, swift):
    c = make_client(s3.url)
    _upload(c, bucket, "k", [os.urandom(5 * MIB), os.urandom(100)])
    assert len(_segments(swift, bucket)) == 2
    c.put_object(Bucket=bucket, Key="k", Body=b"small now")
    assert _body(c, bucket, "k") == b"small now"
    assert _segments(swift, bucket) == []


def test_multipart_over_multipart_keeps_only_the_new_parts(s3, bucket, swift):
    c = make_client(s3.url)
    _upload(c, bucket, "k", [os.urandom(5 * MIB), os.urandom(10)])
    new = [os.urandom(5 * MIB), os.urandom(20)]
    second = _upload(c, bucket, "k", new)
    assert _body(c, bucket, "k") == b"".join(new)
    assert _segments(swift, bucket) == [f"k/{second}/00001", f"k/{second}/00002"]


def test_copy_onto_itself_flattens_and_releases_parts(s3, bucket, swift):
    c = make_client(s3.url)
    parts = [os.urandom(5 * MIB), os.urandom(30)]
    _upload(c, bucket, "k", parts)
    c.copy_object(Bucket=bucket, Key="k", CopySource={"Bucket": bucket, "Key": "k"},
                  MetadataDirective="REPLACE", Metadata={"v": "2"})
    assert _body(c, bucket, "k") == b"".join(parts)
    assert _segments(swift, bucket) == []


def test_copy_of_multipart_to_another_key_keeps_the_source(s3, bucket, swift):
    c = make_client(s3.url)
    parts = [os.urandom(5 * MIB), os.urandom(40)]
    up = _upload(c, bucket, "src", parts)
    c.put_object(Bucket=bucket, Key="dst", Body=b"old")
    c.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    assert _body(c, bucket, "dst") == _body(c, bucket, "src") == b"".join(parts)
    assert _segments(swift, bucket) == [f"src/{up}/00001", f"src/{up}/00002"]


def test_delete_releases_parts(s3, bucket, swift):
    c = make_client(s3.url)
    _upload(c, bucket, "k", [os.urandom(5 * MIB), os.urandom(50)])
    c.delete_object(Bucket=bucket, Key="k")
    assert _segments(swift, bucket) == []
