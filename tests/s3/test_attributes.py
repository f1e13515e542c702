"""GetObjectAttributes (with ObjectParts paging) and ?partNumber= GET/HEAD, through boto3."""

from __future__ import annotations

import base64
import hashlib
import os

import pytest

from tests.s3.conftest import error_code, make_client
from tests.s3.test_checksums import checksum, composite

MIB = 1024 * 1024
ALL = ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"]


def _multipart(c, bucket: str, key: str, parts: list[bytes], **create) -> dict:
    up = c.create_multipart_upload(Bucket=bucket, Key=key, **create)
    done = []
    for number, data in enumerate(parts, 1):
        extra = {"ChecksumAlgorithm": create["ChecksumAlgorithm"]} if "ChecksumAlgorithm" in create else {}
        resp = c.upload_part(Bucket=bucket, Key=key, UploadId=up["UploadId"], PartNumber=number, Body=data, **extra)
        done.append({"PartNumber": number, "ETag": resp["ETag"]})
    return c.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up["UploadId"],
                                       MultipartUpload={"Parts": done})


@pytest.fixture(scope="module")
def parts():
    return [os.urandom(5 * MIB), os.urandom(5 * MIB), os.urandom(777)]


def test_attributes_of_a_simple_object(s3, bucket):
    c = make_client(s3.url)
    data = os.urandom(4000)
    c.put_object(Bucket=bucket, Key="simple", Body=data, ChecksumAlgorithm="SHA256")
    attrs = c.get_object_attributes(Bucket=bucket, Key="simple", ObjectAttributes=ALL)
    assert attrs["ETag"] == hashlib.md5(data).hexdigest()  # unquoted, as AWS answers here
    assert attrs["ObjectSize"] == len(data) and attrs["StorageClass"] == "STANDARD"
    assert attrs["Checksum"]["ChecksumSHA256"] == checksum("SHA256", data)
    assert attrs["Checksum"]["ChecksumType"] == "FULL_OBJECT"
    assert "ObjectParts" not in attrs and "LastModified" in attrs
    only = c.get_object_attributes(Bucket=bucket, Key="simple", ObjectAttributes=["ObjectSize"])
    assert only["ObjectSize"] == len(data) and "ETag" not in only
    assert error_code(c.get_object_attributes, Bucket=bucket, Key="missing", ObjectAttributes=ALL) == "NoSuchKey"
    assert error_code(c.get_object_attributes, Bucket=bucket, Key="simple",
                      ObjectAttributes=["Colour"]) == "InvalidArgument"


def test_attributes_of_a_multipart_object_paged(s3, bucket, parts):
    c = make_client(s3.url)
    done = _multipart(c, bucket, "mp", parts, ChecksumAlgorithm="CRC32C")
    attrs = c.get_object_attributes(Bucket=bucket, Key="mp", ObjectAttributes=ALL)
    assert f'"{attrs["ETag"]}"' == done["ETag"]
    assert attrs["ObjectSize"] == sum(len(p) for p in parts)
    assert attrs["Checksum"] == {"ChecksumCRC32C": composite("CRC32C", parts), "ChecksumType": "COMPOSITE"}
    obj = attrs["ObjectParts"]
    assert obj["TotalPartsCount"] == 3 and obj["IsTruncated"] is False
    assert [(p["PartNumber"], p["Size"], p["ChecksumCRC32C"]) for p in obj["Parts"]] == \
        [(i, len(d), checksum("CRC32C", d)) for i, d in enumerate(parts, 1)]
    first = c.get_object_attributes(Bucket=bucket, Key="mp", ObjectAttributes=["ObjectParts"], MaxParts=2)
    assert [p["PartNumber"] for p in first["ObjectParts"]["Parts"]] == [1, 2]
    assert first["ObjectParts"]["IsTruncated"] is True and first["ObjectParts"]["NextPartNumberMarker"] == 2
    rest = c.get_object_attributes(Bucket=bucket, Key="mp", ObjectAttributes=["ObjectParts"], MaxParts=2,
                                   PartNumberMarker=2)
    assert [p["PartNumber"] for p in rest["ObjectParts"]["Parts"]] == [3]
    assert rest["ObjectParts"]["IsTruncated"] is False


