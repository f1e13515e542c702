"""Objects written over S3 are readable over Swift and vice versa: bytes, metadata, ETag, SLO."""

from __future__ import annotations

import hashlib
import json
import os

import httpx
import pytest

from tests.s3.conftest import make_client

MIB = 1024 * 1024


@pytest.fixture
def swift(s3):
    url, token = s3.cluster.auth("test:tester", "testing")
    return url, {"X-Auth-Token": token}


def test_s3_write_swift_read(s3, bucket, swift):
    url, auth = swift
    c = make_client(s3.url)
    data = os.urandom(50_000)
    c.put_object(Bucket=bucket, Key="dir/x y", Body=data, Metadata={"color": "red"}, ContentType="text/x-a")
    r = httpx.get(f"{url}/{bucket}/dir/x%20y", headers=auth)
    assert r.status_code == 200 and r.content == data
    assert r.headers["etag"] == hashlib.md5(data).hexdigest()
    assert r.headers["x-object-meta-color"] == "red" and r.headers["content-type"] == "text/x-a"
    listing = httpx.get(f"{url}/{bucket}?format=json", headers=auth).json()
    assert [o["name"] for o in listing] == ["dir/x y"]


def test_swift_write_s3_read(s3, bucket, swift):
    url, auth = swift
    data = os.urandom(30_000)
    r = httpx.put(f"{url}/{bucket}/from-swift", content=data,
                  headers={**auth, "X-Object-Meta-Origin": "swift", "Content-Type": "image/png"})
    assert r.status_code == 201
    got = make_client(s3.url).get_object(Bucket=bucket, Key="from-swift")
    assert got["Body"].read() == data and got["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert got["Metadata"] == {"origin": "swift"} and got["ContentType"] == "image/png"


def test_swift_container_is_a_bucket(s3, swift):
    url, auth = swift
    name = "swiftmade-" + os.urandom(3).hex()
    assert httpx.put(f"{url}/{name}", headers=auth).status_code in (201, 202)
    c = make_client(s3.url)
    assert name in [b["Name"] for b in c.list_buckets()["Buckets"]]
    c.put_object(Bucket=name, Key="k", Body=b"v")
    c.delete_object(Bucket=name, Key="k")
    c.delete_bucket(Bucket=name)
    assert httpx.head(f"{url}/{name}", headers=auth).status_code == 404


def test_multipart_is_an_slo_for_swift(s3, bucket, swift):
    url, auth = swift
    c = make_client(s3.url)
    parts = [os.urandom(5 * MIB), os.urandom(1000)]
    up = c.create_multipart_upload(Bucket=bucket, Key="mp", Metadata={"m": "1"})["UploadId"]
    etags = [c.upload_part(Bucket=bucket, Key="mp", UploadId=up, PartNumber=i + 1, Body=p)["ETag"]
             for i, p in enumerate(parts)]
    c.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up, MultipartUpload={
        "Parts": [{"PartNumber": i + 1, "ETag": e} for i, e in enumerate(etags)]})
    r = httpx.get(f"{url}/{bucket}/mp", headers=auth, timeout=30)
    assert r.status_code == 200 and r.content == b"".join(parts)
    assert r.headers.get("x-static-large-object", "").lower() == "true"
    assert r.headers["x-object-meta-m"] == "1"
    manifest = httpx.get(f"{url}/{bucket}/mp?multipart-manifest=get", headers=auth).json()
    assert [e["bytes"] for e in manifest] == [len(p) for p in parts]
    assert all(e["name"].startswith(f"/{bucket}+segments/mp/") for e in manifest)


def test_swift_slo_read_over_s3(s3, bucket, swift):
    url, auth = swift
    segs = [os.urandom(1 * MIB), os.urandom(2000)]
    seg_container = f"{bucket}_segs"
    httpx.put(f"{url}/{seg_container}", headers=auth)
    manifest = []
    for i, seg in enumerate(segs):
        r = httpx.put(f"{url}/{seg_container}/s{i}", content=seg, headers=auth)
        manifest.append({"path": f"/{seg_container}/s{i}", "etag": r.headers["etag"], "size_bytes": len(seg)})
    r = httpx.put(f"{url}/{bucket}/slo?multipart-manifest=put", content=json.dumps(manifest), headers=auth)
    assert r.status_code == 201, r.text
    c = make_client(s3.url)
    got = c.get_object(Bucket=bucket, Key="slo")
    assert got["Body"].read() == b"".join(segs) and got["ContentLength"] == sum(map(len, segs))
    part = c.get_object(Bucket=bucket, Key="slo", Range=f"bytes={MIB - 5}-{MIB + 4}")
    assert part["Body"].read() == (b"".join(segs))[MIB - 5:MIB + 5]
    for i in range(len(segs)):
        httpx.delete(f"{url}/{seg_container}/s{i}", headers=auth)
    httpx.delete(f"{url}/{seg_container}", headers=auth)
