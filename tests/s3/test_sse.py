"""S3 server-side encryption end to end (boto3 against the real cloud): SSE-C, SSE-S3, bucket default
encryption; ciphertext on the nodes' disks, plaintext to clients."""

from __future__ import annotations

import base64
import hashlib
import os

import pytest
from botocore.exceptions import ClientError

from tests.durability.bg_helpers import Layout
from tests.s3.conftest import error_code, make_client

KEY_A = os.urandom(32)
KEY_B = os.urandom(32)
ACCOUNT = "AUTH_test"


def sse_c(key: bytes, copy_source: bool = False) -> dict[str, str]:
    """boto3 arguments for SSE-C with ``key`` (boto3 adds the key MD5 itself)."""
    prefix = "CopySource" if copy_source else ""
    return {f"{prefix}SSECustomerAlgorithm": "AES256", f"{prefix}SSECustomerKey": key}


def error_status(call, *args, **kwargs) -> tuple[int, str]:
    try:
        call(*args, **kwargs)
    except ClientError as err:
        return err.response["ResponseMetadata"]["HTTPStatusCode"], err.response["Error"]["Code"]
    return 200, ""


def data_files(cluster, bucket: str, key: str) -> list[bytes]:
    """The raw ``.data`` files of ``bucket/key`` on its primaries' disks."""
    layout = Layout(cluster)
    found = []
    for dev in layout.object.get_nodes(ACCOUNT, bucket, key)[1]:
        hdir = layout.hash_dir(dev, ACCOUNT, bucket, key)
        found += [p.read_bytes() for p in hdir.glob("*.data")]
    return found


@pytest.fixture
def s3c(s3):
    return make_client(s3.url)


def test_sse_c_round_trip_ranges_and_ciphertext_on_disk(s3, s3c, bucket):
    body = os.urandom(300_001) + b"PLAINTEXT-MARKER" * 64
    put = s3c.put_object(Bucket=bucket, Key="secret", Body=body, **sse_c(KEY_A))
    assert put["SSECustomerAlgorithm"] == "AES256"
    assert put["SSECustomerKeyMD5"] == base64.b64encode(hashlib.md5(KEY_A).digest()).decode()
    assert put["ETag"].strip('"') != hashlib.md5(body).hexdigest()  # AWS: not the MD5 of the data
    got = s3c.get_object(Bucket=bucket, Key="secret", **sse_c(KEY_A))
    assert got["Body"].read() == body
    assert got["ETag"] == put["ETag"] and got["SSECustomerAlgorithm"] == "AES256"
    head = s3c.head_object(Bucket=bucket, Key="secret", **sse_c(KEY_A))
    assert head["ContentLength"] == len(body) and head["ETag"] == put["ETag"]
    for first, last in ((0, 0), (1, 16), (15, 17), (4095, 70_001), (123_457, 299_999), (len(body) - 5, None)):
        rng = f"bytes={first}-{'' if last is None else last}"
        part = s3c.get_object(Bucket=bucket, Key="secret", Range=rng, **sse_c(KEY_A))["Body"].read()
        assert part == body[first:None if last is None else last + 1], rng
    listed = s3c.list_objects_v2(Bucket=bucket)["Contents"][0]
    assert listed["ETag"] == put["ETag"] and listed["Size"] == len(body)
    files = data_files(s3.cluster, bucket, "secret")
    assert len(files) >= 2
    for raw in files:
        assert b"PLAINTEXT-MARKER" not in raw and body[:4096] not in raw


def test_sse_c_key_refused_as_aws(s3c, bucket):
    s3c.put_object(Bucket=bucket, Key="k", Body=b"x" * 100, **sse_c(KEY_A))
    assert error_status(s3c.get_object, Bucket=bucket, Key="k") == (400, "InvalidRequest")
    assert error_status(s3c.head_object, Bucket=bucket, Key="k")[0] == 400
    assert error_status(s3c.get_object, Bucket=bucket, Key="k", **sse_c(KEY_B)) == (403, "AccessDenied")
    assert error_status(s3c.head_object, Bucket=bucket, Key="k", **sse_c(KEY_B))[0] == 403
    s3c.put_object(Bucket=bucket, Key="plain", Body=b"y")
    assert error_status(s3c.get_object, Bucket=bucket, Key="plain", **sse_c(KEY_A)) == (400, "InvalidRequest")


