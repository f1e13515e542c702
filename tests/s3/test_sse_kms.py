"""SSE-KMS (``aws:kms``) with the built-in KMS, end to end (boto3 against a real cloud whose ``[s3] kms_keys``
names ``testkey-1`` and ``testkey-2``): PutObject, GET/HEAD, ranges, CopyObject re-keying, multipart uploads,
bucket default encryption, encryption context, bucket policy condition keys, unknown keys."""

from __future__ import annotations

import base64
import hashlib
import json
import os

import pytest

from tests.harness import Cluster
from tests.s3.conftest import cleanup, make_client
from tests.s3.test_sse import data_files, error_status

MB = 1024 * 1024
KEY_1, KEY_2 = "testkey-1", "testkey-2"


@pytest.fixture(scope="module")
def kms_cluster(tmp_path_factory):
    cluster = Cluster.object_store_only(tmp_path_factory.mktemp("kms"),
                                        s3={"kms_keys": [KEY_1, KEY_2]}).start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def c(kms_cluster):
    return make_client(kms_cluster.proxy_url)


@pytest.fixture
def bucket(c, request):
    name = f"kms-{os.urandom(4).hex()}-{request.node.name[5:30].lower().replace('_', '-')}".rstrip("-")
    c.create_bucket(Bucket=name)
    yield name
    cleanup(c, name)


def _kms_headers(response: dict) -> dict[str, str]:
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    return {k: v for k, v in headers.items() if k.startswith("x-amz-server-side-encryption")}


def test_put_get_head_with_a_named_key(kms_cluster, c, bucket):
    body = b"KMS-PLAINTEXT-" * 20_000 + os.urandom(333)
    put = c.put_object(Bucket=bucket, Key="obj", Body=body, ServerSideEncryption="aws:kms", SSEKMSKeyId=KEY_1)
    assert put["ServerSideEncryption"] == "aws:kms" and put["SSEKMSKeyId"] == KEY_1
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'  # as AWS for SSE-KMS single-part objects
    got = c.get_object(Bucket=bucket, Key="obj")
    assert got["Body"].read() == body
    assert got["ServerSideEncryption"] == "aws:kms" and got["SSEKMSKeyId"] == KEY_1
    assert got["ETag"] == put["ETag"]
    head = c.head_object(Bucket=bucket, Key="obj")
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == KEY_1
    assert "BucketKeyEnabled" not in head
    assert c.get_object(Bucket=bucket, Key="obj", Range="bytes=17-70000")["Body"].read() == body[17:70001]
    assert c.list_objects_v2(Bucket=bucket)["Contents"][0]["ETag"] == put["ETag"]
    raws = data_files(kms_cluster, bucket, "obj")
    assert raws and all(b"KMS-PLAINTEXT-" not in raw for raw in raws)
    # a key ARN or an alias names the same key
    arn = f"arn:aws:kms:us-east-1:123456789012:key/{KEY_2}"
    put2 = c.put_object(Bucket=bucket, Key="arn", Body=b"a", ServerSideEncryption="aws:kms", SSEKMSKeyId=arn)
    assert put2["SSEKMSKeyId"] == KEY_2
    assert c.get_object(Bucket=bucket, Key="arn")["Body"].read() == b"a"


