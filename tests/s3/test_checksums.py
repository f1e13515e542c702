"""Checksums with real clients: every algorithm on PutObject/UploadPart (header and aws-chunked trailer),
multipart COMPOSITE and FULL_OBJECT objects, ListParts, ChecksumMode GET/HEAD, errors as AWS, awscli."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import zlib

import pytest
from awscrt import checksums as crt

from tests.s3.conftest import error_code, make_client
from tests.s3.test_clients import _aws, _aws_env

MIB = 1024 * 1024
ALGORITHMS = ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"]


def _raw(alg: str, data: bytes) -> bytes:
    if alg == "CRC32":
        return zlib.crc32(data).to_bytes(4, "big")
    if alg == "CRC32C":
        return crt.crc32c(data).to_bytes(4, "big")
    if alg == "CRC64NVME":
        return crt.crc64nvme(data).to_bytes(8, "big")
    return hashlib.new(alg.lower(), data).digest()


def checksum(alg: str, data: bytes) -> str:
    """The base64 checksum AWS shows, computed here independently of the server's code."""
    return base64.b64encode(_raw(alg, data)).decode()


def composite(alg: str, parts: list[bytes]) -> str:
    return f"{checksum(alg, b''.join(_raw(alg, p) for p in parts))}-{len(parts)}"


def _clients(s3):
    yield "http", make_client(s3.url)
    if s3.tls_url:  # botocore sends the checksum as an aws-chunked trailer over HTTPS
        yield "https", make_client(s3.tls_url, verify=s3.cafile or False)


@pytest.mark.parametrize("alg", ALGORITHMS)
@pytest.mark.parametrize("size", [0, 1000, 300_000])
def test_put_object_every_algorithm(s3, bucket, alg, size):
    data = os.urandom(size)
    field = f"Checksum{alg}"
    for scheme, c in _clients(s3):
        key = f"{scheme}-{alg}-{size}"
        put = c.put_object(Bucket=bucket, Key=key, Body=data, ChecksumAlgorithm=alg)
        assert put[field] == checksum(alg, data), scheme
        assert put["ChecksumType"] == "FULL_OBJECT"
        head = c.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        assert head[field] == checksum(alg, data) and head["ChecksumType"] == "FULL_OBJECT"
        got = c.get_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        assert got[field] == checksum(alg, data) and got["Body"].read() == data  # botocore validates too
        assert "ContentEncoding" not in got
        plain = c.head_object(Bucket=bucket, Key=key)
        assert field not in plain


def test_botocore_default_is_crc32(s3, bucket):
    """No algorithm asked: botocore's default (when_supported) sends CRC32, stored and returned."""
    data = os.urandom(70_000)
    for scheme, c in _clients(s3):
        put = c.put_object(Bucket=bucket, Key=f"default-{scheme}", Body=data)
        assert put["ChecksumCRC32"] == checksum("CRC32", data)
        got = c.get_object(Bucket=bucket, Key=f"default-{scheme}", ChecksumMode="ENABLED")
        assert got["ChecksumCRC32"] == checksum("CRC32", data) and got["Body"].read() == data


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_wrong_checksum_is_bad_digest(s3, bucket, alg):
    c = make_client(s3.url)
    kwargs = {f"Checksum{alg}": checksum(alg, b"something else")}
    assert error_code(c.put_object, Bucket=bucket, Key="bad", Body=b"data", **kwargs) == "BadDigest"
    assert error_code(c.head_object, Bucket=bucket, Key="bad") == "404"


MULTIPART_CASES = [("CRC32", "COMPOSITE"), ("CRC32", "FULL_OBJECT"), ("CRC32C", "COMPOSITE"),
                   ("CRC32C", "FULL_OBJECT"), ("CRC64NVME", "FULL_OBJECT"), ("SHA1", "COMPOSITE"),
                   ("SHA256", "COMPOSITE")]


