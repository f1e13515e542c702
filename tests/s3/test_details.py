"""S3 details the conformance families showed: ListBuckets paging, v1 prefixes unencoded, chunked PUTs
without aws-chunked, aws-chunked never stored as Content-Encoding, non-ASCII metadata as AWS returns it."""

from __future__ import annotations

import email.header
import hashlib
import os
import time

import httpx
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.s3.conftest import ACCESS_KEY, SECRET, cleanup, make_client


def _signed(method: str, url: str, payload: str, headers: dict[str, str] | None = None) -> dict[str, str]:
    req = AWSRequest(method=method, url=url, headers={"x-amz-content-sha256": payload, **(headers or {})})
    signer = S3SigV4Auth(Credentials(ACCESS_KEY, SECRET), "s3", "us-east-1")
    signer.payload = lambda request: payload  # sign the payload hash we send
    signer.add_auth(req)
    return dict(req.headers.items())


def test_list_buckets_paging_and_prefix(s3):
    c = make_client(s3.url)
    prefix = f"lb{os.urandom(3).hex()}-"
    names = [f"{prefix}{i}" for i in range(5)]
    for name in names:
        c.create_bucket(Bucket=name)
    try:
        everything = c.list_buckets(Prefix=prefix)
        assert [b["Name"] for b in everything["Buckets"]] == names and everything["Prefix"] == prefix
        assert "ContinuationToken" not in everything
        seen, token = [], None
        while True:
            page = c.list_buckets(Prefix=prefix, MaxBuckets=2, **({"ContinuationToken": token} if token else {}))
            seen += [b["Name"] for b in page["Buckets"]]
            assert len(page["Buckets"]) <= 2
            token = page.get("ContinuationToken")
            if not token:
                break
        assert seen == names
        assert all(b["BucketRegion"] == "us-east-1" for b in everything["Buckets"])
        for bad in ("0", "10001", "x"):
            url = f"{s3.url}/?max-buckets={bad}"
            resp = httpx.get(url, headers=_signed("GET", url, "UNSIGNED-PAYLOAD"))
            assert resp.status_code == 400 and b"InvalidArgument" in resp.content, bad
        # the creation date is the bucket's, not its last metadata change
        created = {b["Name"]: b["CreationDate"] for b in everything["Buckets"]}
        time.sleep(1.1)
        c.put_bucket_tagging(Bucket=names[0], Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
        again = {b["Name"]: b["CreationDate"] for b in c.list_buckets(Prefix=prefix)["Buckets"]}
        assert again == created
        assert abs(created[names[0]].timestamp() - time.time()) < 120
    finally:
        for name in names:
            cleanup(c, name)


def test_newline_prefix_unencoded_in_v1(s3, bucket):
    c = make_client(s3.url)
    c.put_object(Bucket=bucket, Key="a\nb", Body=b"x")
    v1 = c.list_objects(Bucket=bucket, Prefix="a\n")  # botocore asks EncodingType=url and decodes the keys
    assert v1["Prefix"] == "a\n" and [o["Key"] for o in v1["Contents"]] == ["a\nb"]
    v2 = c.list_objects_v2(Bucket=bucket, Prefix="a\n")
    assert v2["Prefix"] == "a\n" and [o["Key"] for o in v2["Contents"]] == ["a\nb"]
    explicit = c.list_objects(Bucket=bucket, Prefix="\n", EncodingType="url")  # not decoded by botocore
    assert explicit["Prefix"] == "\n"


def test_transfer_encoding_chunked_without_aws_chunked(s3, bucket):
    data = os.urandom(100_000)
    url = f"{s3.url}/{bucket}/te"

    def pieces():
        for i in range(0, len(data), 7000):
            yield data[i:i + 7000]

    for payload in ("UNSIGNED-PAYLOAD", hashlib.sha256(data).hexdigest()):
        headers = _signed("PUT", url, payload, {"Transfer-Encoding": "chunked"})
        resp = httpx.put(url, headers=headers, content=pieces())
        assert resp.status_code == 200, resp.text
        assert resp.headers["etag"] == f'"{hashlib.md5(data).hexdigest()}"'
        assert make_client(s3.url).get_object(Bucket=bucket, Key="te")["Body"].read() == data
    bad = _signed("PUT", url, hashlib.sha256(b"other").hexdigest(), {"Transfer-Encoding": "chunked"})
    assert httpx.put(url, headers=bad, content=pieces()).status_code == 400


def test_aws_chunked_not_stored_as_content_encoding(s3, bucket):
    c = make_client(s3.tls_url, verify=s3.cafile or False) if s3.tls_url else make_client(s3.url)
    c.put_object(Bucket=bucket, Key="gz", Body=os.urandom(70_000), ContentEncoding="gzip")  # aws-chunked,gzip
    assert c.head_object(Bucket=bucket, Key="gz")["ContentEncoding"] == "gzip"
    c.put_object(Bucket=bucket, Key="plain", Body=os.urandom(70_000))
    assert "ContentEncoding" not in c.head_object(Bucket=bucket, Key="plain")
    # the client's own list keeps its spelling, with or without the aws-chunked framing
    c.put_object(Bucket=bucket, Key="two", Body=os.urandom(70_000), ContentEncoding="deflate, gzip")
    assert c.head_object(Bucket=bucket, Key="two")["ContentEncoding"] == "deflate, gzip"
    c.put_object(Bucket=bucket, Key="small", Body=b"x", ContentEncoding="deflate, gzip")
    assert c.head_object(Bucket=bucket, Key="small")["ContentEncoding"] == "deflate, gzip"
    # aws-chunked named by the client next to a signed sha256 is a label: the body is read as sent and the
    # label dropped (Swift's s3api and Ceph's s3-tests expect it so)
    plain = make_client(s3.url)
    for named, stored in (("aws-chunked", None), ("gzip, aws-chunked", "gzip"), ("aws-chunked, gzip", "gzip")):
        body = os.urandom(32768)
        plain.put_object(Bucket=bucket, Key="labelled", Body=body, ContentEncoding=named)
        assert plain.get_object(Bucket=bucket, Key="labelled")["Body"].read() == body
        assert plain.head_object(Bucket=bucket, Key="labelled").get("ContentEncoding") == stored, named


def test_non_ascii_metadata_returned_rfc2047(s3, bucket):
    url = f"{s3.url}/{bucket}/meta"
    headers = _signed("PUT", url, "UNSIGNED-PAYLOAD")
    raw = [(k.encode(), v.encode()) for k, v in headers.items()]
    raw += [(b"x-amz-meta-utf8", "été".encode()), (b"x-amz-meta-ascii", b"plain value")]
    assert httpx.put(url, headers=raw, content=b"x").status_code == 200
    meta = make_client(s3.url).head_object(Bucket=bucket, Key="meta")["Metadata"]
    assert meta == {"utf8": "=?UTF-8?Q?=C3=A9t=C3=A9?=", "ascii": "plain value"}
    text, charset = email.header.decode_header(meta["utf8"])[0]
    assert text.decode(charset) == "été"


def test_storage_class_other_than_standard_is_refused(s3, bucket):
    """Every object is stored in its bucket's storage policy, which S3 calls STANDARD: a write asking for another
    class is refused with AWS's InvalidStorageClass rather than stored in a class the client did not ask for."""
    c = make_client(s3.url)
    c.put_object(Bucket=bucket, Key="std", Body=b"x", StorageClass="STANDARD")
    for call, kwargs in ((c.put_object, {"Key": "ia", "Body": b"x"}),
                         (c.create_multipart_upload, {"Key": "mpu"}),
                         (c.copy_object, {"Key": "copy", "CopySource": {"Bucket": bucket, "Key": "std"}})):
        for storage_class in ("STANDARD_IA", "GLACIER", "BOGUS"):
            try:
                call(Bucket=bucket, StorageClass=storage_class, **kwargs)
            except ClientError as err:
                assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 400
                assert err.response["Error"]["Code"] == "InvalidStorageClass", err.response
                assert err.response["Error"].get("StorageClassRequested") == storage_class
            else:
                raise AssertionError(f"{call.__name__} with {storage_class} was accepted")
    listed = c.list_objects_v2(Bucket=bucket)["Contents"]
    assert [(o["Key"], o["StorageClass"]) for o in listed] == [("std", "STANDARD")]
    assert "Uploads" not in c.list_multipart_uploads(Bucket=bucket)