def test_default_key_unknown_key_and_conflicts(c, bucket):
    put = c.put_object(Bucket=bucket, Key="dflt", Body=b"default key", ServerSideEncryption="aws:kms")
    assert put["ServerSideEncryption"] == "aws:kms" and put["SSEKMSKeyId"] == "aws/s3"
    assert c.get_object(Bucket=bucket, Key="dflt")["Body"].read() == b"default key"
    assert error_status(c.put_object, Bucket=bucket, Key="x", Body=b"x", ServerSideEncryption="aws:kms",
                        SSEKMSKeyId="no-such-key") == (400, "KMS.NotFoundException")
    assert error_status(c.put_object, Bucket=bucket, Key="x", Body=b"x", ServerSideEncryption="aws:kms:dsse",
                        SSEKMSKeyId=KEY_1) == (501, "NotImplemented")
    assert error_status(c.put_object, Bucket=bucket, Key="x", Body=b"x", ServerSideEncryption="AES256",
                        SSEKMSKeyId=KEY_1) == (400, "InvalidArgument")
    assert error_status(c.put_object, Bucket=bucket, Key="x", Body=b"x", ServerSideEncryption="aws:kms",
                        SSEKMSKeyId=KEY_1, SSECustomerAlgorithm="AES256",
                        SSECustomerKey=os.urandom(32)) == (400, "InvalidArgument")
    assert error_status(c.head_object, Bucket=bucket, Key="x")[0] == 404  # nothing was written

    def add_kms(request, **_):
        request.headers["x-amz-server-side-encryption"] = "aws:kms"
        request.headers["x-amz-server-side-encryption-aws-kms-key-id"] = KEY_1

    c.meta.events.register("before-sign.s3.GetObject", add_kms)
    try:
        assert error_status(c.get_object, Bucket=bucket, Key="dflt") == (400, "InvalidArgument")
    finally:
        c.meta.events.unregister("before-sign.s3.GetObject", add_kms)


def test_encryption_context_and_bucket_key(c, bucket):
    context = base64.b64encode(json.dumps({"project": "kms-test"}).encode()).decode()
    put = c.put_object(Bucket=bucket, Key="ctx", Body=b"with context", ServerSideEncryption="aws:kms",
                       SSEKMSKeyId=KEY_1, SSEKMSEncryptionContext=context, BucketKeyEnabled=True)
    assert put["SSEKMSEncryptionContext"] == context and put["BucketKeyEnabled"] is True
    got = c.get_object(Bucket=bucket, Key="ctx")
    assert got["Body"].read() == b"with context" and got["BucketKeyEnabled"] is True
    for bad in ("not base64!", base64.b64encode(b"[1, 2]").decode(), base64.b64encode(b"{\"a\": 1}").decode()):
        assert error_status(c.put_object, Bucket=bucket, Key="bad", Body=b"x", ServerSideEncryption="aws:kms",
                            SSEKMSEncryptionContext=bad) == (400, "InvalidArgument"), bad


def test_copy_re_encrypts_to_another_key(c, bucket):
    body = os.urandom(100_000)
    c.put_object(Bucket=bucket, Key="src", Body=body, ServerSideEncryption="aws:kms", SSEKMSKeyId=KEY_1)
    copied = c.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"},
                           ServerSideEncryption="aws:kms", SSEKMSKeyId=KEY_2)
    assert copied["ServerSideEncryption"] == "aws:kms" and copied["SSEKMSKeyId"] == KEY_2
    got = c.get_object(Bucket=bucket, Key="dst")
    assert got["Body"].read() == body and got["SSEKMSKeyId"] == KEY_2
    # onto itself with another key (changing an object's encryption), then to SSE-S3, then plaintext
    c.copy_object(Bucket=bucket, Key="src", CopySource={"Bucket": bucket, "Key": "src"},
                  ServerSideEncryption="aws:kms", SSEKMSKeyId=KEY_2)
    assert c.head_object(Bucket=bucket, Key="src")["SSEKMSKeyId"] == KEY_2
    to_s3 = c.copy_object(Bucket=bucket, Key="s3", CopySource={"Bucket": bucket, "Key": "src"},
                          ServerSideEncryption="AES256")
    assert to_s3["ServerSideEncryption"] == "AES256" and "SSEKMSKeyId" not in to_s3
    head = c.head_object(Bucket=bucket, Key="s3")
    assert head["ServerSideEncryption"] == "AES256" and "SSEKMSKeyId" not in head
    c.copy_object(Bucket=bucket, Key="plain", CopySource={"Bucket": bucket, "Key": "src"})
    assert "ServerSideEncryption" not in c.head_object(Bucket=bucket, Key="plain")
    assert c.get_object(Bucket=bucket, Key="plain")["Body"].read() == body
    assert error_status(c.copy_object, Bucket=bucket, Key="bad", CopySource={"Bucket": bucket, "Key": "src"},
                        ServerSideEncryption="aws:kms", SSEKMSKeyId="nope") == (400, "KMS.NotFoundException")