@pytest.mark.parametrize(("alg", "kind"), MULTIPART_CASES)
def test_multipart_checksums(s3, bucket, alg, kind):
    c = dict(_clients(s3)).get("https") or make_client(s3.url)
    field = f"Checksum{alg}"
    parts = [os.urandom(5 * MIB), os.urandom(1234)]
    up = c.create_multipart_upload(Bucket=bucket, Key="mp", ChecksumAlgorithm=alg, ChecksumType=kind)
    assert up["ChecksumAlgorithm"] == alg and up["ChecksumType"] == kind
    done = []
    for number, data in enumerate(parts, 1):
        resp = c.upload_part(Bucket=bucket, Key="mp", UploadId=up["UploadId"], PartNumber=number, Body=data,
                             ChecksumAlgorithm=alg)
        assert resp[field] == checksum(alg, data)
        done.append({"PartNumber": number, "ETag": resp["ETag"], field: resp[field]})
    listed = c.list_parts(Bucket=bucket, Key="mp", UploadId=up["UploadId"])
    assert [p[field] for p in listed["Parts"]] == [checksum(alg, d) for d in parts]
    assert listed["ChecksumAlgorithm"] == alg and listed["ChecksumType"] == kind
    complete = c.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up["UploadId"],
                                           MultipartUpload={"Parts": done})
    expected = checksum(alg, b"".join(parts)) if kind == "FULL_OBJECT" else composite(alg, parts)
    assert complete[field] == expected and complete["ChecksumType"] == kind
    head = c.head_object(Bucket=bucket, Key="mp", ChecksumMode="ENABLED")
    assert head[field] == expected and head["ChecksumType"] == kind
    got = c.get_object(Bucket=bucket, Key="mp", ChecksumMode="ENABLED")
    assert got[field] == expected and got["Body"].read() == b"".join(parts)
    # a part read back carries its own checksum (composite uploads)
    second = c.get_object(Bucket=bucket, Key="mp", PartNumber=2, ChecksumMode="ENABLED")
    assert second["Body"].read() == parts[1] and second["PartsCount"] == 2
    head_part = c.head_object(Bucket=bucket, Key="mp", PartNumber=1, ChecksumMode="ENABLED")
    assert head_part["ContentLength"] == len(parts[0]) and head_part["PartsCount"] == 2
    if kind == "COMPOSITE":
        assert second[field] == checksum(alg, parts[1])
        assert head_part[field] == checksum(alg, parts[0])


def test_full_object_checksum_given_on_complete(s3, bucket):
    c = make_client(s3.url)
    parts = [os.urandom(5 * MIB), b"tail"]
    for given, outcome in ((checksum("CRC64NVME", b"".join(parts)), ""), (checksum("CRC64NVME", b"x"), "BadDigest")):
        up = c.create_multipart_upload(Bucket=bucket, Key="full", ChecksumAlgorithm="CRC64NVME",
                                       ChecksumType="FULL_OBJECT")
        done = []
        for number, data in enumerate(parts, 1):
            resp = c.upload_part(Bucket=bucket, Key="full", UploadId=up["UploadId"], PartNumber=number, Body=data,
                                 ChecksumAlgorithm="CRC64NVME")
            done.append({"PartNumber": number, "ETag": resp["ETag"]})
        assert error_code(c.complete_multipart_upload, Bucket=bucket, Key="full", UploadId=up["UploadId"],
                          MultipartUpload={"Parts": done}, ChecksumCRC64NVME=given,
                          ChecksumType="FULL_OBJECT") == outcome
        if outcome:
            c.abort_multipart_upload(Bucket=bucket, Key="full", UploadId=up["UploadId"])


