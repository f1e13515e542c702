"""Object and bucket tagging through boto3: limits and errors as AWS, x-amz-tagging on every write path."""

from __future__ import annotations

import os

import pytest

from tests.s3.conftest import error_code, make_client


def _tags(n: int) -> list[dict[str, str]]:
    return [{"Key": f"k{i}", "Value": f"v{i}"} for i in range(n)]


def test_object_tag_limits(s3, bucket):
    c = make_client(s3.url)
    c.put_object(Bucket=bucket, Key="obj", Body=b"x")
    ten = [{"Key": f"{i:03d}" + "k" * 125, "Value": "v" * 256} for i in range(10)]
    c.put_object_tagging(Bucket=bucket, Key="obj", Tagging={"TagSet": ten})
    assert c.get_object_tagging(Bucket=bucket, Key="obj")["TagSet"] == ten
    assert c.head_object(Bucket=bucket, Key="obj")["ResponseMetadata"]["HTTPHeaders"]["x-amz-tagging-count"] == "10"
    c.delete_object_tagging(Bucket=bucket, Key="obj")
    cases = {
        "eleven tags": _tags(11),
        "key of 129": [{"Key": "k" * 129, "Value": "v"}],
        "value of 257": [{"Key": "k", "Value": "v" * 257}],
        "duplicate key": [{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}],
        "aws: prefix": [{"Key": "aws:reserved", "Value": "v"}],
    }
    for what, tags in cases.items():
        assert error_code(c.put_object_tagging, Bucket=bucket, Key="obj", Tagging={"TagSet": tags}) == "InvalidTag", \
            what
    assert c.get_object_tagging(Bucket=bucket, Key="obj")["TagSet"] == []
    assert error_code(c.put_object_tagging, Bucket=bucket, Key="missing",
                      Tagging={"TagSet": _tags(1)}) == "NoSuchKey"


def test_x_amz_tagging_on_put_validated(s3, bucket):
    c = make_client(s3.url)
    c.put_object(Bucket=bucket, Key="ok", Body=b"x", Tagging="a=1&b=two%20words")
    head = c.head_object(Bucket=bucket, Key="ok")
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-tagging-count"] == "2"
    assert c.get_object(Bucket=bucket, Key="ok")["TagCount"] == 2
    assert c.get_object_tagging(Bucket=bucket, Key="ok")["TagSet"] == [{"Key": "a", "Value": "1"},
                                                                       {"Key": "b", "Value": "two words"}]
    # a tag set is answered in key order, whatever order it was sent in (a key without '=' has an empty value)
    c.put_object(Bucket=bucket, Key="unordered", Body=b"x", Tagging="foo=bar&bar")
    assert c.get_object_tagging(Bucket=bucket, Key="unordered")["TagSet"] == [{"Key": "bar", "Value": ""},
                                                                              {"Key": "foo", "Value": "bar"}]
    too_many = "&".join(f"k{i}=v" for i in range(11))
    assert error_code(c.put_object, Bucket=bucket, Key="bad", Body=b"x", Tagging=too_many) == "InvalidTag"
    assert error_code(c.put_object, Bucket=bucket, Key="bad", Body=b"x", Tagging="k=" + "v" * 257) == "InvalidTag"
    assert error_code(c.head_object, Bucket=bucket, Key="bad") == "404"
    c.put_object(Bucket=bucket, Key="plain", Body=b"x")
    assert "x-amz-tagging-count" not in c.head_object(Bucket=bucket, Key="plain")["ResponseMetadata"]["HTTPHeaders"]


def test_copy_tagging_directive(s3, bucket):
    c = make_client(s3.url)
    c.put_object(Bucket=bucket, Key="src", Body=b"data", Tagging="from=source", Metadata={"m": "1"})
    src = {"Bucket": bucket, "Key": "src"}
    c.copy_object(Bucket=bucket, Key="copied", CopySource=src)
    assert c.get_object_tagging(Bucket=bucket, Key="copied")["TagSet"] == [{"Key": "from", "Value": "source"}]
    c.copy_object(Bucket=bucket, Key="replaced", CopySource=src, TaggingDirective="REPLACE", Tagging="new=tag")
    assert c.get_object_tagging(Bucket=bucket, Key="replaced")["TagSet"] == [{"Key": "new", "Value": "tag"}]
    c.copy_object(Bucket=bucket, Key="untagged", CopySource=src, TaggingDirective="REPLACE")
    assert c.get_object_tagging(Bucket=bucket, Key="untagged")["TagSet"] == []
    # metadata REPLACE does not replace the tags: the tagging directive decides them
    c.copy_object(Bucket=bucket, Key="meta", CopySource=src, MetadataDirective="REPLACE", Metadata={"m": "2"},
                  Tagging="ignored=yes")
    assert c.get_object_tagging(Bucket=bucket, Key="meta")["TagSet"] == [{"Key": "from", "Value": "source"}]
    assert error_code(c.copy_object, Bucket=bucket, Key="x", CopySource=src, TaggingDirective="REPLACE",
                      Tagging="&".join(f"k{i}=v" for i in range(11))) == "InvalidTag"


