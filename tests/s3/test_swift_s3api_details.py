"""Details Swift's own s3api tests check (issue 13): bucket names no bucket can have, HEAD error and
HEAD bucket content types, Owner before StorageClass in listings, lower-case header names."""

from __future__ import annotations

import base64
import hashlib
import os
import time
import xml.etree.ElementTree as ET

import botocore.handlers
import httpx
import pytest
from botocore.exceptions import ClientError

from tests.s3.conftest import make_client


@pytest.fixture
def lax_client(s3):
    c = make_client(s3.url)
    c.meta.events.unregister("before-parameter-build.s3", botocore.handlers.validate_bucket_name)
    return c


def test_unaddressable_bucket_names_are_invalid_on_every_request(lax_client):
    with pytest.raises(ClientError) as err:
        lax_client.list_objects(Bucket="bucket+invalid")
    assert err.value.response["Error"]["Code"] == "InvalidBucketName"
    with pytest.raises(ClientError) as err:
        lax_client.delete_bucket(Bucket="bucket+invalid")
    assert err.value.response["Error"]["Code"] == "InvalidBucketName"
    with pytest.raises(ClientError) as err:
        lax_client.head_bucket(Bucket="bucket+invalid")
    meta = err.value.response["ResponseMetadata"]
    assert meta["HTTPStatusCode"] == 400 and meta["HTTPHeaders"]["content-length"] == "0"


def test_head_answers_carry_an_xml_content_type(s3, bucket):
    c = make_client(s3.url)
    assert c.head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/xml"
    with pytest.raises(ClientError) as err:
        c.head_object(Bucket=bucket, Key="missing-" + os.urandom(3).hex())
    headers = err.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert headers["content-type"] == "application/xml"


def test_listing_owner_comes_before_storage_class(s3, bucket):
    c = make_client(s3.url)
    c.put_object(Bucket=bucket, Key="k", Body=b"x")
    seen = {}

    def keep(http_response, **kwargs):
        seen["body"] = http_response.content

    c.meta.events.register("after-call.s3.ListObjects", keep)
    c.list_objects(Bucket=bucket)
    contents = ET.fromstring(seen["body"]).find("{http://s3.amazonaws.com/doc/2006-03-01/}Contents")
    tags = [child.tag.split("}")[1] for child in contents]
    assert tags.index("Owner") == tags.index("StorageClass") - 1


def test_user_metadata_header_names_stay_as_aws_sends_them(s3, bucket):
    c = make_client(s3.url)
    c.put_object(Bucket=bucket, Key="m", Body=b"x", Metadata={"Color": "blue"})
    assert c.head_object(Bucket=bucket, Key="m")["Metadata"] == {"color": "blue"}


def test_listing_times_are_whole_seconds_like_last_modified(s3, bucket):
    c = make_client(s3.url)
    c.put_object(Bucket=bucket, Key="t", Body=b"x")
    seen = {}

    def keep(http_response, **kwargs):
        seen["body"] = http_response.content

    c.meta.events.register("after-call.s3.ListObjects", keep)
    listed = c.list_objects(Bucket=bucket)["Contents"][0]["LastModified"]
    raw = ET.fromstring(seen["body"]).find(".//{http://s3.amazonaws.com/doc/2006-03-01/}LastModified").text
    assert raw.endswith(".000Z")
    assert listed == c.head_object(Bucket=bucket, Key="t")["LastModified"]


def test_blank_listing_parameters_are_echoed(s3, bucket):
    c = make_client(s3.url)
    v2 = c.list_objects_v2(Bucket=bucket, Delimiter="", StartAfter="", Prefix="")
    assert v2["StartAfter"] == "" and v2["Prefix"] == "" and "Delimiter" not in v2
    versions = c.list_object_versions(Bucket=bucket, Delimiter="", KeyMarker="", Prefix="")
    assert versions["Delimiter"] == "" and versions["KeyMarker"] == ""


def test_copy_source_takes_only_a_version_id(s3, bucket):
    c = make_client(s3.url)
    c.put_object(Bucket=bucket, Key="src", Body=b"some content")
    raw = {}

    def send_raw(request, **kwargs):  # boto quotes "?": put the header on the wire as given
        request.headers.replace_header("x-amz-copy-source", raw["value"])

    c.meta.events.register("before-sign.s3.CopyObject", send_raw)
    for source in (f"/{bucket}/src?nonsense", f"/{bucket}/src?versionId=null&nonsense"):
        raw["value"] = source
        with pytest.raises(ClientError) as err:
            c.copy_object(Bucket=bucket, Key="dst", CopySource=f"{bucket}/src")
        assert err.value.response["Error"]["Code"] == "InvalidArgument"
    raw["value"] = f"/{bucket}/src?versionId=null"
    c.copy_object(Bucket=bucket, Key="dst", CopySource=f"{bucket}/src")
    assert c.get_object(Bucket=bucket, Key="dst")["Body"].read() == b"some content"