def test_multipart_checksum_errors(s3, bucket):
    c = make_client(s3.url)
    assert error_code(c.create_multipart_upload, Bucket=bucket, Key="k", ChecksumAlgorithm="SHA256",
                      ChecksumType="FULL_OBJECT") == "InvalidRequest"
    assert error_code(c.create_multipart_upload, Bucket=bucket, Key="k", ChecksumAlgorithm="CRC64NVME",
                      ChecksumType="COMPOSITE") == "InvalidRequest"
    up = c.create_multipart_upload(Bucket=bucket, Key="k", ChecksumAlgorithm="SHA1")
    assert up["ChecksumType"] == "COMPOSITE"
    uid = up["UploadId"]
    # a part checksummed with another algorithm than the upload's
    assert error_code(c.upload_part, Bucket=bucket, Key="k", UploadId=uid, PartNumber=1, Body=b"x",
                      ChecksumAlgorithm="CRC32") == "InvalidRequest"
    # no checksum sent: the server computes the upload's algorithm
    c2 = make_client(s3.url, when_required=True)
    part = c2.upload_part(Bucket=bucket, Key="k", UploadId=uid, PartNumber=1, Body=b"hello")
    listed = c.list_parts(Bucket=bucket, Key="k", UploadId=uid)
    assert listed["Parts"][0]["ChecksumSHA1"] == checksum("SHA1", b"hello")
    # a part checksum in the Complete request that does not match the stored one
    bad = {"PartNumber": 1, "ETag": part["ETag"], "ChecksumSHA1": checksum("SHA1", b"other")}
    assert error_code(c.complete_multipart_upload, Bucket=bucket, Key="k", UploadId=uid,
                      MultipartUpload={"Parts": [bad]}) == "InvalidPart"
    good = c.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=uid,
                                       MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert good["ChecksumSHA1"] == composite("SHA1", [b"hello"])


