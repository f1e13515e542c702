"""Issue 12, "found in review": each hole played against a real cloud (status, error body, nothing changed).

- the account temp URL key was shown to non-owners (a Keystone reader could mint temp URLs);
- write ACLs accepted referrer rules (``.r:*`` in ``X-Container-Write``: anonymous writes);
- Unicode digits in numbers read from requests were 500s (or read as numbers);
- ``ast.literal_eval`` parsed the volumes ``?metadata=`` filter.
"""

from __future__ import annotations

import json
import os
import time
import uuid

import httpx
import pytest
from botocore.exceptions import ClientError

from proxy.auth.acl import acl_allows
from tests.identity.helpers import admin_token, make_project, make_user
from tests.identity.server import get_token
from tests.s3.conftest import cleanup, make_client
from tests.volumes.conftest import VolumesClient

SUPERSCRIPT_TWO = "\u00b2"  # latin-1, so it arrives intact in a header; isdigit() is True, int() refuses it
ARABIC_ONE = "\u0661"  # int() reads it as 1


@pytest.fixture(scope="module")
def container(http):
    name = f"sec-review-{uuid.uuid4().hex[:8]}"
    assert http.put(name).status_code in (201, 202)
    return name


# --- the account temp URL key -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def project_users(cluster):
    """A Keystone project with a member (owner of its account) and a reader: their tokens and account URL."""
    identity_url = f"http://127.0.0.1:{cluster.conf['identity']['port']}"
    admin = admin_token(cluster, identity_url)
    sfx = uuid.uuid4().hex[:6]
    project = make_project(identity_url, admin, f"sec-{sfx}")
    make_user(identity_url, admin, f"sec-m-{sfx}", "pw-m", project, "member")
    make_user(identity_url, admin, f"sec-r-{sfx}", "pw-r", project, "reader")
    member = get_token(identity_url, f"sec-m-{sfx}", "pw-m", f"sec-{sfx}")[0]
    reader = get_token(identity_url, f"sec-r-{sfx}", "pw-r", f"sec-{sfx}")[0]
    return {"member": member, "reader": reader, "account": f"{cluster.proxy_url}/v1/AUTH_{project}"}


def test_account_temp_url_keys_shown_to_the_owner_only(project_users):
    url, member, reader = project_users["account"], project_users["member"], project_users["reader"]
    resp = httpx.post(url, headers={"X-Auth-Token": member, "X-Account-Meta-Temp-URL-Key": "secret-1",
                                    "X-Account-Meta-Temp-URL-Key-2": "secret-2", "X-Account-Meta-Color": "blue"})
    assert resp.status_code == 204
    owner_view = httpx.head(url, headers={"X-Auth-Token": member}).headers
    assert owner_view["X-Account-Meta-Temp-Url-Key"] == "secret-1"
    assert owner_view["X-Account-Meta-Temp-Url-Key-2"] == "secret-2"
    for method in ("HEAD", "GET"):
        resp = httpx.request(method, url, headers={"X-Auth-Token": reader})
        assert resp.status_code in (200, 204), resp.text
        assert resp.headers["X-Account-Meta-Color"] == "blue"  # other metadata is still shown
        assert not any(h.lower().startswith("x-account-meta-temp-url-key") for h in resp.headers), method
        assert b"secret-" not in resp.content
    # the reader cannot set a key of its own either; the owner's keys are unchanged
    resp = httpx.post(url, headers={"X-Auth-Token": reader, "X-Account-Meta-Temp-URL-Key": "mine"})
    assert resp.status_code == 403
    assert httpx.head(url, headers={"X-Auth-Token": member}).headers["X-Account-Meta-Temp-Url-Key"] == "secret-1"


# --- referrer rules in write ACLs ---------------------------------------------------------------------

@pytest.mark.parametrize("acl, message", [
    (".r:*", "Referrers not allowed in write ACL"),
    ("test:tester3,.r:example.com", "Referrers not allowed in write ACL"),
    (".referrer:-bad.example.com", "Referrers not allowed in write ACL"),
    (".rlistings", "Listings are not allowed in write ACL"),
])
def test_write_acl_refuses_referrer_rules(cluster, http, anon, acl, message):
    name = f"sec-wacl-{uuid.uuid4().hex[:8]}"
    resp = http.put(name, headers={"X-Container-Write": acl})
    assert resp.status_code == 400 and message in resp.text
    assert http.head(name).status_code == 404  # nothing created
    assert http.put(name).status_code == 201
    resp = http.post(name, headers={"X-Container-Write": acl})
    assert resp.status_code == 400 and message in resp.text
    assert "X-Container-Write" not in http.head(name).headers
    assert anon.put(f"/v1/AUTH_test/{name}/x", content=b"anonymous").status_code == 401
    assert http.get(name).text == ""
    assert http.delete(name).status_code == 204


