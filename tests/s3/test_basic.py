"""Bucket life cycle, object round trips, metadata, conditionals, ranges and error documents (boto3)."""

from __future__ import annotations

import hashlib
import os

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.s3.conftest import cleanup, make_client


def _code(exc: pytest.ExceptionInfo) -> str:
    return exc.value.response["Error"]["Code"]


def test_bucket_lifecycle(s3):
    c = make_client(s3.url)
    name = "life-" + os.urandom(4).hex()
    c.create_bucket(Bucket=name)
    assert name in [b["Name"] for b in c.list_buckets()["Buckets"]]
    c.head_bucket(Bucket=name)
    assert c.get_bucket_location(Bucket=name)["LocationConstraint"] in (None, "")
    # the owner re-creating its bucket: 200 in us-east-1, as AWS (BucketAlreadyOwnedByYou elsewhere)
    assert c.create_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 200
    c.put_object(Bucket=name, Key="k", Body=b"x")
    with pytest.raises(ClientError) as err:
        c.delete_bucket(Bucket=name)
    assert _code(err) == "BucketNotEmpty"
    c.delete_object(Bucket=name, Key="k")
    c.delete_bucket(Bucket=name)
    with pytest.raises(ClientError) as err:
        c.head_bucket(Bucket=name)
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    for bad in ("ab", "Upper", "a_b", "-ab", "a..b", "192.168.1.1"):
        with pytest.raises(ClientError) as err:
            c.create_bucket(Bucket=bad)
        assert _code(err) == "InvalidBucketName", bad