def test_transfer_manager_multipart_crc32c(s3, bucket, tmp_path):
    """boto3's upload_file with a checksum algorithm: parts checksummed, the object checksum returned."""
    from boto3.s3.transfer import TransferConfig

    c = dict(_clients(s3)).get("https") or make_client(s3.url)
    data = os.urandom(11 * MIB)
    (tmp_path / "f").write_bytes(data)
    c.upload_file(str(tmp_path / "f"), bucket, "tm", ExtraArgs={"ChecksumAlgorithm": "CRC32C"},
                  Config=TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB))
    head = c.head_object(Bucket=bucket, Key="tm", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32C"].endswith("-3") or head["ChecksumCRC32C"] == checksum("CRC32C", data)
    got = c.get_object(Bucket=bucket, Key="tm", ChecksumMode="ENABLED")
    assert got["Body"].read() == data


def test_upload_part_copy_gets_the_uploads_checksum(s3, bucket):
    c = make_client(s3.url)
    src = os.urandom(6 * MIB)
    c.put_object(Bucket=bucket, Key="src", Body=src)
    up = c.create_multipart_upload(Bucket=bucket, Key="dst", ChecksumAlgorithm="CRC32", ChecksumType="FULL_OBJECT")
    copied = c.upload_part_copy(Bucket=bucket, Key="dst", UploadId=up["UploadId"], PartNumber=1,
                                CopySource={"Bucket": bucket, "Key": "src"})
    assert copied["CopyPartResult"]["ChecksumCRC32"] == checksum("CRC32", src)
    done = c.complete_multipart_upload(Bucket=bucket, Key="dst", UploadId=up["UploadId"], MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": copied["CopyPartResult"]["ETag"]}]})
    assert done["ChecksumCRC32"] == checksum("CRC32", src)


@pytest.mark.parametrize(("alg", "size"), [("CRC64NVME", 200_000), ("SHA256", 200_000), ("CRC32", 9 * MIB)])
def test_awscli_checksum_algorithm(s3, bucket, tmp_path, alg, size):
    """``aws s3 cp --checksum-algorithm``: one PUT, or a multipart upload past awscli's 8 MiB threshold."""
    env = _aws_env(tmp_path)
    aws = _aws() + ["--endpoint-url", s3.url]
    data = os.urandom(size)
    (tmp_path / "f").write_bytes(data)
    subprocess.run(aws + ["s3", "cp", str(tmp_path / "f"), f"s3://{bucket}/cli", "--checksum-algorithm", alg],
                   env=env, check=True, capture_output=True, timeout=300)
    out = subprocess.run(aws + ["s3api", "head-object", "--bucket", bucket, "--key", "cli", "--checksum-mode",
                                "ENABLED"], env=env, check=True, capture_output=True, text=True, timeout=300)
    head = json.loads(out.stdout)
    if size > 8 * MIB:  # composite: <checksum of the part checksums>-<parts>
        assert head[f"Checksum{alg}"].endswith("-2") and head["ChecksumType"] == "COMPOSITE"
    else:
        assert head[f"Checksum{alg}"] == checksum(alg, data)
    subprocess.run(aws + ["s3", "cp", f"s3://{bucket}/cli", str(tmp_path / "back")], env=env, check=True,
                   capture_output=True, timeout=300)
    assert (tmp_path / "back").read_bytes() == data


def test_copy_object_checksums(s3, bucket):
    c = make_client(s3.url)
    data = os.urandom(50_000)
    c.put_object(Bucket=bucket, Key="src", Body=data, ChecksumAlgorithm="SHA256")
    kept = c.copy_object(Bucket=bucket, Key="same-alg", CopySource={"Bucket": bucket, "Key": "src"})
    assert kept["CopyObjectResult"]["ChecksumSHA256"] == checksum("SHA256", data)
    chosen = c.copy_object(Bucket=bucket, Key="new-alg", CopySource={"Bucket": bucket, "Key": "src"},
                           ChecksumAlgorithm="CRC64NVME")
    assert chosen["CopyObjectResult"]["ChecksumCRC64NVME"] == checksum("CRC64NVME", data)
    head = c.head_object(Bucket=bucket, Key="new-alg", ChecksumMode="ENABLED")
    assert head["ChecksumCRC64NVME"] == checksum("CRC64NVME", data) and "ChecksumSHA256" not in head
    # a composite multipart source: the copy (one piece) gets a full-object checksum of the same algorithm
    parts = [os.urandom(5 * MIB), b"end"]
    up = c.create_multipart_upload(Bucket=bucket, Key="mp", ChecksumAlgorithm="CRC32C")
    done = [{"PartNumber": n, "ETag": c.upload_part(Bucket=bucket, Key="mp", UploadId=up["UploadId"], PartNumber=n,
                                                    Body=d, ChecksumAlgorithm="CRC32C")["ETag"]}
            for n, d in enumerate(parts, 1)]
    c.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up["UploadId"], MultipartUpload={"Parts": done})
    copied = c.copy_object(Bucket=bucket, Key="mp-copy", CopySource={"Bucket": bucket, "Key": "mp"})
    assert copied["CopyObjectResult"]["ChecksumCRC32C"] == checksum("CRC32C", b"".join(parts))
    got = c.get_object(Bucket=bucket, Key="mp-copy", ChecksumMode="ENABLED")
    assert got["ChecksumType"] == "FULL_OBJECT" and got["Body"].read() == b"".join(parts)
    assert error_code(c.copy_object, Bucket=bucket, Key="x", CopySource={"Bucket": bucket, "Key": "src"},
                      ChecksumAlgorithm="MD5") == "InvalidRequest"


def test_malformed_checksum_headers_are_invalid_request(s3, bucket):
    c = make_client(s3.url, when_required=True)
    cases = [
        {"ChecksumCRC32": "not base64!"},
        {"ChecksumCRC32": checksum("SHA256", b"data")},  # base64, but not 4 bytes
        {"ChecksumCRC32": checksum("CRC32", b"data"), "ChecksumSHA1": checksum("SHA1", b"data")},
    ]
    for extra in cases:
        assert error_code(c.put_object, Bucket=bucket, Key="k", Body=b"data", **extra) == "InvalidRequest", extra

    def unknown_algorithm(request, **_):
        request.headers["x-amz-sdk-checksum-algorithm"] = "MD7"

    c.meta.events.register("before-sign.s3.PutObject", unknown_algorithm)
    assert error_code(c.put_object, Bucket=bucket, Key="k", Body=b"data") == "InvalidRequest"
    assert error_code(c.head_object, Bucket=bucket, Key="k") == "404"


def test_default_crc64nvme_when_no_checksum_is_sent(s3, bucket):
    """AWS's default: data sent with no checksum at all gets a CRC64NVME (PutObject, CopyObject, multipart),
    stored and answered with ChecksumMode; the Copy and Complete result documents name only a checksum the
    client chose (as Swift's s3api's result schema, which has no checksum elements)."""
    c = make_client(s3.url, when_required=True)  # botocore sends no checksum
    data = os.urandom(30_000)
    put = c.put_object(Bucket=bucket, Key="plain", Body=data)
    assert put["ChecksumCRC64NVME"] == checksum("CRC64NVME", data) and "ChecksumCRC32" not in put
    head = c.head_object(Bucket=bucket, Key="plain", ChecksumMode="ENABLED")
    assert head["ChecksumCRC64NVME"] == checksum("CRC64NVME", data) and head["ChecksumType"] == "FULL_OBJECT"
    copied = c.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "plain"})
    assert "ChecksumCRC64NVME" not in copied["CopyObjectResult"]
    head = c.head_object(Bucket=bucket, Key="copy", ChecksumMode="ENABLED")
    assert head["ChecksumCRC64NVME"] == checksum("CRC64NVME", data)
    named = c.copy_object(Bucket=bucket, Key="copy2", CopySource={"Bucket": bucket, "Key": "plain"},
                          ChecksumAlgorithm="CRC64NVME")
    assert named["CopyObjectResult"]["ChecksumCRC64NVME"] == checksum("CRC64NVME", data)
    again = c.copy_object(Bucket=bucket, Key="copy3", CopySource={"Bucket": bucket, "Key": "copy2"})
    assert again["CopyObjectResult"]["ChecksumCRC64NVME"] == checksum("CRC64NVME", data)  # the source's choice
    parts = [os.urandom(5 * MIB), b"last"]
    up = c.create_multipart_upload(Bucket=bucket, Key="mp")
    assert "ChecksumAlgorithm" not in up
    done = [{"PartNumber": n, "ETag": c.upload_part(Bucket=bucket, Key="mp", UploadId=up["UploadId"], PartNumber=n,
                                                    Body=d)["ETag"]} for n, d in enumerate(parts, 1)]
    complete = c.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up["UploadId"],
                                           MultipartUpload={"Parts": done})
    assert "ChecksumCRC64NVME" not in complete and "ChecksumType" not in complete
    got = make_client(s3.url).get_object(Bucket=bucket, Key="mp", ChecksumMode="ENABLED")
    assert got["ChecksumCRC64NVME"] == checksum("CRC64NVME", b"".join(parts)) and got["ChecksumType"] == "FULL_OBJECT"
    assert got["Body"].read() == b"".join(parts)


