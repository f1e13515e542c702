"""SigV4 canonicalisation checked against botocore's own signer (header and presigned forms)."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from proxy.s3 import auth_v4
from proxy.s3.credentials import ConfigCredentials
from proxy.s3.errors import S3Error

CONF = {"tempauth": {"users": {"test:tester": {"key": "testing", "groups": [".admin"]}}},
        "s3": {"keys": {"AKEXTRA": {"secret": "s3cr3t", "user": "test:tester"}}}}
STORE = ConfigCredentials(CONF)
CREDS = Credentials("test:tester", "testing")


def _raw_headers(req: AWSRequest) -> list[tuple[bytes, bytes]]:
    return [(b"host", urlsplit(req.url).netloc.encode())] + [
        (k.lower().encode(), v.encode("latin-1") if isinstance(v, str) else v) for k, v in req.headers.items()]


def _verify(req: AWSRequest, now: float | None = None, store=STORE):
    parts = urlsplit(req.url)
    query: dict[str, str] = {}
    for n, v in auth_v4.query_pairs(parts.query):
        query.setdefault(n.decode(), v.decode())
    return asyncio.run(auth_v4.verify(req.method, parts.path or "/", parts.query, _raw_headers(req), query,
                                      store, now))


def _signed(method: str, url: str, headers: dict | None = None, body: bytes = b"", region="us-east-1",
            creds=CREDS) -> AWSRequest:
    req = AWSRequest(method=method, url=url, headers=headers or {}, data=body)
    S3SigV4Auth(creds, "s3", region).add_auth(req)
    return req


KEYS = ["plain.txt", "with space/and+plus", "tilde~bang!(paren)", "ümlaut/ß", "a//b/./c/../d", "%41literal"]


@pytest.mark.parametrize("key", KEYS)
def test_header_auth_keys(key):
    from urllib.parse import quote

    url = "http://127.0.0.1:9000/bucket/" + quote(key, safe="/~")
    info = _verify(_signed("GET", url))
    assert info.credential.account == "AUTH_test" and info.version == 4


@pytest.mark.parametrize("query", ["uploads", "uploads=", "delimiter=&prefix=a%20b&max-keys=10",
                                   "list-type=2&encoding-type=url&start-after=x%2By",
                                   "partNumber=3&uploadId=abc%2Fdef",
                                   "response-content-disposition=attachment%3B%20f%3D%22x%22"])
def test_header_auth_queries(query):
    _verify(_signed("GET", "http://127.0.0.1:9000/b/k?" + query))


def test_region_is_taken_from_scope_and_extra_key():
    _verify(_signed("PUT", "http://h:1/b/k", {"x-amz-meta-a": "  two   spaces ", "Content-Type": "text/plain"},
                    b"data", region="RegionOne"))
    _verify(_signed("GET", "http://h:1/", creds=Credentials("AKEXTRA", "s3cr3t")))


def test_bad_signature_and_unknown_key():
    req = _signed("GET", "http://h:1/b/k", creds=Credentials("test:tester", "wrong"))
    with pytest.raises(S3Error) as err:
        _verify(req)
    assert err.value.code == "SignatureDoesNotMatch" and "CanonicalRequest" in err.value.extra
    with pytest.raises(S3Error) as err:
        _verify(_signed("GET", "http://h:1/b/k", creds=Credentials("nobody:x", "y")))
    assert err.value.code == "InvalidAccessKeyId"


def test_a_doubled_amz_date_is_one_invalid_date():
    """Repeated headers are one comma-joined value, as HTTP reads them: a second, empty x-amz-date makes the
    date invalid (AccessDenied), whichever value comes last."""
    req = _signed("GET", "http://h:1/b")
    parts = urlsplit(req.url)
    for extra_first in (True, False):
        headers = _raw_headers(req)
        extra = (b"x-amz-date", b"")
        headers = [extra] + headers if extra_first else headers + [extra]
        with pytest.raises(S3Error) as err:
            asyncio.run(auth_v4.verify("GET", parts.path, "", headers, {}, STORE))
        assert err.value.code == "AccessDenied" and "valid Date or x-amz-date" in err.value.message


def test_skew():
    req = _signed("GET", "http://h:1/b")
    with pytest.raises(S3Error) as err:
        _verify(req, now=time.time() + 16 * 60)
    assert err.value.code == "RequestTimeTooSkewed"


def test_no_spaces_after_commas():
    req = _signed("GET", "http://h:1/b")
    req.headers.replace_header("Authorization", req.headers["Authorization"].replace(", ", ","))
    _verify(req)


def test_presigned_and_expiry():
    req = AWSRequest(method="GET", url="http://127.0.0.1:9000/b/some%20key?response-content-type=text%2Fplain")
    S3SigV4QueryAuth(CREDS, "s3", "us-east-1", expires=60).add_auth(req)
    info = _verify(req)
    assert info.presigned
    with pytest.raises(S3Error) as err:
        _verify(req, now=time.time() + 120)
    assert err.value.code == "AccessDenied"


def test_presigned_expires_must_be_non_negative_and_at_most_a_week():
    for expires, message in ((-1, "X-Amz-Expires must be non-negative"),
                             (7 * 24 * 3600 + 1, "X-Amz-Expires must be less than a week")):
        req = AWSRequest(method="GET", url="http://127.0.0.1:9000/b/k")
        S3SigV4QueryAuth(CREDS, "s3", "us-east-1", expires=expires).add_auth(req)
        with pytest.raises(S3Error) as err:
            _verify(req)
        assert err.value.code == "AuthorizationQueryParametersError" and message in err.value.message


def test_a_signed_value_beyond_ascii_is_checked_as_sent_and_as_utf8():
    """botocore signs a header's text as UTF-8 while this test's wire carries it as Latin-1 bytes (what an
    HTTP library sends for a str header): the check tries the bytes as sent, then their UTF-8 reading."""
    url = "http://127.0.0.1:9000/bucket/key"
    req = _signed("PUT", url, headers={"x-amz-meta-note": "été", "x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    assert _verify(req).version == 4
    req.headers.replace_header("x-amz-meta-note", "ete")  # not what was signed, in either reading
    with pytest.raises(S3Error) as err:
        _verify(req)
    assert err.value.code == "SignatureDoesNotMatch"