def test_acl_designators_checked_and_read_referrers_kept(http, anon, container):
    for header, acl in (("X-Container-Read", ".r:"), ("X-Container-Read", ".bogus:x"),
                        ("X-Container-Write", ".bogus:x")):
        resp = http.post(container, headers={header: acl})
        assert resp.status_code == 400 and "ACL" in resp.text, (header, acl)
        assert header not in http.head(container).headers
    # read referrers and listings stay what they were: public reads, never public writes
    assert http.post(container, headers={"X-Container-Read": ".r:*,.rlistings"}).status_code == 204
    assert http.put(f"{container}/pub", content=b"public").status_code == 201
    assert anon.get(f"/v1/AUTH_test/{container}/pub").content == b"public"
    assert anon.put(f"/v1/AUTH_test/{container}/pub", content=b"EVIL").status_code == 401
    assert http.get(f"{container}/pub").content == b"public"
    assert http.post(container, headers={"X-Remove-Container-Read": "x"}).status_code == 204


def test_stored_write_referrer_never_grants_a_write():
    """A write ACL stored before the check (``.r:*``) grants nothing to anonymous callers."""
    anonymous = None  # no credentials at all
    assert not acl_allows(anonymous, ".r:*", listing=False, referer="http://x.example.com/", write=True)
    assert acl_allows(anonymous, ".r:*", listing=False, referer="http://x.example.com/", write=False)


# --- Unicode digits in request numbers ----------------------------------------------------------------

def test_swift_unicode_digits_are_refused_not_500(cluster, http, anon, container):
    obj = f"{container}/digits"
    assert http.put(obj, content=b"0123456789").status_code == 201
    # Range: a malformed range is ignored (whole body), as for any other non-number
    resp = http.get(obj, headers={"Range": f"bytes=0-{SUPERSCRIPT_TWO}".encode("latin-1")})
    assert resp.status_code == 200 and resp.content == b"0123456789"
    resp = http.get(obj, headers={"Range": f"bytes={SUPERSCRIPT_TWO}-".encode("latin-1")})
    assert resp.status_code == 200 and resp.content == b"0123456789"
    # X-Delete-After / X-Delete-At: 400, object unchanged and not scheduled for deletion
    for name, value in (("X-Delete-After", SUPERSCRIPT_TWO), ("X-Delete-At", SUPERSCRIPT_TWO),
                        ("X-Delete-At", "inf"), ("X-Delete-At", "nan"), ("X-Delete-After", "1_0")):
        resp = http.put(obj, content=b"EVIL", headers={name: value.encode("latin-1")})
        assert resp.status_code == 400 and "X-Delete" in resp.text, (name, value, resp.text)
        resp = http.post(obj, headers={name: value.encode("latin-1")})
        assert resp.status_code == 400, (name, value)
    got = http.get(obj)
    assert got.content == b"0123456789" and "X-Delete-At" not in got.headers
    # temp_url_expires: the temp URL is invalid (401), never a 500
    assert http.post("", headers={"X-Account-Meta-Temp-URL-Key": "k"}).status_code == 204
    for expires in (SUPERSCRIPT_TWO * 10, ARABIC_ONE * 10):
        resp = anon.get(f"/v1/AUTH_test/{obj}", params={"temp_url_sig": "0" * 40, "temp_url_expires": expires})
        assert resp.status_code == 401
    # listing limit: ignored like any other non-number
    resp = http.get(container, params={"limit": SUPERSCRIPT_TWO, "format": "json"})
    assert resp.status_code == 200 and "digits" in [o["name"] for o in resp.json()]
    # SLO size_bytes and range
    seg = http.put(f"{container}/seg", content=b"x" * 10)
    for field, value in (("size_bytes", SUPERSCRIPT_TWO), ("range", f"0-{SUPERSCRIPT_TWO}"),
                         ("range", f"{ARABIC_ONE}-2")):
        spec = {"path": f"/{container}/seg", "etag": seg.headers["etag"].strip('"'), field: value}
        resp = http.put(f"{container}/manifest", params={"multipart-manifest": "put"}, content=json.dumps([spec]))
        assert resp.status_code == 400, (field, value, resp.text)
    assert http.head(f"{container}/manifest").status_code == 404


@pytest.fixture(scope="module")
def s3_bucket(cluster):
    client = make_client(cluster.proxy_url, when_required=True)
    name = f"sec-review-{os.urandom(4).hex()}"
    client.create_bucket(Bucket=name)
    yield client, name
    cleanup(client, name)


def _s3_code(call, **kwargs) -> str:
    try:
        call(**kwargs)
    except ClientError as err:
        return err.response["Error"]["Code"]
    return ""


def _signed(cluster, method: str, path: str, query: list[tuple[str, str]], body: bytes = b"") -> httpx.Response:
    """A botocore-signed request (the query values percent-encoded as S3 canonicalises them)."""
    from urllib.parse import quote

    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    qs = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" if v is not None else k for k, v in query)
    url = f"{cluster.proxy_url}{path}?{qs}"
    req = AWSRequest(method=method, url=url, data=body)
    S3SigV4Auth(Credentials("test:tester", "testing"), "s3", "us-east-1").add_auth(req)
    return httpx.request(method, url, content=body or None, headers=dict(req.headers.items()))