def test_list_parts_of_an_upload_without_algorithm_names_no_checksum(s3, bucket):
    """An upload created without an algorithm gets S3's default FULL_OBJECT CRC64NVME (computed per part,
    whatever checksum the part itself was sent with); ListParts names only a checksum the client chose, so
    none here (as Swift's s3api, whose ListPartsResult has no checksum elements)."""
    parts = [os.urandom(5 * MIB), b"tail"]
    up = make_client(s3.url).create_multipart_upload(Bucket=bucket, Key="plain-mp")["UploadId"]
    for number, (data, c) in enumerate(zip(parts, (make_client(s3.url, when_required=True), make_client(s3.url)),
                                           strict=True), 1):
        c.upload_part(Bucket=bucket, Key="plain-mp", UploadId=up, PartNumber=number, Body=data)
    listed = make_client(s3.url).list_parts(Bucket=bucket, Key="plain-mp", UploadId=up)
    assert "ChecksumAlgorithm" not in listed and "ChecksumType" not in listed
    assert [p["PartNumber"] for p in listed["Parts"]] == [1, 2]
    assert not [p for p in listed["Parts"] if any(k.startswith("Checksum") for k in p)]
    parts_done = [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in listed["Parts"]]
    make_client(s3.url).complete_multipart_upload(Bucket=bucket, Key="plain-mp", UploadId=up,
                                                  MultipartUpload={"Parts": parts_done})
    got = make_client(s3.url).head_object(Bucket=bucket, Key="plain-mp", ChecksumMode="ENABLED")
    assert got["ChecksumCRC64NVME"] == checksum("CRC64NVME", b"".join(parts))


