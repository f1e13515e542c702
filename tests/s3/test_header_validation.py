"""Header and signature validation as AWS answers it: requests whose headers boto3 altered after the
call was built (before signing), with SigV4 and SigV2 clients."""

from __future__ import annotations

import base64
import hashlib
import hmac
import xml.etree.ElementTree as ET
from email.utils import formatdate

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.s3.conftest import make_client


def _put(client, bucket: str, change: dict | None = None, remove: str | None = None, *,
         create_bucket: bool = False) -> tuple[int, str]:
    """PutObject (or CreateBucket) with headers changed before signing: (status, error code)."""
    event = "before-call.s3.CreateBucket" if create_bucket else "before-call.s3.PutObject"

    def alter(params, **_kwargs):
        params["headers"].update(change or {})
        if remove:
            params["headers"].pop(remove, None)

    client.meta.events.register(event, alter)
    try:
        if create_bucket:
            client.create_bucket(Bucket=bucket + "-new")
            client.delete_bucket(Bucket=bucket + "-new")
        else:
            client.put_object(Bucket=bucket, Key="foo", Body=b"bar")
    except ClientError as err:
        return err.response["ResponseMetadata"]["HTTPStatusCode"], err.response["Error"]["Code"]
    finally:
        client.meta.events.unregister(event, alter)
    return 200, ""


@pytest.mark.parametrize("change,remove,expected", [
    ({"Content-MD5": "YWJyYWNhZGFicmE="}, None, (400, "InvalidDigest")),
    ({"Content-MD5": "rL0Y20xC+Fzt72VPzMSk2A=="}, None, (400, "BadDigest")),
    ({"Content-MD5": ""}, None, (400, "InvalidDigest")),
    (None, "Content-MD5", (200, "")),
    ({"Expect": "200"}, None, (200, "")),
    ({"Expect": ""}, None, (200, "")),
    ({"Content-Type": "text/plain"}, None, (200, "")),
])
def test_sigv4_put_object_headers(s3, bucket, change, remove, expected):
    client = make_client(s3.url, when_required=True)
    assert _put(client, bucket, change, remove) == expected


@pytest.mark.parametrize("change,remove,expected", [
    ({"Content-MD5": "AWS HAHAHA"}, None, (400, "InvalidDigest")),
    ({"User-Agent": ""}, None, (200, "")),
    (None, "User-Agent", (200, "")),
    ({"x-amz-date": "Bad Date"}, None, (403, "AccessDenied")),
    ({"x-amz-date": ""}, None, (403, "AccessDenied")),
    ({"x-amz-date": "Tue, 07 Jul 2010 21:53:04 GMT"}, None, (403, "RequestTimeTooSkewed")),
    ({"x-amz-date": "Tue, 07 Jul 1950 21:53:04 GMT"}, None, (403, "AccessDenied")),
    ({"x-amz-date": "Tue, 07 Jul 9999 21:53:04 GMT"}, None, (403, "RequestTimeTooSkewed")),
])
def test_sigv2_put_object_headers(s3, bucket, change, remove, expected):
    client = make_client(s3.url, when_required=True, signature_version="s3")
    assert _put(client, bucket, change, remove) == expected


@pytest.mark.parametrize("change,expected", [
    ({"x-amz-date": "Bad Date"}, (403, "AccessDenied")),
    ({"x-amz-date": ""}, (403, "AccessDenied")),
    ({"x-amz-date": "Tue, 07 Jul 2030 21:53:04 GMT"}, (403, "RequestTimeTooSkewed")),
    ({"x-amz-date": "Tue, 07 Jul 1950 21:53:04 GMT"}, (403, "AccessDenied")),
    ({"User-Agent": ""}, (200, "")),
])
def test_sigv2_create_bucket_headers(s3, bucket, change, expected):
    client = make_client(s3.url, when_required=True, signature_version="s3")
    assert _put(client, bucket, change, create_bucket=True) == expected


# boto3 signs after the call's headers are built (its signers replace Authorization and add Date), so
# requests without a valid Authorization or without any date are sent raw

def _error(resp: httpx.Response) -> tuple[int, str]:
    code = ET.fromstring(resp.content).findtext("Code") if resp.content else ""
    return resp.status_code, code or ""


def _v2_signature(method: str, resource: str, date: str, secret: str = "testing") -> str:
    text = f"{method}\n\n\n{date}\n{resource}"
    return base64.b64encode(hmac.new(secret.encode(), text.encode(), hashlib.sha1).digest()).decode()


@pytest.mark.parametrize("authorization", [None, ""])
def test_missing_or_empty_authorization_is_access_denied(s3, bucket, authorization):
    # virtual-host style: an unsigned path-style request reaches S3 only for a registered bucket (helper D)
    headers = {} if authorization is None else {"Authorization": authorization}
    for host, path in ((f"{bucket}.localhost", "/foo"), (f"{bucket}-new.localhost", "/")):
        resp = httpx.put(f"{s3.url}{path}", content=b"bar", headers={**headers, "Host": host})
        assert _error(resp) == (403, "AccessDenied")


def test_sigv2_malformed_authorization_is_invalid_argument(s3, bucket):
    for target in (f"{s3.url}/{bucket}/foo", f"{s3.url}/{bucket}-new"):
        resp = httpx.put(target, content=b"bar", headers={"Authorization": "AWS HAHAHA",
                                                           "Date": formatdate(usegmt=True)})
        assert _error(resp) == (400, "InvalidArgument")


def test_sigv2_without_any_date_is_access_denied(s3, bucket):
    signature = _v2_signature("PUT", f"/{bucket}/foo", "")
    resp = httpx.put(f"{s3.url}/{bucket}/foo", content=b"bar",
                     headers={"Authorization": f"AWS test:tester:{signature}"})
    assert _error(resp) == (403, "AccessDenied")
    date = formatdate(usegmt=True)
    resp = httpx.put(f"{s3.url}/{bucket}/foo", content=b"bar", headers={
        "Authorization": f"AWS test:tester:{_v2_signature('PUT', f'/{bucket}/foo', date)}", "Date": date})
    assert resp.status_code == 200