def test_part_number_get_and_head(s3, bucket, parts):
    c = make_client(s3.url)
    done = _multipart(c, bucket, "mp", parts)
    # created without a checksum algorithm: AWS's default, a full-object CRC64NVME, with each part's
    attrs = c.get_object_attributes(Bucket=bucket, Key="mp", ObjectAttributes=ALL)
    assert attrs["Checksum"] == {"ChecksumCRC64NVME": checksum("CRC64NVME", b"".join(parts)),
                                 "ChecksumType": "FULL_OBJECT"}
    assert attrs["ObjectParts"]["TotalPartsCount"] == 3
    assert [p["ChecksumCRC64NVME"] for p in attrs["ObjectParts"]["Parts"]] == [checksum("CRC64NVME", d)
                                                                             for d in parts]
    assert "ChecksumCRC64NVME" not in done  # S3's default: not named in CompleteMultipartUpload's result
    offset = 0
    for number, data in enumerate(parts, 1):
        got = c.get_object(Bucket=bucket, Key="mp", PartNumber=number)
        assert got["Body"].read() == data
        assert got["PartsCount"] == 3 and got["ETag"] == done["ETag"]
        assert got["ContentRange"] == f"bytes {offset}-{offset + len(data) - 1}/{sum(len(p) for p in parts)}"
        head = c.head_object(Bucket=bucket, Key="mp", PartNumber=number)
        assert head["ContentLength"] == len(data) and head["PartsCount"] == 3
        assert head["ResponseMetadata"]["HTTPStatusCode"] == 206
        offset += len(data)
    for call in (c.get_object, c.head_object):
        try:
            call(Bucket=bucket, Key="mp", PartNumber=4)
            raise AssertionError("part 4 of 3 was served")
        except c.exceptions.ClientError as err:
            assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 400
            if call is c.get_object:
                assert err.response["Error"]["Code"] == "InvalidPartNumber"
    assert error_code(c.get_object, Bucket=bucket, Key="mp", PartNumber=1, Range="bytes=0-1") == "InvalidRequest"


def test_part_number_of_a_simple_object(s3, bucket):
    c = make_client(s3.url)
    c.put_object(Bucket=bucket, Key="one", Body=b"single piece")
    got = c.get_object(Bucket=bucket, Key="one", PartNumber=1)
    assert got["Body"].read() == b"single piece" and "PartsCount" not in got
    assert error_code(c.get_object, Bucket=bucket, Key="one", PartNumber=2) == "InvalidPartNumber"


def test_attributes_of_an_sse_c_object_need_its_key(s3, bucket):
    """As AWS documents for GetObjectAttributes: an SSE-C object's attributes are read with its key headers
    (400 without them, 403 with another key); SSE-C headers on an object that is not SSE-C: 400."""
    c = make_client(s3.url)
    key, other = os.urandom(32), os.urandom(32)

    def headers(k: bytes) -> dict[str, str]:  # GetObjectAttributes takes the key as base64 text
        return {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": base64.b64encode(k).decode(),
                "SSECustomerKeyMD5": base64.b64encode(hashlib.md5(k).digest()).decode()}

    data = os.urandom(3000)
    put = c.put_object(Bucket=bucket, Key="ssec", Body=data, SSECustomerAlgorithm="AES256", SSECustomerKey=key)
    attrs = c.get_object_attributes(Bucket=bucket, Key="ssec", ObjectAttributes=["ETag", "ObjectSize"],
                                    **headers(key))
    assert attrs["ObjectSize"] == len(data) and attrs["ETag"] == put["ETag"].strip('"')
    assert error_code(c.get_object_attributes, Bucket=bucket, Key="ssec", ObjectAttributes=ALL) == "InvalidRequest"
    assert error_code(c.get_object_attributes, Bucket=bucket, Key="ssec", ObjectAttributes=ALL,
                      **headers(other)) == "AccessDenied"
    c.put_object(Bucket=bucket, Key="plain", Body=b"p")
    assert error_code(c.get_object_attributes, Bucket=bucket, Key="plain", ObjectAttributes=ALL,
                      **headers(key)) == "InvalidRequest"