def test_not_modified_says_accept_ranges(s3, bucket):
    c = make_client(s3.url)
    c.put_object(Bucket=bucket, Key="nm", Body=b"x")
    last_modified = c.head_object(Bucket=bucket, Key="nm")["LastModified"]
    with pytest.raises(ClientError) as err:
        c.get_object(Bucket=bucket, Key="nm", IfModifiedSince=last_modified)
    meta = err.value.response["ResponseMetadata"]
    assert meta["HTTPStatusCode"] == 304 and meta["HTTPHeaders"]["accept-ranges"] == "bytes"


def _signed_post(s3, path_and_query: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    """POST ``body`` to ``path_and_query`` signed with SigV4 as test:tester."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    req = AWSRequest(method="POST", url=f"{s3.url}{path_and_query}", data=body,
                     headers={**headers, "x-amz-content-sha256": hashlib.sha256(body).hexdigest()})
    S3SigV4Auth(Credentials("test:tester", "testing"), "s3", "us-east-1").add_auth(req)
    return httpx.post(req.url, content=body, headers=dict(req.headers.items()))


def test_delete_objects_needs_objects_with_keys(s3, bucket):
    for body, code in ((b"<Delete></Delete>", "MalformedXML"),
                       (b"<Delete><Object><Key></Key></Object></Delete>", "UserKeyMustBeSpecified")):
        md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
        r = _signed_post(s3, f"/{bucket}?delete", body, {"Content-MD5": md5})
        assert r.status_code == 400 and f"<Code>{code}</Code>".encode() in r.content, r.content


def _with_header(client, operation: str, name: str, value: str) -> None:
    """Send ``name: value`` on every ``operation`` of ``client`` (a Swift header AWS's SDKs do not model)."""
    def add(request, **kwargs):
        request.headers[name] = value

    client.meta.events.register(f"before-sign.s3.{operation}", add)


@pytest.mark.parametrize("name,value,message", [
    ("X-Delete-At", "test", "Non-integer X-Delete-At"),
    ("X-Delete-At", "1000000000", "X-Delete-At in past"),
    ("X-Delete-After", "test", "Non-integer X-Delete-After"),
    ("X-Delete-After", "-140", "X-Delete-After in past"),
])
def test_put_object_refuses_bad_swift_expiry(s3, bucket, name, value, message):
    c = make_client(s3.url)
    _with_header(c, "PutObject", name, value)
    with pytest.raises(ClientError) as err:
        c.put_object(Bucket=bucket, Key="expiring", Body=b"x")
    assert err.value.response["Error"]["Code"] == "InvalidArgument"
    assert err.value.response["Error"]["Message"] == message
    assert err.value.response["Error"]["ArgumentName"] == name
    assert err.value.response["Error"]["ArgumentValue"] == value


def test_put_object_stores_swift_expiry_shown_as_x_amz_expiration(s3, bucket):
    plain = make_client(s3.url)
    plain.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert "x-amz-expiration" not in plain.head_object(Bucket=bucket, Key="k")["ResponseMetadata"]["HTTPHeaders"]
    when = 4102444800  # 2100-01-01
    c = make_client(s3.url)
    _with_header(c, "PutObject", "X-Delete-At", str(when))
    c.put_object(Bucket=bucket, Key="k", Body=b"x")
    expected = 'expiry-date="Fri, 01 Jan 2100 00:00:00 GMT", rule-id="swift-object-expiration"'
    assert plain.head_object(Bucket=bucket, Key="k")["ResponseMetadata"]["HTTPHeaders"]["x-amz-expiration"] == expected
    got = plain.get_object(Bucket=bucket, Key="k")
    assert got["ResponseMetadata"]["HTTPHeaders"]["x-amz-expiration"] == expected and got["Body"].read() == b"x"
    # X-Delete-After: an expiry that many seconds from now, which the storage nodes carry out
    c2 = make_client(s3.url)
    _with_header(c2, "PutObject", "X-Delete-After", "2")
    c2.put_object(Bucket=bucket, Key="short", Body=b"y")
    assert plain.get_object(Bucket=bucket, Key="short")["Body"].read() == b"y"
    time.sleep(3.2)  # X-Delete-At is rounded up to the next whole second
    with pytest.raises(ClientError) as err:
        plain.head_object(Bucket=bucket, Key="short")
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_x_robots_tag_is_stored_as_swift_stores_it(s3, bucket, http):
    c = make_client(s3.url)
    _with_header(c, "PutObject", "X-Robots-Tag", "googlebot: noarchive")
    c.put_object(Bucket=bucket, Key="robots", Body=b"x")
    plain = make_client(s3.url)
    assert plain.head_object(Bucket=bucket, Key="robots")["ResponseMetadata"]["HTTPHeaders"]["x-robots-tag"] == \
        "googlebot: noarchive"
    # and over the Swift API, whose object servers keep it too
    assert http.put(f"{bucket}/swift-robots", content=b"x", headers={"X-Robots-Tag": "noindex"}).status_code == 201
    assert http.head(f"{bucket}/swift-robots").headers["x-robots-tag"] == "noindex"