def _raw_put(s3c, bucket: str, key: str, headers: dict[str, str]) -> tuple[int, str]:
    def add(params, **_):
        params["headers"].update(headers)

    s3c.meta.events.register("before-call.s3.PutObject", add)
    try:
        return error_status(s3c.put_object, Bucket=bucket, Key=key, Body=b"data")
    finally:
        s3c.meta.events.unregister("before-call.s3.PutObject", add)


def test_sse_c_bad_headers(s3c, bucket):
    key = base64.b64encode(KEY_A).decode()
    md5 = base64.b64encode(hashlib.md5(KEY_A).digest()).decode()
    algo = "x-amz-server-side-encryption-customer-algorithm"
    cases = [
        {algo: "AES256"},  # no key
        {algo: "AES256", "x-amz-server-side-encryption-customer-key": key},  # no key MD5
        {"x-amz-server-side-encryption-customer-key": key,
         "x-amz-server-side-encryption-customer-key-md5": md5},  # no algorithm
        {algo: "AES256", "x-amz-server-side-encryption-customer-key": key,
         "x-amz-server-side-encryption-customer-key-md5": base64.b64encode(b"0" * 16).decode()},  # wrong MD5
        {algo: "AES256", "x-amz-server-side-encryption-customer-key": base64.b64encode(b"short").decode(),
         "x-amz-server-side-encryption-customer-key-md5": base64.b64encode(hashlib.md5(b"short").digest()).decode()},
    ]
    for headers in cases:
        assert _raw_put(s3c, bucket, "bad", headers) == (400, "InvalidArgument"), headers
    assert _raw_put(s3c, bucket, "bad", {"x-amz-server-side-encryption": "AES128"}) == (400, "InvalidArgument")
    assert _raw_put(s3c, bucket, "bad", {"x-amz-server-side-encryption": "aws:kms:dsse"}) == (501, "NotImplemented")
    assert _raw_put(s3c, bucket, "bad", {"x-amz-server-side-encryption": "aws:kms",  # a key the KMS lacks
                                         "x-amz-server-side-encryption-aws-kms-key-id": "no-such-key"}) \
        == (400, "KMS.NotFoundException")
    assert error_code(s3c.head_object, Bucket=bucket, Key="bad") == "404"


def test_sse_s3_explicit(s3, s3c, bucket):
    body = b"sse-s3 body " * 10_000
    put = s3c.put_object(Bucket=bucket, Key="s3", Body=body, ServerSideEncryption="AES256")
    assert put["ServerSideEncryption"] == "AES256"
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    got = s3c.get_object(Bucket=bucket, Key="s3")
    assert got["Body"].read() == body and got["ServerSideEncryption"] == "AES256"
    assert got["ETag"] == put["ETag"]
    assert s3c.head_object(Bucket=bucket, Key="s3")["ServerSideEncryption"] == "AES256"
    rng = s3c.get_object(Bucket=bucket, Key="s3", Range="bytes=7-30000")["Body"].read()
    assert rng == body[7:30001]
    assert s3c.list_objects_v2(Bucket=bucket)["Contents"][0]["ETag"] == put["ETag"]
    for raw in data_files(s3.cluster, bucket, "s3"):
        assert b"sse-s3 body" not in raw
    plain = s3c.put_object(Bucket=bucket, Key="plain", Body=b"p")
    assert "ServerSideEncryption" not in plain
    assert "ServerSideEncryption" not in s3c.head_object(Bucket=bucket, Key="plain")