def test_s3_unicode_digits_are_refused_not_500(cluster, s3_bucket):
    client, bucket = s3_bucket
    client.put_object(Bucket=bucket, Key="digits", Body=b"0123456789")
    up = client.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    cases = [("GET", f"/{bucket}", [("max-keys", v)]) for v in (ARABIC_ONE, SUPERSCRIPT_TWO, "9" * 5000)]
    cases += [("GET", f"/{bucket}", [("list-type", "2"), ("max-keys", ARABIC_ONE)])]
    cases += [("PUT", f"/{bucket}/mp", [("partNumber", v), ("uploadId", up)]) for v in (ARABIC_ONE, SUPERSCRIPT_TWO)]
    cases += [("GET", f"/{bucket}/mp", [("max-parts", ARABIC_ONE), ("uploadId", up)]),
              ("GET", f"/{bucket}/mp", [("part-number-marker", SUPERSCRIPT_TWO), ("uploadId", up)]),
              ("GET", f"/{bucket}", [("max-uploads", ARABIC_ONE), ("uploads", None)])]
    for method, path, query in cases:
        resp = _signed(cluster, method, path, query, b"EVIL" if method == "PUT" else b"")
        assert resp.status_code == 400 and b"<Code>InvalidArgument</Code>" in resp.content, (query, resp.text)
    assert client.list_parts(Bucket=bucket, Key="mp", UploadId=up).get("Parts", []) == []
    for rng in (f"bytes=0-{SUPERSCRIPT_TWO}", f"bytes={SUPERSCRIPT_TWO}-3"):  # headers are latin-1
        code = _s3_code(client.upload_part_copy, Bucket=bucket, Key="mp", UploadId=up, PartNumber=1,
                        CopySource={"Bucket": bucket, "Key": "digits"}, CopySourceRange=rng)
        assert code == "InvalidArgument", rng
    assert client.list_parts(Bucket=bucket, Key="mp", UploadId=up).get("Parts", []) == []
    # CompleteMultipartUpload with a Unicode PartNumber: MalformedXML, the upload stays open
    doc = f"<CompleteMultipartUpload><Part><PartNumber>{ARABIC_ONE}</PartNumber><ETag>x</ETag></Part>" \
          "</CompleteMultipartUpload>"
    resp = _signed(cluster, "POST", f"/{bucket}/mp", [("uploadId", up)], doc.encode())
    assert resp.status_code == 400 and b"<Code>MalformedXML</Code>" in resp.content, resp.text
    assert client.list_parts(Bucket=bucket, Key="mp", UploadId=up)["UploadId"] == up
    # Range: a malformed range is ignored (the whole object), never a 500
    resp = _signed(cluster, "GET", f"/{bucket}/digits", [])
    assert resp.content == b"0123456789"
    got = client.get_object(Bucket=bucket, Key="digits", Range=f"bytes=0-{SUPERSCRIPT_TWO}")
    assert got["Body"].read() == b"0123456789"


# --- the volumes ?metadata= filter ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo(cluster) -> VolumesClient:
    return VolumesClient(cluster, "stackstore")


def test_volume_metadata_filter_is_parsed_strictly(demo):
    before = demo.get("/volumes").json()["volumes"]
    for good in ('{"none": "such"}', "{'none': 'such'}", "{}"):
        resp = demo.get("/volumes/detail", params={"metadata": good})
        assert resp.status_code == 200, (good, resp.text)
    # "[" * 2000: nested past json's recursion limit, yet its request line (percent-encoded) fits [http]
    # max_request_line; "[" * 3000 does not and is refused before the parser (414, below)
    for bad in ("__import__('os').system('true')", "{'a': {'b': 1}}", "[" * 2000, "(" * 200 + ")" * 200,
                "{'a': 'b'} or 1", "{'a': b'x'}", "{'a': 1e999}", "x" * 5000, "{'a' 'b'}", "{1: 2}"):
        resp = demo.get("/volumes/detail", params={"metadata": bad})
        assert resp.status_code == 400, (bad[:40], resp.status_code, resp.text[:200])
        assert resp.json()["badRequest"]["code"] == 400
    assert demo.get("/volumes/detail", params={"metadata": "[" * 3000}).status_code == 414
    assert demo.get("/volumes").json()["volumes"] == before


def test_volume_numbers_refuse_unicode_digits(demo):
    before = demo.get("/volumes").json()["volumes"]
    for value in (ARABIC_ONE, SUPERSCRIPT_TWO):
        resp = demo.get("/volumes", params={"limit": value})
        assert resp.status_code == 400 and resp.json()["badRequest"]["code"] == 400
        resp = demo.post("/volumes", json={"volume": {"size": value, "name": "unicode-size"}})
        assert resp.status_code == 400 and "size" in resp.json()["badRequest"]["message"]
    time.sleep(0.2)
    assert demo.get("/volumes").json()["volumes"] == before