def test_checksum_type_validation(s3, bucket):
    """``x-amz-checksum-type``: only COMPOSITE or FULL_OBJECT, only with an algorithm that supports it, and
    on Complete only the upload's own type (InvalidRequest otherwise, as AWS)."""
    c = make_client(s3.url)
    for kwargs in ({"ChecksumAlgorithm": "CRC32", "ChecksumType": "PARTIAL"},
                   {"ChecksumAlgorithm": "CRC32", "ChecksumType": "composite-ish"},
                   {"ChecksumType": "FULL_OBJECT"},
                   {"ChecksumAlgorithm": "SHA1", "ChecksumType": "FULL_OBJECT"},
                   {"ChecksumAlgorithm": "CRC64NVME", "ChecksumType": "COMPOSITE"}):
        assert error_code(c.create_multipart_upload, Bucket=bucket, Key="t", **kwargs) == "InvalidRequest", kwargs
    up = c.create_multipart_upload(Bucket=bucket, Key="t", ChecksumAlgorithm="CRC32")["UploadId"]
    etag = c.upload_part(Bucket=bucket, Key="t", UploadId=up, PartNumber=1, Body=b"x", ChecksumAlgorithm="CRC32")
    done = {"Parts": [{"PartNumber": 1, "ETag": etag["ETag"]}]}
    assert error_code(c.complete_multipart_upload, Bucket=bucket, Key="t", UploadId=up, MultipartUpload=done,
                      ChecksumType="FULL_OBJECT") == "InvalidRequest"
    assert c.complete_multipart_upload(Bucket=bucket, Key="t", UploadId=up, MultipartUpload=done,
                                       ChecksumType="COMPOSITE")["ChecksumType"] == "COMPOSITE"


def test_part_records_carry_their_checksums(s3, bucket):
    """Each part's listing row (its record in ``<bucket>+segments``) carries its checksum, which ListParts reads
    without a HEAD per part; parts of an upload copied with UploadPartCopy too."""
    import httpx

    c = make_client(s3.url)
    data = os.urandom(1000)
    c.put_object(Bucket=bucket, Key="src", Body=data)
    up = c.create_multipart_upload(Bucket=bucket, Key="mp", ChecksumAlgorithm="SHA256")["UploadId"]
    c.upload_part(Bucket=bucket, Key="mp", UploadId=up, PartNumber=1, Body=data, ChecksumAlgorithm="SHA256")
    c.upload_part_copy(Bucket=bucket, Key="mp", UploadId=up, PartNumber=2, CopySource=f"{bucket}/src")
    url, token = s3.cluster.auth("test:tester", "testing")
    rows = httpx.get(f"{url}/{bucket}+segments", params={"format": "json", "prefix": f"mp/{up}/"},
                     headers={"X-Auth-Token": token}).json()
    assert [r["content_type"] for r in rows] == [f"application/octet-stream; s3_checksum_sha256="
                                                 f"{checksum('SHA256', data)}"] * 2
    listed = c.list_parts(Bucket=bucket, Key="mp", UploadId=up)["Parts"]
    assert [p["ChecksumSHA256"] for p in listed] == [checksum("SHA256", data)] * 2
    c.abort_multipart_upload(Bucket=bucket, Key="mp", UploadId=up)