def test_bucket_default_encryption(s3c, bucket):
    assert error_code(s3c.get_bucket_encryption, Bucket=bucket) == "ServerSideEncryptionConfigurationNotFoundError"
    rule = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
    s3c.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=rule)
    conf = s3c.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    assert conf["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    put = s3c.put_object(Bucket=bucket, Key="inherits", Body=b"abc")
    assert put["ServerSideEncryption"] == "AES256"
    assert s3c.get_object(Bucket=bucket, Key="inherits")["Body"].read() == b"abc"
    parts = [os.urandom(5 * MB), b"rest"]
    done = _multipart(s3c, bucket, "mp-inherits", parts, {}, {})
    assert done["ServerSideEncryption"] == "AES256"
    got = s3c.get_object(Bucket=bucket, Key="mp-inherits")
    assert got["ServerSideEncryption"] == "AES256" and got["Body"].read() == b"".join(parts)
    s3c.copy_object(Bucket=bucket, Key="copied-in", CopySource={"Bucket": bucket, "Key": "inherits"})
    assert s3c.head_object(Bucket=bucket, Key="copied-in")["ServerSideEncryption"] == "AES256"
    kms = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms:dsse"}}]}  # aws:kms: test_sse_kms
    assert error_code(s3c.put_bucket_encryption, Bucket=bucket, ServerSideEncryptionConfiguration=kms) \
        == "NotImplemented"
    s3c.delete_bucket_encryption(Bucket=bucket)
    assert error_code(s3c.get_bucket_encryption, Bucket=bucket) == "ServerSideEncryptionConfigurationNotFoundError"
    assert "ServerSideEncryption" not in s3c.put_object(Bucket=bucket, Key="after", Body=b"abc")
    assert s3c.head_object(Bucket=bucket, Key="inherits")["ServerSideEncryption"] == "AES256"


MB = 1024 * 1024


def _multipart(s3c, bucket: str, key: str, parts: list[bytes], create: dict, part_args: dict) -> dict:
    up = s3c.create_multipart_upload(Bucket=bucket, Key=key, **create)
    done = []
    for number, data in enumerate(parts, start=1):
        r = s3c.upload_part(Bucket=bucket, Key=key, UploadId=up["UploadId"], PartNumber=number, Body=data,
                            **part_args)
        done.append({"PartNumber": number, "ETag": r["ETag"]})
    return s3c.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up["UploadId"],
                                         MultipartUpload={"Parts": done})


def test_sse_c_multipart_ranges_across_parts(s3, s3c, bucket):
    parts = [os.urandom(5 * MB), os.urandom(5 * MB + 3), b"TAIL-OF-THE-UPLOAD" * 1000]
    body = b"".join(parts)
    up = s3c.create_multipart_upload(Bucket=bucket, Key="mp", **sse_c(KEY_A))
    assert up["SSECustomerAlgorithm"] == "AES256"
    uid = up["UploadId"]
    # a part without the key, or with another key, is refused
    assert error_status(s3c.upload_part, Bucket=bucket, Key="mp", UploadId=uid, PartNumber=1,
                        Body=b"x")[0] == 400
    assert error_status(s3c.upload_part, Bucket=bucket, Key="mp", UploadId=uid, PartNumber=1, Body=b"x",
                        **sse_c(KEY_B))[0] == 400
    done = []
    for number, data in enumerate(parts, start=1):
        r = s3c.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=number, Body=data, **sse_c(KEY_A))
        assert r["SSECustomerAlgorithm"] == "AES256"
        done.append({"PartNumber": number, "ETag": r["ETag"]})
    listed = s3c.list_parts(Bucket=bucket, Key="mp", UploadId=uid)["Parts"]
    assert [p["ETag"] for p in listed] == [p["ETag"] for p in done]
    s3c.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid, MultipartUpload={"Parts": done})
    assert error_status(s3c.get_object, Bucket=bucket, Key="mp") == (400, "InvalidRequest")
    assert error_status(s3c.get_object, Bucket=bucket, Key="mp", **sse_c(KEY_B)) == (403, "AccessDenied")
    head = s3c.head_object(Bucket=bucket, Key="mp", **sse_c(KEY_A))
    assert head["ContentLength"] == len(body) and head["SSECustomerAlgorithm"] == "AES256"
    assert s3c.get_object(Bucket=bucket, Key="mp", **sse_c(KEY_A))["Body"].read() == body
    for first, last in ((5 * MB - 7, 5 * MB + 9), (3, 10 * MB + 100), (10 * MB + 2, 10 * MB + 5)):
        got = s3c.get_object(Bucket=bucket, Key="mp", Range=f"bytes={first}-{last}", **sse_c(KEY_A))
        assert got["Body"].read() == body[first:last + 1]
    for raw in data_files(s3.cluster, f"{bucket}+segments", f"mp/{uid}/00003"):
        assert b"TAIL-OF-THE-UPLOAD" not in raw


