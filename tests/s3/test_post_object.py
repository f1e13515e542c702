"""POST object: browser form uploads built as a browser builds them (``requests`` multipart/form-data,
fields then the file), with policies signed by SigV4 and by SigV2, and AWS's rejections."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
import requests

from proxy.s3.auth_v4 import signing_key
from tests.s3.conftest import ACCESS_KEY, SECRET, make_client


def _policy(bucket: str, *conditions: object, expires_in: float = 300) -> str:
    expiration = (datetime.now(UTC) + timedelta(seconds=expires_in)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    doc = {"expiration": expiration, "conditions": [{"bucket": bucket}, *conditions]}
    return base64.b64encode(json.dumps(doc).encode()).decode()


def _v4_fields(policy_conditions: list, bucket: str, secret: str = SECRET, **kwargs) -> dict[str, str]:
    day = time.strftime("%Y%m%d", time.gmtime())
    credential = f"{ACCESS_KEY}/{day}/us-east-1/s3/aws4_request"
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    conditions = [*policy_conditions, {"x-amz-algorithm": "AWS4-HMAC-SHA256"}, {"x-amz-credential": credential},
                  {"x-amz-date": amz_date}]
    policy = _policy(bucket, *conditions, **kwargs)
    signature = hmac.new(signing_key(secret, day, "us-east-1"), policy.encode(), hashlib.sha256).hexdigest()
    return {"x-amz-algorithm": "AWS4-HMAC-SHA256", "x-amz-credential": credential, "x-amz-date": amz_date,
            "policy": policy, "x-amz-signature": signature}


def _v2_fields(policy_conditions: list, bucket: str, **kwargs) -> dict[str, str]:
    policy = _policy(bucket, *policy_conditions, **kwargs)
    signature = base64.b64encode(hmac.new(SECRET.encode(), policy.encode(), hashlib.sha1).digest()).decode()
    return {"AWSAccessKeyId": ACCESS_KEY, "policy": policy, "signature": signature}


def _post(s3, bucket: str, fields: dict[str, str], data: bytes = b"hello form", filename: str = "a.txt",
          **kwargs) -> requests.Response:
    # virtual-host style: an unsigned path-style POST reaches S3 once the bucket namespace routes it (helper D)
    return requests.post(f"{s3.url}/", data=fields, files={"file": (filename, data, "text/plain")},
                         headers={"Host": f"{bucket}.localhost"}, timeout=30, **kwargs)


def _code(resp: requests.Response) -> tuple[int, str]:
    return resp.status_code, (ET.fromstring(resp.content).findtext("Code") or "") if resp.content else ""


@pytest.mark.parametrize("signing", ["v4", "v2"])
def test_post_upload_signed(s3, bucket, signing):
    conditions = [["starts-with", "$key", "uploads/"], ["starts-with", "$Content-Type", "text/"],
                  ["content-length-range", 0, 1024], {"x-amz-meta-colour": "blue"}]
    fields = (_v4_fields if signing == "v4" else _v2_fields)(conditions, bucket)
    fields.update({"key": "uploads/${filename}", "Content-Type": "text/plain", "x-amz-meta-colour": "blue"})
    resp = _post(s3, bucket, fields, filename="note.txt")
    assert resp.status_code == 204, resp.text
    obj = make_client(s3.url).get_object(Bucket=bucket, Key="uploads/note.txt")
    assert obj["Body"].read() == b"hello form"
    assert obj["ContentType"] == "text/plain" and obj["Metadata"] == {"colour": "blue"}
    assert resp.headers["ETag"] == obj["ETag"]


def test_post_success_status_and_redirect(s3, bucket):
    fields = _v4_fields([["starts-with", "$key", ""], {"success_action_status": "201"}], bucket)
    resp = _post(s3, bucket, {**fields, "key": "k201", "success_action_status": "201"})
    assert resp.status_code == 201
    doc = ET.fromstring(resp.content)
    assert doc.tag == "PostResponse"  # no namespace, as AWS's: clients read it with a plain find("Key")
    assert doc.findtext("Key") == "k201" and doc.findtext("Bucket") == bucket
    fields = _v4_fields([["starts-with", "$key", ""], {"success_action_redirect": "http://example.invalid/done"}],
                        bucket)
    resp = _post(s3, bucket, {**fields, "key": "kredir", "success_action_redirect": "http://example.invalid/done"},
                 allow_redirects=False)
    assert resp.status_code == 303
    assert resp.headers["Location"].startswith(f"http://example.invalid/done?bucket={bucket}&key=kredir&etag=")


def test_post_large_file_streams(s3, bucket):
    data = bytes(range(256)) * 20000  # 5 MB, many network chunks
    fields = _v4_fields([["starts-with", "$key", ""]], bucket)
    assert _post(s3, bucket, {**fields, "key": "big"}, data=data).status_code == 204
    assert make_client(s3.url).get_object(Bucket=bucket, Key="big")["Body"].read() == data


def test_post_rejections(s3, bucket):
    base = [["starts-with", "$key", "ok/"]]
    assert _code(_post(s3, bucket, {**_v4_fields(base, bucket, expires_in=-60), "key": "ok/x"})) \
        == (403, "AccessDenied")  # expired
    assert _code(_post(s3, bucket, {**_v4_fields(base, bucket), "key": "elsewhere/x"})) \
        == (403, "AccessDenied")  # condition not met
    assert _code(_post(s3, bucket, {**_v4_fields(base, bucket), "key": "ok/x", "x-amz-meta-extra": "1"})) \
        == (403, "AccessDenied")  # a field no condition names
    assert _code(_post(s3, bucket, {**_v4_fields(base, bucket, secret="wrong"), "key": "ok/x"})) \
        == (403, "SignatureDoesNotMatch")
    v2 = _v2_fields(base, bucket)
    assert _code(_post(s3, bucket, {**v2, "signature": "AAAA" + v2["signature"][4:], "key": "ok/x"})) \
        == (403, "SignatureDoesNotMatch")
    assert _code(_post(s3, bucket, {**v2, "AWSAccessKeyId": "nobody", "key": "ok/x"})) \
        == (403, "InvalidAccessKeyId")
    sized = [*base, ["content-length-range", 5, 10]]
    assert _code(_post(s3, bucket, {**_v4_fields(sized, bucket), "key": "ok/x"}, data=b"x" * 11)) \
        == (400, "EntityTooLarge")
    assert _code(_post(s3, bucket, {**_v4_fields(sized, bucket), "key": "ok/x"}, data=b"x" * 4)) \
        == (400, "EntityTooSmall")
    assert _code(_post(s3, bucket, _v4_fields(base, bucket)))[0] == 400  # no key field
    fields = _v4_fields(base, bucket)
    del fields["x-amz-signature"]
    assert _code(_post(s3, bucket, {**fields, "key": "ok/x"})) == (400, "InvalidArgument")
    bad_policy = {**_v4_fields(base, bucket), "key": "ok/x"}
    bad_policy["policy"] = base64.b64encode(b'{"conditions": []}').decode()
    assert _code(_post(s3, bucket, bad_policy))[0] in (400, 403)
    anonymous = _post(s3, bucket, {"key": "ok/x"})
    assert _code(anonymous) == (403, "AccessDenied")
    assert "Contents" not in make_client(s3.url).list_objects_v2(Bucket=bucket)


def test_post_anonymous_to_a_public_write_bucket_with_acl_field(s3, bucket):
    """As AWS: an unsigned form upload (no policy needed) is allowed where a grant reaches everyone, and the
    form's ``acl`` field sets the new object's ACL."""
    owner = make_client(s3.url)
    owner.put_bucket_acl(Bucket=bucket, ACL="public-read-write")
    resp = _post(s3, bucket, {"key": "anon.txt", "acl": "public-read", "Content-Type": "text/plain"})
    assert resp.status_code == 204, resp.text
    assert requests.get(f"{s3.url}/{bucket}/anon.txt", timeout=30).content == b"hello form"
    grants = owner.get_object_acl(Bucket=bucket, Key="anon.txt")["Grants"]
    assert any(g["Grantee"].get("URI", "").endswith("/AllUsers") and g["Permission"] == "READ" for g in grants)


def test_post_signed_with_acl_and_encryption_fields(s3, bucket):
    conditions = [["starts-with", "$key", ""], {"acl": "public-read"}, {"x-amz-server-side-encryption": "AES256"}]
    fields = _v4_fields(conditions, bucket)
    fields.update({"key": "sealed.txt", "acl": "public-read", "x-amz-server-side-encryption": "AES256"})
    assert _post(s3, bucket, fields).status_code == 204
    owner = make_client(s3.url)
    assert owner.head_object(Bucket=bucket, Key="sealed.txt")["ServerSideEncryption"] == "AES256"
    assert requests.get(f"{s3.url}/{bucket}/sealed.txt", timeout=30).content == b"hello form"


def test_post_with_a_storage_class_other_than_standard_is_refused(s3, bucket):
    fields = _v4_fields([["starts-with", "$key", ""], {"x-amz-storage-class": "GLACIER"}], bucket)
    resp = _post(s3, bucket, {**fields, "key": "cold", "x-amz-storage-class": "GLACIER"})
    assert _code(resp) == (400, "InvalidStorageClass"), resp.text
    assert "Contents" not in make_client(s3.url).list_objects_v2(Bucket=bucket)


def test_post_policy_details_as_aws(s3, bucket):
    """The expiration is ISO 8601 with a T and a zone (400 otherwise); an empty starts-with holds for a field
    the form lacks; the form's ``tagging`` field (a Tagging document) tags the object."""
    conditions = [["starts-with", "$key", ""], ["starts-with", "$x-amz-server-side-encryption", ""],
                  ["starts-with", "$tagging", ""]]
    tagging = "<Tagging><TagSet><Tag><Key>colour</Key><Value>blue</Value></Tag></TagSet></Tagging>"
    resp = _post(s3, bucket, {**_v4_fields(conditions, bucket), "key": "tagged", "tagging": tagging})
    assert resp.status_code == 204, resp.text
    client = make_client(s3.url)
    assert client.get_object_tagging(Bucket=bucket, Key="tagged")["TagSet"] == [{"Key": "colour", "Value": "blue"}]
    fields = _v4_fields([["starts-with", "$key", ""]], bucket)
    doc = json.loads(base64.b64decode(fields["policy"]))
    doc["expiration"] = doc["expiration"].replace("T", " ")  # str(datetime): not ISO 8601 as AWS takes it
    fields["policy"] = base64.b64encode(json.dumps(doc).encode()).decode()
    day = fields["x-amz-credential"].split("/")[1]
    fields["x-amz-signature"] = hmac.new(signing_key(SECRET, day, "us-east-1"), fields["policy"].encode(),
                                         hashlib.sha256).hexdigest()
    resp = _post(s3, bucket, {**fields, "key": "late"})
    assert _code(resp) == (400, "InvalidPolicyDocument")


def test_post_checksum_field_is_checked_and_kept(s3, bucket):
    """An ``x-amz-checksum-sha256`` form field needs no policy condition; the file must match it (else 400
    BadDigest), and the object keeps it as PutObject's header would."""
    data = b"x" * 100_000
    good = base64.b64encode(hashlib.sha256(data).digest()).decode()
    fields = _v4_fields([["starts-with", "$key", ""]], bucket)
    resp = _post(s3, bucket, {**fields, "key": "summed", "x-amz-checksum-sha256": good}, data=data)
    assert resp.status_code == 204, resp.text
    head = make_client(s3.url).head_object(Bucket=bucket, Key="summed", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == good
    bad = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    resp = _post(s3, bucket, {**fields, "key": "mismatch", "x-amz-checksum-sha256": bad}, data=data)
    assert _code(resp) == (400, "BadDigest")
    resp = _post(s3, bucket, {**fields, "key": "malformed", "x-amz-checksum-sha256": "sailorjerry"}, data=data)
    assert resp.status_code == 400
