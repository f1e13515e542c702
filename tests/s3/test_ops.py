"""CopyObject, DeleteObjects, presigned URLs (V2 and V4), checksums, aws-chunked over TLS, sub-resources."""

from __future__ import annotations

import base64
import hashlib
import os
import time
import zlib

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.s3.conftest import make_client


def test_copy_directives_and_conditions(s3c, bucket):
    s3c.put_object(Bucket=bucket, Key="src", Body=b"source", Metadata={"m": "1"}, ContentType="text/x-src")
    etag = s3c.head_object(Bucket=bucket, Key="src")["ETag"]
    r = s3c.copy_object(Bucket=bucket, Key="copy1", CopySource={"Bucket": bucket, "Key": "src"})
    assert r["CopyObjectResult"]["ETag"] == etag
    h = s3c.head_object(Bucket=bucket, Key="copy1")
    assert h["Metadata"] == {"m": "1"} and h["ContentType"] == "text/x-src"
    s3c.copy_object(Bucket=bucket, Key="copy2", CopySource=f"/{bucket}/src", MetadataDirective="REPLACE",
                    Metadata={"n": "2"}, ContentType="text/plain")
    h = s3c.head_object(Bucket=bucket, Key="copy2")
    assert h["Metadata"] == {"n": "2"} and h["ContentType"] == "text/plain"
    with pytest.raises(ClientError) as err:
        s3c.copy_object(Bucket=bucket, Key="copy3", CopySource={"Bucket": bucket, "Key": "src"},
                        CopySourceIfMatch='"nope"')
    assert err.value.response["Error"]["Code"] == "PreconditionFailed"
    with pytest.raises(ClientError) as err:
        s3c.copy_object(Bucket=bucket, Key="copy3", CopySource={"Bucket": bucket, "Key": "src"},
                        CopySourceIfNoneMatch=etag)
    assert err.value.response["Error"]["Code"] == "PreconditionFailed"
    s3c.copy_object(Bucket=bucket, Key="copy3", CopySource={"Bucket": bucket, "Key": "src"},
                    CopySourceIfMatch=etag)
    with pytest.raises(ClientError) as err:
        s3c.copy_object(Bucket=bucket, Key="src", CopySource={"Bucket": bucket, "Key": "src"})
    assert err.value.response["Error"]["Code"] == "InvalidRequest"
    s3c.copy_object(Bucket=bucket, Key="src", CopySource={"Bucket": bucket, "Key": "src"},
                    MetadataDirective="REPLACE", Metadata={"m": "changed"})
    assert s3c.head_object(Bucket=bucket, Key="src")["Metadata"] == {"m": "changed"}
    with pytest.raises(ClientError) as err:
        s3c.copy_object(Bucket=bucket, Key="x", CopySource={"Bucket": bucket, "Key": "missing"})
    assert err.value.response["Error"]["Code"] == "NoSuchKey"


@pytest.mark.parametrize("quiet", [False, True])
def test_delete_objects(s3c, bucket, quiet):
    keys = [f"del/{i}" for i in range(25)]
    for k in keys:
        s3c.put_object(Bucket=bucket, Key=k, Body=b"d")
    resp = s3c.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys + ["del/missing"]],
                                                     "Quiet": quiet})
    if quiet:
        assert "Deleted" not in resp
    else:
        assert sorted(d["Key"] for d in resp["Deleted"]) == sorted(keys + ["del/missing"])
    assert "Errors" not in resp
    assert s3c.list_objects_v2(Bucket=bucket, Prefix="del/")["KeyCount"] == 0


@pytest.mark.parametrize("sigver", ["s3", "s3v4"])
def test_presigned_get(s3, bucket, sigver):
    c = make_client(s3.url, signature_version=sigver)
    c.put_object(Bucket=bucket, Key="pre signed/ü+", Body=b"presigned body")
    url = c.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "pre signed/ü+",
                                                         "ResponseContentType": "text/plain"}, ExpiresIn=60)
    assert ("AWSAccessKeyId=" in url) == (sigver == "s3")
    r = httpx.get(url)
    assert r.status_code == 200 and r.content == b"presigned body"
    assert r.headers["content-type"] == "text/plain"
    tampered = url.replace("pre%20signed", "pre%20signeX")
    assert httpx.get(tampered).status_code == 403
    expired = c.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "pre signed/ü+"},
                                       ExpiresIn=1)
    time.sleep(2.1)
    r = httpx.get(expired)
    assert r.status_code == 403 and b"<Code>AccessDenied</Code>" in r.content