def test_sse_s3_multipart(s3c, bucket):
    parts = [os.urandom(5 * MB), b"last part" * 100]
    done = _multipart(s3c, bucket, "mp3", parts, {"ServerSideEncryption": "AES256"}, {})
    assert done["ServerSideEncryption"] == "AES256"
    md5s = b"".join(hashlib.md5(p).digest() for p in parts)
    assert done["ETag"] == f'"{hashlib.md5(md5s).hexdigest()}-2"'
    got = s3c.get_object(Bucket=bucket, Key="mp3")
    assert got["ServerSideEncryption"] == "AES256" and got["Body"].read() == b"".join(parts)
    assert s3c.list_objects_v2(Bucket=bucket)["Contents"][0]["ETag"] == done["ETag"]


def test_copy_re_keys(s3, s3c, bucket):
    body = os.urandom(200_000) + b"COPY-MARKER" * 100
    s3c.put_object(Bucket=bucket, Key="src", Body=body, **sse_c(KEY_A))
    src = {"Bucket": bucket, "Key": "src"}
    # the source key is needed, and must be the right one
    assert error_status(s3c.copy_object, Bucket=bucket, Key="dst", CopySource=src)[0] == 400
    assert error_status(s3c.copy_object, Bucket=bucket, Key="dst", CopySource=src,
                        **sse_c(KEY_B, copy_source=True))[0] == 403
    # SSE-C (key A) → SSE-C (key B)
    r = s3c.copy_object(Bucket=bucket, Key="dst", CopySource=src, **sse_c(KEY_A, copy_source=True), **sse_c(KEY_B))
    assert r["SSECustomerAlgorithm"] == "AES256"
    assert error_status(s3c.get_object, Bucket=bucket, Key="dst", **sse_c(KEY_A))[0] == 403
    assert s3c.get_object(Bucket=bucket, Key="dst", **sse_c(KEY_B))["Body"].read() == body
    # SSE-C → SSE-S3, then SSE-S3 → plaintext object of another key
    r = s3c.copy_object(Bucket=bucket, Key="dst2", CopySource=src, ServerSideEncryption="AES256",
                        **sse_c(KEY_A, copy_source=True))
    assert r["ServerSideEncryption"] == "AES256"
    assert r["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    assert s3c.get_object(Bucket=bucket, Key="dst2")["Body"].read() == body
    s3c.copy_object(Bucket=bucket, Key="dst3", CopySource={"Bucket": bucket, "Key": "dst2"})
    got = s3c.get_object(Bucket=bucket, Key="dst3")
    assert got["Body"].read() == body and "ServerSideEncryption" not in got
    # copying an object onto itself to change its encryption is allowed
    s3c.copy_object(Bucket=bucket, Key="dst3", CopySource={"Bucket": bucket, "Key": "dst3"}, **sse_c(KEY_A))
    assert s3c.get_object(Bucket=bucket, Key="dst3", **sse_c(KEY_A))["Body"].read() == body
    for name in ("dst", "dst2", "dst3"):
        for raw in data_files(s3.cluster, bucket, name):
            assert b"COPY-MARKER" not in raw


def test_upload_part_copy_decrypts_and_re_encrypts(s3c, bucket):
    body = os.urandom(6 * MB)
    s3c.put_object(Bucket=bucket, Key="src", Body=body, **sse_c(KEY_A))
    up = s3c.create_multipart_upload(Bucket=bucket, Key="assembled", **sse_c(KEY_B))
    uid, src = up["UploadId"], {"Bucket": bucket, "Key": "src"}
    p1 = s3c.upload_part_copy(Bucket=bucket, Key="assembled", UploadId=uid, PartNumber=1, CopySource=src,
                              CopySourceRange=f"bytes=0-{5 * MB - 1}", **sse_c(KEY_A, copy_source=True),
                              **sse_c(KEY_B))
    p2 = s3c.upload_part_copy(Bucket=bucket, Key="assembled", UploadId=uid, PartNumber=2, CopySource=src,
                              CopySourceRange=f"bytes={5 * MB}-{6 * MB - 1}", **sse_c(KEY_A, copy_source=True),
                              **sse_c(KEY_B))
    parts = [{"PartNumber": 1, "ETag": p1["CopyPartResult"]["ETag"]},
             {"PartNumber": 2, "ETag": p2["CopyPartResult"]["ETag"]}]
    s3c.complete_multipart_upload(Bucket=bucket, Key="assembled", UploadId=uid, MultipartUpload={"Parts": parts})
    assert s3c.get_object(Bucket=bucket, Key="assembled", **sse_c(KEY_B))["Body"].read() == body


def test_awscli_sse_c_multipart_copy_and_sse_s3(s3, s3c, bucket, tmp_path):
    from tests.s3.test_clients import _aws, _aws_env, _run

    env = _aws_env(tmp_path)
    aws = _aws() + ["--endpoint-url", s3.url]
    key_a, key_b = tmp_path / "key-a", tmp_path / "key-b"
    key_a.write_bytes(KEY_A)
    key_b.write_bytes(KEY_B)
    src = tmp_path / "big.bin"
    body = os.urandom(17 * MB + 5)  # above awscli's 8 MiB threshold: a multipart upload
    src.write_bytes(body)
    with_a = ["--sse-c", "AES256", "--sse-c-key", f"fileb://{key_a}"]
    with_b = ["--sse-c", "AES256", "--sse-c-key", f"fileb://{key_b}"]
    _run(aws + ["s3", "cp", str(src), f"s3://{bucket}/big.bin", *with_a], env)
    out = tmp_path / "out.bin"
    _run(aws + ["s3", "cp", f"s3://{bucket}/big.bin", str(out), *with_a], env)
    assert out.read_bytes() == body
    _run(aws + ["s3", "cp", f"s3://{bucket}/big.bin", f"s3://{bucket}/rekeyed.bin", "--sse-c-copy-source", "AES256",
                "--sse-c-copy-source-key", f"fileb://{key_a}", *with_b], env)
    out.unlink()
    _run(aws + ["s3", "cp", f"s3://{bucket}/rekeyed.bin", str(out), *with_b], env)
    assert out.read_bytes() == body
    assert error_status(s3c.head_object, Bucket=bucket, Key="rekeyed.bin", **sse_c(KEY_A))[0] == 403
    small = tmp_path / "small.txt"
    small.write_bytes(b"sse-s3 through awscli")
    _run(aws + ["s3", "cp", str(small), f"s3://{bucket}/small.txt", "--sse", "AES256"], env)
    head = _run(aws + ["s3api", "head-object", "--bucket", bucket, "--key", "small.txt"], env)
    assert '"ServerSideEncryption": "AES256"' in head.stdout


def _segments(cluster, bucket: str) -> list[str]:
    """The names in the bucket's hidden segments container (parts and upload markers), through Swift."""
    import httpx

    url, token = cluster.auth()
    resp = httpx.get(f"{url}/{bucket}+segments", params={"format": "json"}, headers={"X-Auth-Token": token})
    return [row["name"] for row in resp.json()] if resp.status_code == 200 else []


def test_sse_c_objects_are_overwritten_and_deleted_without_the_key(s3, s3c, bucket):
    """Internal looks at an SSE-C object (the parts of a multipart one, If-None-Match) need no key."""
    _multipart(s3c, bucket, "mpc", [os.urandom(5 * MB), b"end"], sse_c(KEY_A), sse_c(KEY_A))
    assert len(_segments(s3.cluster, bucket)) == 2
    s3c.put_object(Bucket=bucket, Key="mpc", Body=b"plain now")  # an overwrite releases the old parts
    assert _segments(s3.cluster, bucket) == []
    _multipart(s3c, bucket, "mpc", [os.urandom(5 * MB), b"end"], sse_c(KEY_A), sse_c(KEY_A))
    s3c.delete_object(Bucket=bucket, Key="mpc")  # so does a delete
    assert _segments(s3.cluster, bucket) == []
    s3c.put_object(Bucket=bucket, Key="one", Body=b"x", **sse_c(KEY_A))

    def conditional(params, **_):
        params["headers"]["If-None-Match"] = "*"

    s3c.meta.events.register("before-call.s3.PutObject", conditional)
    try:
        assert error_status(s3c.put_object, Bucket=bucket, Key="one", Body=b"y")[0] == 412
    finally:
        s3c.meta.events.unregister("before-call.s3.PutObject", conditional)
    assert s3c.get_object(Bucket=bucket, Key="one", **sse_c(KEY_A))["Body"].read() == b"x"


def test_swift_reads_and_copies_sse_s3_objects(s3, s3c, bucket):
    """The Swift API reads an SSE-S3 object decrypted; its copy (encryption off) is plain, with its own ETag."""
    import httpx

    body = os.urandom(90_000)
    s3c.put_object(Bucket=bucket, Key="enc", Body=body, ServerSideEncryption="AES256")
    url, token = s3.cluster.auth()
    with httpx.Client(headers={"X-Auth-Token": token}, timeout=30) as swift:
        got = swift.get(f"{url}/{bucket}/enc")
        assert got.content == body and got.headers["Etag"] == hashlib.md5(body).hexdigest()
        part = swift.get(f"{url}/{bucket}/enc", headers={"Range": "bytes=100-200"})
        assert part.status_code == 206 and part.content == body[100:201]
        copied = swift.put(f"{url}/{bucket}/copy", headers={"X-Copy-From": f"{bucket}/enc"})
        assert copied.status_code == 201
        assert swift.get(f"{url}/{bucket}/ssec").status_code == 404
        s3c.put_object(Bucket=bucket, Key="ssec", Body=b"c", **sse_c(KEY_A))
        assert swift.get(f"{url}/{bucket}/ssec").status_code == 400  # SSE-C: only S3 with the key reads it
        # ...but it exists: a conditional Swift PUT does not overwrite it
        assert swift.put(f"{url}/{bucket}/ssec", content=b"d", headers={"If-None-Match": "*"}).status_code == 412
    head = s3c.head_object(Bucket=bucket, Key="copy")
    assert "ServerSideEncryption" not in head and head["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    rows = {o["Key"]: o for o in s3c.list_objects_v2(Bucket=bucket)["Contents"]}
    assert rows["copy"]["ETag"] == head["ETag"] and rows["copy"]["Size"] == len(body)
    for raw in data_files(s3.cluster, bucket, "copy"):
        assert body[:5000] in raw  # encryption off: the copy is stored in clear (a Swift copy asks no SSE)


def test_content_md5_checked_on_the_plaintext(s3c, bucket):
    body = b"checked before encryption"
    good = base64.b64encode(hashlib.md5(body).digest()).decode()
    s3c.put_object(Bucket=bucket, Key="ok", Body=body, ContentMD5=good, **sse_c(KEY_A))
    bad = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    assert error_status(s3c.put_object, Bucket=bucket, Key="bad", Body=body, ContentMD5=bad,
                        ServerSideEncryption="AES256") == (400, "BadDigest")
    assert error_code(s3c.head_object, Bucket=bucket, Key="bad") == "404"


def test_tagging_an_sse_c_object_needs_no_key(s3c, bucket):
    s3c.put_object(Bucket=bucket, Key="tagged", Body=b"body", Metadata={"m": "v"}, **sse_c(KEY_A))
    s3c.put_object_tagging(Bucket=bucket, Key="tagged", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    assert s3c.get_object_tagging(Bucket=bucket, Key="tagged")["TagSet"] == [{"Key": "k", "Value": "v"}]
    got = s3c.get_object(Bucket=bucket, Key="tagged", **sse_c(KEY_A))
    assert got["Body"].read() == b"body" and got["Metadata"] == {"m": "v"} and got["TagCount"] == 1
    assert error_status(s3c.get_object, Bucket=bucket, Key="tagged") == (400, "InvalidRequest")


def test_listing_etags_of_encrypted_objects_match_head(s3, bucket):
    """Container listings (ListObjects, ListObjectsV2, ListObjectVersions, Swift) show the ETag HEAD shows
    for SSE-S3 and bucket-default objects, however they were written or changed since."""
    import httpx

    c = make_client(s3.url)
    body = os.urandom(70_000)
    c.put_object(Bucket=bucket, Key="put", Body=body, ServerSideEncryption="AES256")
    c.copy_object(Bucket=bucket, Key="copy-sse", CopySource={"Bucket": bucket, "Key": "put"},
                  ServerSideEncryption="AES256")
    c.copy_object(Bucket=bucket, Key="copy-plain", CopySource={"Bucket": bucket, "Key": "put"})
    c.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    c.put_object(Bucket=bucket, Key="default", Body=body)
    c.copy_object(Bucket=bucket, Key="default", CopySource={"Bucket": bucket, "Key": "default"},
                  MetadataDirective="REPLACE", Metadata={"a": "b"})
    c.put_object_tagging(Bucket=bucket, Key="put", Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})
    up = c.create_multipart_upload(Bucket=bucket, Key="mp", ServerSideEncryption="AES256")["UploadId"]
    etag = c.upload_part(Bucket=bucket, Key="mp", UploadId=up, PartNumber=1, Body=body)["ETag"]
    c.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up,
                                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    url, token = s3.cluster.auth()
    auth = {"X-Auth-Token": token}
    assert httpx.post(f"{url}/{bucket}/copy-sse", headers={**auth, "Content-Type": "text/new"}).status_code == 202
    c.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    c.put_object(Bucket=bucket, Key="ver", Body=body)
    c.put_object(Bucket=bucket, Key="ver", Body=body[:-1])
    keys = ("put", "copy-sse", "copy-plain", "default", "mp", "ver")
    heads = {k: c.head_object(Bucket=bucket, Key=k)["ETag"] for k in keys}
    assert heads["put"] == f'"{hashlib.md5(body).hexdigest()}"'
    assert {o["Key"]: o["ETag"] for o in c.list_objects_v2(Bucket=bucket)["Contents"]} == heads
    assert {o["Key"]: o["ETag"] for o in c.list_objects(Bucket=bucket)["Contents"]} == heads
    swift = httpx.get(f"{url}/{bucket}", params={"format": "json"}, headers=auth).json()
    # (a multipart object's Swift row is its manifest's, with the S3 ETag as a parameter, as Swift's s3api)
    assert {r["name"]: f'"{r["hash"]}"' for r in swift if r["name"] != "mp"} == {
        k: v for k, v in heads.items() if k != "mp"}
    for version in c.list_object_versions(Bucket=bucket)["Versions"]:
        head = c.head_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])
        assert version["ETag"] == head["ETag"], version