def test_multipart_carries_tagging(s3, bucket):
    c = make_client(s3.url)
    up = c.create_multipart_upload(Bucket=bucket, Key="mp", Tagging="a=1&b=2")
    part = c.upload_part(Bucket=bucket, Key="mp", UploadId=up["UploadId"], PartNumber=1, Body=b"x" * 10)
    c.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up["UploadId"],
                                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert c.get_object_tagging(Bucket=bucket, Key="mp")["TagSet"] == [{"Key": "a", "Value": "1"},
                                                                       {"Key": "b", "Value": "2"}]
    assert c.head_object(Bucket=bucket, Key="mp")["ResponseMetadata"]["HTTPHeaders"]["x-amz-tagging-count"] == "2"
    assert error_code(c.create_multipart_upload, Bucket=bucket, Key="mp2", Tagging="k=" + "v" * 300) == "InvalidTag"


def test_bucket_tagging(s3, bucket):
    c = make_client(s3.url)
    assert error_code(c.get_bucket_tagging, Bucket=bucket) == "NoSuchTagSet"
    tags = [{"Key": f"k{i}", "Value": f"v{i}"} for i in range(50)]
    resp = c.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tags})
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    in_key_order = sorted(tags, key=lambda tag: tag["Key"])  # k0, k1, k10, ...
    assert c.get_bucket_tagging(Bucket=bucket)["TagSet"] == in_key_order
    assert error_code(c.put_bucket_tagging, Bucket=bucket,
                      Tagging={"TagSet": tags + [{"Key": "one", "Value": "more"}]}) == "InvalidTag"
    assert error_code(c.put_bucket_tagging, Bucket=bucket,
                      Tagging={"TagSet": [{"Key": "k" * 129, "Value": "v"}]}) == "InvalidTag"
    assert c.get_bucket_tagging(Bucket=bucket)["TagSet"] == in_key_order
    assert c.delete_bucket_tagging(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert error_code(c.get_bucket_tagging, Bucket=bucket) == "NoSuchTagSet"
    assert error_code(c.get_bucket_tagging, Bucket="no-such-bucket-here") == "NoSuchBucket"


@pytest.mark.parametrize("body", [b"<Tagging><TagSet><Tag><Key>k</Key></Tag></TagSet></Tagging>", b"not xml"])
def test_malformed_tagging_document(s3, bucket, body):
    c = make_client(s3.url)
    c.put_object(Bucket=bucket, Key="obj", Body=b"x")

    def send(request, **_):
        request.data = body
        for name in ("Content-MD5", "x-amz-checksum-crc32", "x-amz-sdk-checksum-algorithm"):
            del request.headers[name]

    c.meta.events.register("before-sign.s3.PutObjectTagging", send)
    assert error_code(c.put_object_tagging, Bucket=bucket, Key="obj", Tagging={"TagSet": []}) == "MalformedXML"


def test_document_checksums_verified(s3, bucket):
    """The checksum botocore sends with a tagging document (and a Content-MD5) must match the body."""
    c = make_client(s3.url)
    c.put_object(Bucket=bucket, Key="obj", Body=b"x")

    def corrupt(request, **_):
        request.data = request.body.replace(b"<Value>v</Value>", b"<Value>w</Value>")

    c.meta.events.register("before-sign.s3.PutObjectTagging", corrupt)
    assert error_code(c.put_object_tagging, Bucket=bucket, Key="obj",
                      Tagging={"TagSet": [{"Key": "k", "Value": "v"}]}) == "BadDigest"
    assert make_client(s3.url).get_object_tagging(Bucket=bucket, Key="obj")["TagSet"] == []


def test_tagging_a_multipart_object_keeps_it_whole(s3, bucket):
    c = make_client(s3.url)
    parts = [os.urandom(5 * 1024 * 1024), b"tail"]
    up = c.create_multipart_upload(Bucket=bucket, Key="mp", ChecksumAlgorithm="CRC32")
    done = [{"PartNumber": n, "ETag": c.upload_part(Bucket=bucket, Key="mp", UploadId=up["UploadId"], PartNumber=n,
                                                    Body=d, ChecksumAlgorithm="CRC32")["ETag"]}
            for n, d in enumerate(parts, 1)]
    complete = c.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up["UploadId"],
                                           MultipartUpload={"Parts": done})
    c.put_object_tagging(Bucket=bucket, Key="mp", Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})
    got = c.get_object(Bucket=bucket, Key="mp", ChecksumMode="ENABLED")
    assert got["Body"].read() == b"".join(parts)
    assert got["ETag"] == complete["ETag"] and got["TagCount"] == 1
    assert got["ChecksumCRC32"] == complete["ChecksumCRC32"]
    assert c.get_object(Bucket=bucket, Key="mp", PartNumber=2)["Body"].read() == b"tail"


def test_tagging_header_key_without_value(s3, bucket):
    c = make_client(s3.url)
    c.put_object(Bucket=bucket, Key="bare", Body=b"x", Tagging="foo=bar&bar")
    tags = sorted((t["Key"], t["Value"]) for t in c.get_object_tagging(Bucket=bucket, Key="bare")["TagSet"])
    assert tags == [("bar", ""), ("foo", "bar")]