def test_multipart_upload_with_a_kms_key(c, bucket):
    first, copied, last = b"PART-ONE-" * (5 * MB // 9 + 1), os.urandom(5 * MB + 7), b"LAST-PART" * 100
    c.put_object(Bucket=bucket, Key="copy-src", Body=copied)
    up = c.create_multipart_upload(Bucket=bucket, Key="mp", ServerSideEncryption="aws:kms", SSEKMSKeyId=KEY_2)
    assert up["ServerSideEncryption"] == "aws:kms" and up["SSEKMSKeyId"] == KEY_2
    done = []
    for number, data in ((1, first), (3, last)):
        r = c.upload_part(Bucket=bucket, Key="mp", UploadId=up["UploadId"], PartNumber=number, Body=data)
        assert r["ServerSideEncryption"] == "aws:kms" and r["SSEKMSKeyId"] == KEY_2
        done.append({"PartNumber": number, "ETag": r["ETag"]})
    pc = c.upload_part_copy(Bucket=bucket, Key="mp", UploadId=up["UploadId"], PartNumber=2,
                            CopySource={"Bucket": bucket, "Key": "copy-src"})
    assert pc["ServerSideEncryption"] == "aws:kms" and pc["SSEKMSKeyId"] == KEY_2
    done.insert(1, {"PartNumber": 2, "ETag": pc["CopyPartResult"]["ETag"]})
    fin = c.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up["UploadId"],
                                      MultipartUpload={"Parts": done})
    assert fin["ServerSideEncryption"] == "aws:kms" and fin["SSEKMSKeyId"] == KEY_2
    body = first + copied + last
    got = c.get_object(Bucket=bucket, Key="mp")
    assert got["Body"].read() == body and got["SSEKMSKeyId"] == KEY_2
    head = c.head_object(Bucket=bucket, Key="mp")
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == KEY_2
    start = len(first) - 100
    assert c.get_object(Bucket=bucket, Key="mp", Range=f"bytes={start}-{start + 300}")["Body"].read() \
        == body[start:start + 301]
    # a part may not bring SSE-C parameters to a KMS upload
    up2 = c.create_multipart_upload(Bucket=bucket, Key="mp2", ServerSideEncryption="aws:kms")
    assert error_status(c.upload_part, Bucket=bucket, Key="mp2", UploadId=up2["UploadId"], PartNumber=1,
                        Body=b"x", SSECustomerAlgorithm="AES256", SSECustomerKey=os.urandom(32))[0] == 400
    c.abort_multipart_upload(Bucket=bucket, Key="mp2", UploadId=up2["UploadId"])


def test_bucket_default_kms(c, bucket):
    rule = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KEY_1},
                       "BucketKeyEnabled": True}]}
    c.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=rule)
    conf = c.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert conf["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KEY_1}
    assert conf["BucketKeyEnabled"] is True
    put = c.put_object(Bucket=bucket, Key="inherits", Body=b"abc")
    assert put["ServerSideEncryption"] == "aws:kms" and put["SSEKMSKeyId"] == KEY_1 and put["BucketKeyEnabled"]
    head = c.head_object(Bucket=bucket, Key="inherits")
    assert head["SSEKMSKeyId"] == KEY_1 and head["BucketKeyEnabled"] is True
    up = c.create_multipart_upload(Bucket=bucket, Key="mp")
    assert up["SSEKMSKeyId"] == KEY_1
    part = c.upload_part(Bucket=bucket, Key="mp", UploadId=up["UploadId"], PartNumber=1, Body=b"only part")
    c.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up["UploadId"],
                                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert c.head_object(Bucket=bucket, Key="mp")["SSEKMSKeyId"] == KEY_1
    assert c.get_object(Bucket=bucket, Key="mp")["Body"].read() == b"only part"
    # an explicit request wins over the default
    assert c.put_object(Bucket=bucket, Key="s3", Body=b"x", ServerSideEncryption="AES256")[
        "ServerSideEncryption"] == "AES256"
    # aws:kms without a KMSMasterKeyID: the default key; a key the KMS lacks is accepted here, refused on write
    c.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]})
    assert c.put_object(Bucket=bucket, Key="dflt", Body=b"x")["SSEKMSKeyId"] == "aws/s3"
    c.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "gone"}}]})
    assert error_status(c.put_object, Bucket=bucket, Key="y", Body=b"y") == (400, "KMS.NotFoundException")
    bad = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256", "KMSMasterKeyID": KEY_1}}]}
    assert error_status(c.put_bucket_encryption, Bucket=bucket,
                        ServerSideEncryptionConfiguration=bad) == (400, "InvalidArgument")
    c.delete_bucket_encryption(Bucket=bucket)
    assert "ServerSideEncryption" not in c.put_object(Bucket=bucket, Key="after", Body=b"z")
    assert c.get_object(Bucket=bucket, Key="inherits")["Body"].read() == b"abc"