def test_presigned_v2_expires_limits(s3, bucket):
    """SigV2 presigned URLs: at most a week ahead (403 beyond it), and an Expires no 32-bit epoch holds is an
    invalid date (AWS's wording)."""
    c = make_client(s3.url, signature_version="s3")
    c.put_object(Bucket=bucket, Key="v2-limits", Body=b"x")
    week = c.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "v2-limits"},
                                    ExpiresIn=7 * 24 * 3600 - 60)
    assert httpx.get(week).status_code == 200
    too_far = c.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "v2-limits"},
                                       ExpiresIn=8 * 24 * 3600)
    r = httpx.get(too_far)
    assert r.status_code == 403 and b"<Code>AccessDenied</Code>" in r.content
    no_date = c.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "v2-limits"},
                                       ExpiresIn=2 ** 32)
    r = httpx.get(no_date)
    assert r.status_code == 403 and b"Invalid date (should be seconds since epoch)" in r.content


def test_presigned_put_v4(s3, bucket):
    c = make_client(s3.url)
    url = c.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "up"}, ExpiresIn=60)
    assert httpx.put(url, content=b"uploaded").status_code == 200
    assert c.get_object(Bucket=bucket, Key="up")["Body"].read() == b"uploaded"


def test_sigv2_header_auth(s3, bucket):
    c = make_client(s3.url, signature_version="s3")
    c.put_object(Bucket=bucket, Key="v2 key", Body=b"v2", Metadata={"x": "y"})
    assert c.get_object(Bucket=bucket, Key="v2 key")["Body"].read() == b"v2"
    assert [o["Key"] for o in c.list_objects(Bucket=bucket)["Contents"]] == ["v2 key"]


def _crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


@pytest.mark.parametrize("alg", ["CRC32", "CRC32C", "SHA1", "SHA256"])
def test_checksums_echoed_and_returned(s3, bucket, alg):
    c = make_client(s3.url)
    data = os.urandom(3000)
    if alg == "CRC32C":  # botocore computes CRC32C only with awscrt: send the header ourselves
        from proxy.s3.checksums import checksum_of

        put = c.put_object(Bucket=bucket, Key=f"ck-{alg}", Body=data, ChecksumCRC32C=checksum_of("crc32c", data))
        with pytest.raises(ClientError) as err:
            c.put_object(Bucket=bucket, Key="ck-bad", Body=data, ChecksumCRC32C=checksum_of("crc32c", b"x"))
        assert err.value.response["Error"]["Code"] == "BadDigest"
        assert put["ChecksumCRC32C"] == checksum_of("crc32c", data)
        got = c.get_object(Bucket=bucket, Key=f"ck-{alg}", ChecksumMode="ENABLED")
        assert got["Body"].read() == data and got["ResponseMetadata"]["HTTPHeaders"][
            "x-amz-checksum-crc32c"] == put["ChecksumCRC32C"]
        return
    put = c.put_object(Bucket=bucket, Key=f"ck-{alg}", Body=data, ChecksumAlgorithm=alg)
    assert put[f"Checksum{alg}"]
    got = c.get_object(Bucket=bucket, Key=f"ck-{alg}", ChecksumMode="ENABLED")
    assert got["Body"].read() == data
    assert got.get(f"Checksum{alg}") == put[f"Checksum{alg}"]
    part = c.get_object(Bucket=bucket, Key=f"ck-{alg}", ChecksumMode="ENABLED", Range="bytes=0-9")
    assert f"Checksum{alg}" not in part


def test_bad_checksum_header_is_bad_digest(s3, bucket):
    c = make_client(s3.url)
    with pytest.raises(ClientError) as err:
        c.put_object(Bucket=bucket, Key="bad", Body=b"hello", ChecksumCRC32=_crc32(b"other"))
    assert err.value.response["Error"]["Code"] == "BadDigest"
    with pytest.raises(ClientError) as err:
        c.put_object(Bucket=bucket, Key="bad", Body=b"hello",
                     ContentMD5=base64.b64encode(hashlib.md5(b"x").digest()).decode())
    assert err.value.response["Error"]["Code"] == "BadDigest"
    with pytest.raises(ClientError):
        c.head_object(Bucket=bucket, Key="bad")