def test_put_get_metadata(s3c, bucket):
    data = os.urandom(100_000)
    put = s3c.put_object(Bucket=bucket, Key="dir/obj ü+x", Body=data, Metadata={"color": "blue", "Mixed": "Case"},
                         ContentType="text/plain", ContentDisposition='attachment; filename="f.txt"',
                         ContentEncoding="identity", CacheControl="max-age=60", ContentLanguage="en",
                         Expires="Thu, 01 Dec 2044 16:00:00 GMT")
    assert put["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    got = s3c.get_object(Bucket=bucket, Key="dir/obj ü+x")
    assert got["Body"].read() == data
    assert got["ETag"] == put["ETag"]
    assert got["Metadata"] == {"color": "blue", "mixed": "Case"}
    assert got["ContentType"] == "text/plain"
    assert got["ContentDisposition"] == 'attachment; filename="f.txt"'
    assert got["ContentEncoding"] == "identity"
    assert got["CacheControl"] == "max-age=60"
    assert got["ContentLanguage"] == "en"
    head = s3c.head_object(Bucket=bucket, Key="dir/obj ü+x")
    assert head["ContentLength"] == len(data) and head["Metadata"]["color"] == "blue"
    over = s3c.get_object(Bucket=bucket, Key="dir/obj ü+x", ResponseContentType="image/png",
                          ResponseContentDisposition="inline")
    assert over["ContentType"] == "image/png" and over["ContentDisposition"] == "inline"


def test_ranges_and_conditionals(s3c, bucket):
    data = bytes(range(256)) * 40
    etag = s3c.put_object(Bucket=bucket, Key="r", Body=data)["ETag"]
    for rng, want in (("bytes=0-9", data[:10]), ("bytes=100-", data[100:]), ("bytes=-7", data[-7:]),
                      ("bytes=10000-20000", data[10000:])):
        got = s3c.get_object(Bucket=bucket, Key="r", Range=rng)
        assert got["Body"].read() == want
        assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
        assert got["ContentRange"].endswith(f"/{len(data)}")
    with pytest.raises(ClientError) as err:
        s3c.get_object(Bucket=bucket, Key="r", Range="bytes=20000-")
    assert _code(err) == "InvalidRange"
    with pytest.raises(ClientError) as err:
        s3c.get_object(Bucket=bucket, Key="r", IfNoneMatch=etag)
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    with pytest.raises(ClientError) as err:
        s3c.get_object(Bucket=bucket, Key="r", IfMatch='"0000"')
    assert _code(err) == "PreconditionFailed"
    assert s3c.get_object(Bucket=bucket, Key="r", IfMatch=etag)["Body"].read() == data
    lm = s3c.head_object(Bucket=bucket, Key="r")["LastModified"]
    with pytest.raises(ClientError) as err:
        s3c.head_object(Bucket=bucket, Key="r", IfModifiedSince=lm)
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    with pytest.raises(ClientError) as err:
        s3c.put_object(Bucket=bucket, Key="r", Body=b"new", IfNoneMatch="*")
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412


def test_delete_and_errors(s3, bucket):
    c = make_client(s3.url)
    c.put_object(Bucket=bucket, Key="gone", Body=b"1")
    c.delete_object(Bucket=bucket, Key="gone")
    c.delete_object(Bucket=bucket, Key="gone")  # 204 also when missing
    with pytest.raises(ClientError) as err:
        c.get_object(Bucket=bucket, Key="gone")
    assert _code(err) == "NoSuchKey"
    assert err.value.response["Error"]["Key"] == "gone"
    assert err.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-request-id"]
    with pytest.raises(ClientError) as err:
        c.list_objects(Bucket="no-such-bucket-" + os.urandom(3).hex())
    assert _code(err) == "NoSuchBucket"
    bad = make_client(s3.url, secret="wrong")
    with pytest.raises(ClientError) as err:
        bad.list_buckets()
    assert _code(err) == "SignatureDoesNotMatch"
    unknown = make_client(s3.url, key="nobody:none")
    with pytest.raises(ClientError) as err:
        unknown.list_buckets()
    assert _code(err) == "InvalidAccessKeyId"
    r = httpx.get(f"{s3.url}/{bucket}/x", headers={
        "Authorization": "AWS4-HMAC-SHA256 Credential=test:tester/20200101/us-east-1/s3/aws4_request, "
                         "SignedHeaders=host;x-amz-date, Signature=00",
        "x-amz-date": "20200101T000000Z", "x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    assert r.status_code == 403 and b"<Code>RequestTimeTooSkewed</Code>" in r.content
    assert b"<RequestId>" in r.content and b"<HostId>" in r.content


def test_sha256_mismatch_stores_nothing(s3, bucket):
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = f"{s3.url}/{bucket}/shaobj"
    req = AWSRequest(method="PUT", url=url, data=b"signed body")
    S3SigV4Auth(Credentials("test:tester", "testing"), "s3", "us-east-1").add_auth(req)
    assert req.headers["x-amz-content-sha256"] == hashlib.sha256(b"signed body").hexdigest()
    r = httpx.put(url, content=b"sent! body", headers=dict(req.headers.items()))
    assert r.status_code == 400 and b"XAmzContentSHA256Mismatch" in r.content
    c = make_client(s3.url)
    with pytest.raises(ClientError):
        c.head_object(Bucket=bucket, Key="shaobj")


def _signed_httpx(method: str, url: str, connect_to: str, body: bytes = b"", headers: dict | None = None):
    """Sign ``url`` (its host becomes the Host header) and send it to ``connect_to`` instead."""
    from urllib.parse import urlsplit

    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    req = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    S3SigV4Auth(Credentials("test:tester", "testing"), "s3", "us-east-1").add_auth(req)
    parts = urlsplit(url)
    sent = dict(req.headers.items())
    sent["Host"] = parts.netloc
    return httpx.request(method, connect_to + parts.path + (f"?{parts.query}" if parts.query else ""),
                         content=body, headers=sent)


def test_virtual_host_style(s3, bucket):
    port = s3.url.rsplit(":", 1)[1]
    base = f"http://{bucket}.localhost:{port}"
    assert _signed_httpx("PUT", f"{base}/vh/key", s3.url, b"virtual").status_code == 200
    r = _signed_httpx("GET", f"{base}/vh/key", s3.url)
    assert r.status_code == 200 and r.content == b"virtual"
    r = _signed_httpx("GET", f"{base}/?list-type=2&prefix=vh", s3.url)
    assert b"<Key>vh/key</Key>" in r.content
    assert make_client(s3.url).get_object(Bucket=bucket, Key="vh/key")["Body"].read() == b"virtual"


def test_every_answer_carries_one_request_id(s3, bucket):
    """x-amz-request-id and x-amz-id-2, once each, on successes and on errors (the error document's RequestId)."""
    port = s3.url.rsplit(":", 1)[1]
    base = f"http://{bucket}.localhost:{port}"
    for r in (_signed_httpx("PUT", f"{base}/ids", s3.url, b"x"), _signed_httpx("GET", f"{base}/ids", s3.url),
              _signed_httpx("GET", f"{base}/missing", s3.url)):
        ids = r.headers.get_list("x-amz-request-id")
        assert len(ids) == 1 and r.headers.get_list("x-amz-id-2") == ids, r.headers
    assert r.status_code == 404 and f"<RequestId>{ids[0]}</RequestId>".encode() in r.content


def test_cleanup_helper_handles_missing(s3):
    cleanup(make_client(s3.url), "does-not-exist-" + os.urandom(3).hex())


def test_bucket_location_is_the_constraint_it_was_created_with(s3):
    c = make_client(s3.url)
    name = "loc-" + os.urandom(4).hex()
    c.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "default"})
    try:
        assert c.get_bucket_location(Bucket=name)["LocationConstraint"] == "default"
    finally:
        c.delete_bucket(Bucket=name)
    c.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "us-east-1"})
    try:
        assert c.get_bucket_location(Bucket=name)["LocationConstraint"] in (None, "")  # AWS's null
    finally:
        c.delete_bucket(Bucket=name)
