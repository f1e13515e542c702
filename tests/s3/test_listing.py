"""Listing 1,200 keys with every paging mode: v1/v2, markers, delimiter, max-keys, encoding-type=url."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.s3.conftest import cleanup, make_client

KEYS = sorted(
    [f"a/{i:04d}" for i in range(600)]
    + [f"b/c/{i:03d}" for i in range(300)]
    + [f"top{i:03d}" for i in range(290)]
    + ["sp ace/x", "plus+key", "pct%41", "ü/one", "ü/two", "dir/", "dir/inner", "x//double", "~tilde", "q?mark"]
)


@pytest.fixture(scope="module")
def listed(s3):
    c = make_client(s3.url, when_required=True)
    name = "list-" + os.urandom(4).hex()
    c.create_bucket(Bucket=name)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: c.put_object(Bucket=name, Key=k, Body=k.encode()), KEYS))
    yield name
    cleanup(c, name)


def test_count(listed):
    assert len(KEYS) == 1200


@pytest.mark.parametrize("page", [1000, 100, 7])
def test_v1_marker_paging(s3, listed, page):
    c = make_client(s3.url)
    got, marker, calls = [], "", 0
    while True:
        resp = c.list_objects(Bucket=listed, Marker=marker, MaxKeys=page)
        keys = [o["Key"] for o in resp.get("Contents", [])]
        calls += 1
        got += keys
        if not resp["IsTruncated"]:
            break
        assert len(keys) == page  # exactly max-keys whenever more exist
        assert "NextMarker" not in resp  # only with a delimiter
        marker = keys[-1]
    assert got == KEYS
    assert calls == -(-len(KEYS) // page)


def test_v1_delimiter_next_marker(s3, listed):
    c = make_client(s3.url)
    prefixes, keys, marker = [], [], ""
    while True:
        resp = c.list_objects(Bucket=listed, Delimiter="/", MaxKeys=3, Marker=marker)
        prefixes += [p["Prefix"] for p in resp.get("CommonPrefixes", [])]
        keys += [o["Key"] for o in resp.get("Contents", [])]
        if not resp["IsTruncated"]:
            break
        marker = resp["NextMarker"]
    assert prefixes == ["a/", "b/", "dir/", "sp ace/", "x/", "ü/"]
    assert keys == sorted(k for k in KEYS if "/" not in k)


def test_v1_prefix_delimiter(s3, listed):
    c = make_client(s3.url)
    resp = c.list_objects(Bucket=listed, Prefix="b/", Delimiter="/")
    assert [p["Prefix"] for p in resp["CommonPrefixes"]] == ["b/c/"]
    assert "Contents" not in resp
    resp = c.list_objects(Bucket=listed, Prefix="dir/", Delimiter="/")
    assert [o["Key"] for o in resp["Contents"]] == ["dir/", "dir/inner"]


@pytest.mark.parametrize("page", [1000, 250, 1])
def test_v2_paginator(s3, listed, page):
    c = make_client(s3.url)
    if page == 1:  # one key per page would be 1,200 requests: do a slice
        resp = c.list_objects_v2(Bucket=listed, MaxKeys=1, StartAfter="a/0597")
        assert [o["Key"] for o in resp["Contents"]] == ["a/0598"] and resp["KeyCount"] == 1
        resp = c.list_objects_v2(Bucket=listed, MaxKeys=1, ContinuationToken=resp["NextContinuationToken"])
        assert [o["Key"] for o in resp["Contents"]] == ["a/0599"]
        return
    got = []
    for resp in c.get_paginator("list_objects_v2").paginate(Bucket=listed, PaginationConfig={"PageSize": page}):
        got += [o["Key"] for o in resp.get("Contents", [])]
        assert resp["KeyCount"] == len(resp.get("Contents", []))
    assert got == KEYS


def test_v2_delimiter_and_start_after(s3, listed):
    c = make_client(s3.url)
    prefixes, keys = [], []
    for resp in c.get_paginator("list_objects_v2").paginate(Bucket=listed, Delimiter="/", StartAfter="b",
                                                            PaginationConfig={"PageSize": 2}):
        prefixes += [p["Prefix"] for p in resp.get("CommonPrefixes", [])]
        keys += [o["Key"] for o in resp.get("Contents", [])]
    assert prefixes == ["b/", "dir/", "sp ace/", "x/", "ü/"]
    assert keys == sorted(k for k in KEYS if "/" not in k and k > "b")


def test_exact_truncation(s3, listed):
    c = make_client(s3.url)
    resp = c.list_objects_v2(Bucket=listed, Prefix="b/c/", MaxKeys=300)
    assert resp["KeyCount"] == 300 and resp["IsTruncated"] is False
    resp = c.list_objects_v2(Bucket=listed, Prefix="b/c/", MaxKeys=299)
    assert resp["IsTruncated"] is True
    resp = c.list_objects(Bucket=listed, Prefix="b/c/", MaxKeys=300)
    assert resp["IsTruncated"] is False


def test_encoding_type_url_raw(s3, listed):
    """The raw document URL-encodes keys (a literal + as %2B) when EncodingType=url is echoed."""
    c = make_client(s3.url)
    url = c.generate_presigned_url("list_objects_v2", Params={"Bucket": listed, "Prefix": "p",
                                                             "EncodingType": "url"})
    body = httpx.get(url).text
    assert "<EncodingType>url</EncodingType>" in body
    assert "<Key>plus%2Bkey</Key>" in body and "<Key>pct%2541</Key>" in body
    resp = c.list_objects(Bucket=listed, Prefix="sp")  # boto3 decodes what it asked to be encoded
    assert [o["Key"] for o in resp["Contents"]] == ["sp ace/x"]


def test_object_metadata_in_listing(s3, listed):
    c = make_client(s3.url)
    resp = c.list_objects_v2(Bucket=listed, Prefix="top000", FetchOwner=True)
    obj = resp["Contents"][0]
    assert obj["Size"] == 6 and obj["ETag"].startswith('"') and obj["StorageClass"] == "STANDARD"
    assert obj["LastModified"].year >= 2024 and obj["Owner"]["ID"]


def test_list_v2_echoes_an_empty_continuation_token(s3, bucket):
    c = make_client(s3.url)
    c.put_object(Bucket=bucket, Key="one", Body=b"1")
    page = c.list_objects_v2(Bucket=bucket, ContinuationToken="")
    assert page["ContinuationToken"] == "" and [o["Key"] for o in page["Contents"]] == ["one"]