def _deny(bucket: str, condition: dict) -> dict:
    return {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/*",
            "Condition": condition}


def test_bucket_policy_condition_keys(c, bucket):
    policy = {"Version": "2012-10-17", "Statement": [
        _deny(bucket, {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}),
        _deny(bucket, {"Null": {"s3:x-amz-server-side-encryption": "true"}}),
        _deny(bucket, {"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption-aws-kms-key-id": KEY_1}}),
    ]}
    c.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    put = c.put_object(Bucket=bucket, Key="ok", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=KEY_1)
    assert put["SSEKMSKeyId"] == KEY_1
    assert error_status(c.put_object, Bucket=bucket, Key="plain", Body=b"x") == (403, "AccessDenied")
    assert error_status(c.put_object, Bucket=bucket, Key="s3", Body=b"x",
                        ServerSideEncryption="AES256") == (403, "AccessDenied")
    assert error_status(c.put_object, Bucket=bucket, Key="k2", Body=b"x", ServerSideEncryption="aws:kms",
                        SSEKMSKeyId=KEY_2) == (403, "AccessDenied")
    c.delete_bucket_policy(Bucket=bucket)


def test_post_object_with_kms_fields(kms_cluster, c, bucket):
    from types import SimpleNamespace

    from tests.s3.test_post_object import _post, _v4_fields

    conditions = [["starts-with", "$key", "foo"], ["starts-with", "$x-amz-server-side-encryption", ""],
                  ["starts-with", "$x-amz-server-side-encryption-aws-kms-key-id", ""]]
    fields = _v4_fields(conditions, bucket)
    fields.update({"key": "foo.txt", "x-amz-server-side-encryption": "aws:kms",
                   "x-amz-server-side-encryption-aws-kms-key-id": KEY_2})
    resp = _post(SimpleNamespace(url=kms_cluster.proxy_url), bucket, fields, data=b"bar")
    assert resp.status_code == 204, resp.text
    assert resp.headers["x-amz-server-side-encryption"] == "aws:kms"
    assert resp.headers["x-amz-server-side-encryption-aws-kms-key-id"] == KEY_2
    got = c.get_object(Bucket=bucket, Key="foo.txt")
    assert got["Body"].read() == b"bar" and got["SSEKMSKeyId"] == KEY_2


def test_versions_keep_their_kms_key(c, bucket):
    c.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    v1 = c.put_object(Bucket=bucket, Key="v", Body=b"one", ServerSideEncryption="aws:kms", SSEKMSKeyId=KEY_1)
    c.put_object(Bucket=bucket, Key="v", Body=b"two", ServerSideEncryption="aws:kms", SSEKMSKeyId=KEY_2)
    old = c.get_object(Bucket=bucket, Key="v", VersionId=v1["VersionId"])
    assert old["Body"].read() == b"one" and old["SSEKMSKeyId"] == KEY_1
    new = c.get_object(Bucket=bucket, Key="v")
    assert new["Body"].read() == b"two" and new["SSEKMSKeyId"] == KEY_2
    for version in c.list_object_versions(Bucket=bucket)["Versions"]:
        c.delete_object(Bucket=bucket, Key="v", VersionId=version["VersionId"])