@pytest.mark.parametrize("size", [1000, 300_000])  # sent with the head / streamed to the nodes
def test_content_md5_is_checked_before_anything_is_stored(s3, bucket, size):
    """The nodes check a Content-MD5 (the proxy does not hash the body itself): a mismatch is BadDigest
    and stores nothing, for PutObject and UploadPart; a match answers the MD5 as the ETag."""
    c = make_client(s3.url)
    data = os.urandom(size)
    good = base64.b64encode(hashlib.md5(data).digest()).decode()
    bad = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    put = c.put_object(Bucket=bucket, Key="md5", Body=data, ContentMD5=good)
    assert put["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    with pytest.raises(ClientError) as err:
        c.put_object(Bucket=bucket, Key="md5", Body=b"x" + data[1:], ContentMD5=good)
    assert err.value.response["Error"]["Code"] == "BadDigest"
    assert c.get_object(Bucket=bucket, Key="md5")["Body"].read() == data
    upload = c.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    with pytest.raises(ClientError) as err:
        c.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1, Body=data, ContentMD5=bad)
    assert err.value.response["Error"]["Code"] == "BadDigest"
    assert c.list_parts(Bucket=bucket, Key="mp", UploadId=upload).get("Parts", []) == []
    part = c.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1, Body=data, ContentMD5=good)
    assert part["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    c.abort_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload)


def _tls_client(s3, **kw):
    return make_client(s3.tls_url, verify=s3.cafile or False, **kw)


def test_aws_chunked_over_tls(s3, bucket):
    """boto3's default over HTTPS: STREAMING-UNSIGNED-PAYLOAD-TRAILER with a CRC32 trailer."""
    c = _tls_client(s3)
    seen = []
    c.meta.events.register("before-send.s3.PutObject", lambda request, **kw: seen.append(request.headers))
    data = os.urandom(200_000)
    put = c.put_object(Bucket=bucket, Key="chunked", Body=data)
    assert seen[0]["X-Amz-Content-SHA256"] == b"STREAMING-UNSIGNED-PAYLOAD-TRAILER" or \
        seen[0]["X-Amz-Content-SHA256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert put["ChecksumCRC32"] == _crc32(data)
    got = make_client(s3.url).get_object(Bucket=bucket, Key="chunked")
    assert got["Body"].read() == data and got["ContentLength"] == len(data)
    assert got["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert "ContentEncoding" not in got


@pytest.mark.parametrize("size", [1000, 200_000])  # sent buffered with the head / streamed with a footer
@pytest.mark.parametrize("algorithm", ["CRC32", "SHA1", "SHA256"])  # CRC32C needs botocore[crt]
def test_trailer_checksum_is_stored(s3, bucket, size, algorithm):
    """A checksum sent as an aws-chunked trailer comes back from HeadObject/GetObject (ChecksumMode)."""
    c = _tls_client(s3)
    data = os.urandom(size)
    put = c.put_object(Bucket=bucket, Key="sum", Body=data, ChecksumAlgorithm=algorithm)
    field = f"Checksum{algorithm}"
    assert put[field]
    head = c.head_object(Bucket=bucket, Key="sum", ChecksumMode="ENABLED")
    assert head[field] == put[field]
    got = c.get_object(Bucket=bucket, Key="sum", ChecksumMode="ENABLED")
    assert got[field] == put[field] and got["Body"].read() == data  # botocore validates it too


def test_aws_chunked_multipart_over_tls(s3, bucket, tmp_path):
    from boto3.s3.transfer import TransferConfig

    c = _tls_client(s3)
    data = os.urandom(11 * 1024 * 1024)
    (tmp_path / "f").write_bytes(data)
    c.upload_file(str(tmp_path / "f"), bucket, "mp-tls",
                  Config=TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20))
    assert c.get_object(Bucket=bucket, Key="mp-tls")["Body"].read() == data


def _raw_chunked(s3, bucket, key, body: bytes, headers: dict[str, str]):
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = f"{s3.url}/{bucket}/{key}"
    req = AWSRequest(method="PUT", url=url, headers=headers)
    signer = S3SigV4Auth(Credentials("test:tester", "testing"), "s3", "us-east-1")
    signer.payload = lambda request: headers["x-amz-content-sha256"]  # sign the streaming marker we send
    signer.add_auth(req)
    return req, url


def test_trailer_checksum_mismatch_and_short_body(s3, bucket):
    data = b"hello world"
    for trailer, decoded, code in ((_crc32(b"nope"), 11, "BadDigest"), (_crc32(data), 12, "IncompleteBody")):
        body = b"b\r\n" + data + f"\r\n0\r\nx-amz-checksum-crc32:{trailer}\r\n\r\n".encode()
        hdrs = {"x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "Content-Encoding": "aws-chunked",
                "x-amz-trailer": "x-amz-checksum-crc32", "x-amz-decoded-content-length": str(decoded)}
        req, url = _raw_chunked(s3, bucket, "tr", body, hdrs)
        r = httpx.put(url, content=body, headers=dict(req.headers.items()))
        assert r.status_code == 400 and f"<Code>{code}</Code>".encode() in r.content
    with pytest.raises(ClientError):
        make_client(s3.url).head_object(Bucket=bucket, Key="tr")


def test_signed_streaming_payload(s3, bucket):
    """STREAMING-AWS4-HMAC-SHA256-PAYLOAD with chained chunk signatures (minio-go, SDK Java v1)."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    from proxy.s3 import auth_v4

    data = os.urandom(150_000)
    chunks = [data[i:i + 65536] for i in range(0, len(data), 65536)] + [b""]
    creds = Credentials("test:tester", "testing")
    url = f"{s3.url}/{bucket}/signed-stream"

    def encode(tamper: bool) -> tuple[dict, bytes]:
        enc_len = sum(len(f"{len(ch):x};chunk-signature=".encode()) + 64 + 2 + len(ch) + 2 for ch in chunks)
        req = AWSRequest(method="PUT", url=url, headers={
            "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "Content-Encoding": "aws-chunked",
            "x-amz-decoded-content-length": str(len(data)), "Content-Length": str(enc_len)})
        signer = S3SigV4Auth(creds, "s3", "us-east-1")
        signer._should_sha256_sign_payload = lambda request: False  # keep our payload hash header
        signer.payload = lambda request: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
        signer.add_auth(req)
        seed = req.headers["Authorization"].rsplit("Signature=", 1)[1]
        amz_date = req.headers["X-Amz-Date"]
        scope = f"{amz_date[:8]}/us-east-1/s3/aws4_request"
        key = auth_v4.signing_key("testing", amz_date[:8], "us-east-1")
        prev, out = seed, bytearray()
        for ch in chunks:
            sig = auth_v4.sign(key, auth_v4.chunk_string_to_sign(amz_date, scope, prev,
                                                                  hashlib.sha256(ch).hexdigest()))
            prev = sig
            payload = (b"X" + ch[1:]) if (tamper and ch) else ch
            out += f"{len(ch):x};chunk-signature={sig}\r\n".encode() + payload + b"\r\n"
        return dict(req.headers.items()), bytes(out)

    headers, body = encode(False)
    r = httpx.put(url, content=body, headers=headers)
    assert r.status_code == 200, r.text
    got = make_client(s3.url).get_object(Bucket=bucket, Key="signed-stream")["Body"].read()
    assert got == data
    headers, body = encode(True)
    r = httpx.put(url, content=body, headers=headers)
    assert r.status_code == 403 and b"SignatureDoesNotMatch" in r.content


def test_subresources_never_500(s3, bucket):
    c = make_client(s3.url)
    assert c.get_bucket_versioning(Bucket=bucket).get("Status") is None
    acl = c.get_bucket_acl(Bucket=bucket)
    assert acl["Grants"][0]["Permission"] == "FULL_CONTROL"
    for call, code in ((c.get_bucket_lifecycle_configuration, "NoSuchLifecycleConfiguration"),
                       (c.get_bucket_ownership_controls, "OwnershipControlsNotFoundError"),
                       (c.get_bucket_cors, "NoSuchCORSConfiguration"),
                       (c.get_bucket_policy, "NoSuchBucketPolicy"),
                       (c.get_bucket_tagging, "NoSuchTagSet")):
        with pytest.raises(ClientError) as err:
            call(Bucket=bucket)
        assert err.value.response["Error"]["Code"] == code
    assert "LoggingEnabled" not in c.get_bucket_logging(Bucket=bucket)
    for q in ("versioning", "acl", "ownershipControls", "lifecycle", "logging", "location", "website",
              "encryption", "object-lock", "publicAccessBlock", "replication", "requestPayment", "analytics",
              "uploads", "versions", "notification", "accelerate", "policyStatus", "intelligent-tiering"):
        url = c.generate_presigned_url("list_objects", Params={"Bucket": bucket})
        r = httpx.get(url.replace("?", f"?{q}=&", 1))
        assert r.status_code < 500 or r.status_code == 501, (q, r.status_code, r.text)


def test_object_tagging_and_acl(s3, bucket):
    c = make_client(s3.url)
    c.put_object(Bucket=bucket, Key="tagged", Body=b"t", Tagging="a=1&b=two", Metadata={"keep": "me"})
    assert c.get_object_tagging(Bucket=bucket, Key="tagged")["TagSet"] == [{"Key": "a", "Value": "1"},
                                                                          {"Key": "b", "Value": "two"}]
    c.put_object_tagging(Bucket=bucket, Key="tagged", Tagging={"TagSet": [{"Key": "x", "Value": "y z"}]})
    assert c.get_object_tagging(Bucket=bucket, Key="tagged")["TagSet"] == [{"Key": "x", "Value": "y z"}]
    assert c.head_object(Bucket=bucket, Key="tagged")["Metadata"] == {"keep": "me"}
    c.delete_object_tagging(Bucket=bucket, Key="tagged")
    assert c.get_object_tagging(Bucket=bucket, Key="tagged")["TagSet"] == []
    assert c.get_object_acl(Bucket=bucket, Key="tagged")["Grants"][0]["Permission"] == "FULL_CONTROL"
    c.put_object_acl(Bucket=bucket, Key="tagged", ACL="private")
