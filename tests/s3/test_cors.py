"""S3 CORS: Put/Get/DeleteBucketCors with boto3, preflights and actual requests from a browser's point
of view with ``requests`` (presigned URLs: a preflight to one carries its query, never a signature)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import requests

from tests.s3.conftest import error_code, make_client

RULES = {"CORSRules": [
    {"AllowedMethods": ["GET", "PUT"], "AllowedOrigins": ["https://app.example.com", "https://*.example.org"],
     "AllowedHeaders": ["x-amz-*", "content-type"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 600},
    {"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]},
]}


@pytest.fixture
def owner(s3):
    return make_client(s3.url)


def _code(resp: requests.Response) -> str:
    return ET.fromstring(resp.content).findtext("Code") or "" if resp.content else ""


def test_put_get_delete_cors(owner, bucket):
    assert error_code(owner.get_bucket_cors, Bucket=bucket) == "NoSuchCORSConfiguration"
    owner.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    rules = owner.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert rules[0]["AllowedOrigins"] == RULES["CORSRules"][0]["AllowedOrigins"]
    assert rules[0]["MaxAgeSeconds"] == 600 and rules[1]["AllowedMethods"] == ["GET"]
    owner.delete_bucket_cors(Bucket=bucket)
    assert error_code(owner.get_bucket_cors, Bucket=bucket) == "NoSuchCORSConfiguration"


@pytest.mark.parametrize("rules,code", [
    ({"CORSRules": [{"AllowedMethods": ["PATCH"], "AllowedOrigins": ["*"]}]}, "InvalidRequest"),
    ({"CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["https://*.*.example.com"]}]},
     "InvalidRequest"),
    ({"CORSRules": []}, "MalformedXML"),
])
def test_invalid_cors_configurations(owner, bucket, rules, code):
    assert error_code(owner.put_bucket_cors, Bucket=bucket, CORSConfiguration=rules) == code


def test_preflight_and_actual_requests_on_presigned_urls(owner, bucket):
    owner.put_object(Bucket=bucket, Key="doc.txt", Body=b"hello")
    url = owner.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "doc.txt"}, ExpiresIn=300)
    preflight = {"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"}

    resp = requests.options(url, headers=preflight, timeout=10)
    assert (resp.status_code, _code(resp)) == (403, "CORSResponse")  # no configuration yet
    owner.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)

    resp = requests.options(url, headers={**preflight, "Access-Control-Request-Headers": "X-Amz-Date, Content-Type"},
                            timeout=10)
    assert resp.status_code == 200
    assert resp.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert resp.headers["Access-Control-Allow-Methods"] == "GET, PUT"
    assert resp.headers["Access-Control-Allow-Headers"] == "x-amz-date, content-type"
    assert resp.headers["Access-Control-Max-Age"] == "600"
    assert resp.headers["Access-Control-Expose-Headers"] == "ETag"

    resp = requests.options(url, headers={"Origin": "https://x.example.org", "Access-Control-Request-Method": "PUT"},
                            timeout=10)
    assert resp.status_code == 200 and resp.headers["Access-Control-Allow-Origin"] == "https://x.example.org"
    resp = requests.options(url, headers={"Origin": "https://evil.test", "Access-Control-Request-Method": "GET"},
                            timeout=10)
    assert resp.status_code == 200 and resp.headers["Access-Control-Allow-Origin"] == "*"  # the "*" rule
    for refused in ({"Origin": "https://evil.test", "Access-Control-Request-Method": "DELETE"},
                    {**preflight, "Access-Control-Request-Headers": "x-forbidden"}):
        resp = requests.options(url, headers=refused, timeout=10)
        assert (resp.status_code, _code(resp)) == (403, "CORSResponse")
    resp = requests.options(url, headers={"Access-Control-Request-Method": "GET"}, timeout=10)
    assert resp.status_code == 400
    resp = requests.options(url, headers={"Origin": "https://app.example.com"}, timeout=10)
    assert resp.status_code == 400

    # the actual request carries the matching rule's headers
    resp = requests.get(url, headers={"Origin": "https://app.example.com"}, timeout=10)
    assert resp.status_code == 200 and resp.content == b"hello"
    assert resp.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert resp.headers["Access-Control-Expose-Headers"] == "ETag"
    assert "Access-Control-Allow-Origin" not in requests.get(url, timeout=10).headers


def test_signed_request_with_origin_gets_cors_headers(owner, bucket):
    owner.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    owner.put_object(Bucket=bucket, Key="k", Body=b"v")

    def add_origin(params, **_kwargs):
        params["headers"]["Origin"] = "https://app.example.com"

    owner.meta.events.register("before-call.s3.GetObject", add_origin)
    resp = owner.get_object(Bucket=bucket, Key="k")
    headers = resp["ResponseMetadata"]["HTTPHeaders"]
    assert headers["access-control-allow-origin"] == "https://app.example.com"


def test_error_answers_carry_cors_headers(s3, owner, bucket):
    """As S3: a browser reads a 404 or a 403 too, so error answers carry the matching rule's headers."""
    owner.put_bucket_acl(Bucket=bucket, ACL="public-read")
    owner.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    origin = {"Origin": "https://app.example.com"}
    missing = requests.get(f"{s3.url}/{bucket}/no-such-key", headers=origin, timeout=30)
    assert missing.status_code == 404 and _code(missing) == "NoSuchKey"
    assert missing.headers["access-control-allow-origin"] == "https://app.example.com"
    refused = requests.put(f"{s3.url}/{bucket}/k", data=b"x", headers=origin, timeout=30)  # anonymous write
    assert refused.status_code == 403
    assert refused.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "PUT" in refused.headers["access-control-allow-methods"]
    other = requests.get(f"{s3.url}/{bucket}/no-such-key", headers={"Origin": "https://evil.example.net"},
                         timeout=30)
    assert other.headers.get("access-control-allow-origin") == "*"  # the second rule: any origin, GET
    plain = requests.get(f"{s3.url}/{bucket}/no-such-key", timeout=30)
    assert "access-control-allow-origin" not in plain.headers