def test_sse_headers_that_do_not_apply_are_refused(s3c, bucket):
    """As AWS: a KMS key id without ``aws:kms`` (alone or with AES256) is 400 InvalidArgument, and GET/HEAD
    naming a server-side encryption is 400 (the object's own encryption applies)."""
    s3c.put_object(Bucket=bucket, Key="plain", Body=b"x", ServerSideEncryption="AES256")
    assert error_status(s3c.put_object, Bucket=bucket, Key="k", Body=b"x",
                        SSEKMSKeyId="testkey-1") == (400, "InvalidArgument")
    assert error_status(s3c.put_object, Bucket=bucket, Key="k", Body=b"x", ServerSideEncryption="AES256",
                        SSEKMSKeyId="testkey-1") == (400, "InvalidArgument")
    assert error_status(s3c.put_object, Bucket=bucket, Key="k", Body=b"x", ServerSideEncryption="aws:kms",
                        **sse_c(b"k" * 32)) == (400, "InvalidArgument")  # SSE-C and KMS conflict

    def add_sse_header(request, **_):
        request.headers["x-amz-server-side-encryption"] = "AES256"

    s3c.meta.events.register("before-sign.s3.GetObject", add_sse_header)
    s3c.meta.events.register("before-sign.s3.HeadObject", add_sse_header)
    try:
        assert error_status(s3c.get_object, Bucket=bucket, Key="plain") == (400, "InvalidArgument")
        assert error_status(s3c.head_object, Bucket=bucket, Key="plain")[0] == 400
    finally:
        s3c.meta.events.unregister("before-sign.s3.GetObject", add_sse_header)
        s3c.meta.events.unregister("before-sign.s3.HeadObject", add_sse_header)
    assert s3c.get_object(Bucket=bucket, Key="plain")["Body"].read() == b"x"
