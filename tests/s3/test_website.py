"""S3 static website hosting end to end: Put/Get/DeleteBucketWebsite (boto3, s3cmd) and the website endpoint
(``<bucket>.<[s3] website_domain>``, plain HTTP as a browser sends it) against the real cloud."""

from __future__ import annotations

import json
import os
import subprocess

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.s3.conftest import ACCESS_KEY, SECRET, cleanup, error_code, make_client

WEBSITE_DOMAIN = "s3-website.localhost"  # the default [s3] website_domain


@pytest.fixture
def owner(s3):
    return make_client(s3.url, when_required=True)


@pytest.fixture
def site(owner):
    """A fresh bucket of test:tester (not public, no website yet)."""
    name = "web-" + os.urandom(5).hex()
    owner.create_bucket(Bucket=name)
    yield name
    cleanup(owner, name)


def visit(s3, bucket: str, path: str, method: str = "GET", **headers: str) -> httpx.Response:
    """A request to the bucket's website, as a browser sends it (no credentials, no redirects followed)."""
    with httpx.Client(timeout=30, follow_redirects=False) as client:
        return client.request(method, s3.url + path, headers={"Host": f"{bucket}.{WEBSITE_DOMAIN}", **headers})


def public_read_policy(bucket: str, *extra: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"},
        {"Effect": "Allow", "Principal": "*", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}"},
        *extra]})


def put_page(owner, bucket: str, key: str, body: str, **extra) -> None:
    owner.put_object(Bucket=bucket, Key=key, Body=body.encode(), ContentType="text/html", **extra)


def website(owner, bucket: str, config: dict) -> None:
    owner.put_bucket_website(Bucket=bucket, WebsiteConfiguration=config)


# -- the configuration ----------------------------------------------------------------------------------


def test_put_get_delete_website(owner, site):
    assert error_code(owner.get_bucket_website, Bucket=site) == "NoSuchWebsiteConfiguration"
    rules = [
        {"Condition": {"KeyPrefixEquals": "docs/"}, "Redirect": {"ReplaceKeyPrefixWith": "documents/"}},
        {"Condition": {"HttpErrorCodeReturnedEquals": "404"},
         "Redirect": {"HostName": "example.com", "Protocol": "https", "HttpRedirectCode": "302",
                      "ReplaceKeyWith": "missing.html"}},
    ]
    website(owner, site, {"IndexDocument": {"Suffix": "index.html"}, "ErrorDocument": {"Key": "404.html"},
                          "RoutingRules": rules})
    got = owner.get_bucket_website(Bucket=site)
    assert got["IndexDocument"] == {"Suffix": "index.html"}
    assert got["ErrorDocument"] == {"Key": "404.html"}
    assert got["RoutingRules"] == rules
    assert "RedirectAllRequestsTo" not in got
    # replaced whole
    website(owner, site, {"RedirectAllRequestsTo": {"HostName": "example.org", "Protocol": "https"}})
    got = owner.get_bucket_website(Bucket=site)
    assert got["RedirectAllRequestsTo"] == {"HostName": "example.org", "Protocol": "https"}
    assert "IndexDocument" not in got
    for _ in range(2):  # deleting twice is fine
        owner.delete_bucket_website(Bucket=site)
    assert error_code(owner.get_bucket_website, Bucket=site) == "NoSuchWebsiteConfiguration"
    assert error_code(owner.get_bucket_website, Bucket="no-such-" + site) == "NoSuchBucket"


def _refusal(owner, bucket: str, config: dict) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        website(owner, bucket, config)
    return info.value.response["Error"]["Code"], info.value.response["Error"].get("Message", "")


def _with_rules(*redirects: dict, **condition) -> dict:
    rules = [{"Redirect": r, **({"Condition": condition} if condition else {})} for r in redirects]
    return {"IndexDocument": {"Suffix": "index.html"}, "RoutingRules": rules}


def test_invalid_configurations(owner, site):
    assert _refusal(owner, site, {}) == (
        "InvalidArgument", "A value for IndexDocument Suffix must be provided if RedirectAllRequestsTo is empty")
    assert _refusal(owner, site, {"IndexDocument": {"Suffix": "a/index.html"}}) == (
        "InvalidArgument", "The IndexDocument Suffix is not well formed")
    assert _refusal(owner, site, {"IndexDocument": {"Suffix": ""}})[0] == "InvalidArgument"
    both = {"IndexDocument": {"Suffix": "index.html"}, "RedirectAllRequestsTo": {"HostName": "example.com"}}
    assert _refusal(owner, site, both)[0] == "MalformedXML"
    assert _refusal(owner, site, {"RedirectAllRequestsTo": {"HostName": "example.com", "Protocol": "ftp"}})[0] \
        == "InvalidRequest"
    many = _with_rules(*[{"HostName": "example.com"}] * 51)
    assert _refusal(owner, site, many) == (
        "InvalidRequest", "51 routing rules provided, the number of routing rules in a website configuration is "
                          "limited to 50.")
    assert _refusal(owner, site, _with_rules({"HttpRedirectCode": "300"})) == (
        "InvalidRequest", "The provided HTTP redirect code (300) is not valid. Valid codes are 3XX except 300.")
    assert _refusal(owner, site, _with_rules({"ReplaceKeyWith": "a", "ReplaceKeyPrefixWith": "b/"})) == (
        "InvalidRequest", "You can only define ReplaceKeyPrefix or ReplaceKey but not both.")
    assert _refusal(owner, site, _with_rules({"HostName": "example.com"}, HttpErrorCodeReturnedEquals="302")) == (
        "InvalidRequest", "The provided HTTP error code (302) is not valid. Valid codes are 4XX or 5XX.")
    assert _refusal(owner, site, _with_rules({"Protocol": "http2"}))[0] == "InvalidRequest"
    assert error_code(owner.get_bucket_website, Bucket=site) == "NoSuchWebsiteConfiguration"  # nothing stored


def test_malformed_xml(s3, site):
    """Documents boto3 would not send: wrong root, unknown elements, a rule without Redirect."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    def put(body: str) -> httpx.Response:
        url = f"{s3.url}/{site}?website"
        request = AWSRequest(method="PUT", url=url, data=body.encode(),
                             headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
        S3SigV4Auth(Credentials(ACCESS_KEY, SECRET), "s3", "us-east-1").add_auth(request)
        return httpx.put(url, content=body.encode(), headers=dict(request.headers.items()))

    ns = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
    for body in ("<nope/>", f"<WebsiteConfiguration {ns}><Bogus/></WebsiteConfiguration>",
                 f"<WebsiteConfiguration {ns}><IndexDocument><Suffix>i.html</Suffix></IndexDocument>"
                 "<RoutingRules><RoutingRule><Condition><KeyPrefixEquals>a</KeyPrefixEquals></Condition>"
                 "</RoutingRule></RoutingRules></WebsiteConfiguration>", "not xml"):
        resp = put(body)
        assert resp.status_code == 400 and "<Code>MalformedXML</Code>" in resp.text, (body, resp.text)


def test_website_permissions(s3, owner, site):
    """s3:GetBucketWebsite / PutBucketWebsite / DeleteBucketWebsite, granted by the bucket policy."""
    other = make_client(s3.url, key="test2:tester2", secret="testing2", when_required=True)
    config = {"IndexDocument": {"Suffix": "index.html"}}
    assert error_code(other.get_bucket_website, Bucket=site) == "AccessDenied"
    assert error_code(other.put_bucket_website, Bucket=site, WebsiteConfiguration=config) == "AccessDenied"
    owner.put_bucket_policy(Bucket=site, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::test2:root"]},
         "Action": ["s3:GetBucketWebsite", "s3:PutBucketWebsite"], "Resource": f"arn:aws:s3:::{site}"}]}))
    other.put_bucket_website(Bucket=site, WebsiteConfiguration=config)
    assert other.get_bucket_website(Bucket=site)["IndexDocument"] == {"Suffix": "index.html"}
    assert error_code(other.delete_bucket_website, Bucket=site) == "AccessDenied"
    owner.delete_bucket_website(Bucket=site)


def test_s3cmd_ws_create_info_delete(s3, owner, site, tmp_path):
    from tests.conftest import require_tool

    s3cmd = require_tool("s3cmd")
    hostport = s3.url.split("://", 1)[1]
    cfg = tmp_path / "s3cfg"
    cfg.write_text(f"[default]\naccess_key = {ACCESS_KEY}\nsecret_key = {SECRET}\nhost_base = {hostport}\n"
                   f"host_bucket = {hostport}\nuse_https = False\nbucket_location = us-east-1\n"
                   f"signature_v2 = False\nwebsite_endpoint = http://%(bucket)s.{WEBSITE_DOMAIN}/\n")

    def run(*args: str) -> str:
        proc = subprocess.run([s3cmd, "-c", str(cfg), *args], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    run("ws-create", "--ws-index=index.html", "--ws-error=error.html", f"s3://{site}")
    got = owner.get_bucket_website(Bucket=site)
    assert got["IndexDocument"] == {"Suffix": "index.html"} and got["ErrorDocument"] == {"Key": "error.html"}
    info = run("ws-info", f"s3://{site}")
    assert "index.html" in info and "error.html" in info, info
    run("ws-delete", f"s3://{site}")
    assert error_code(owner.get_bucket_website, Bucket=site) == "NoSuchWebsiteConfiguration"


# -- the website endpoint ---------------------------------------------------------------------------------


@pytest.fixture
def public_site(owner, site):
    """``site`` readable and listable by everyone but under ``private/``, with pages, an index and an error
    document."""
    deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{site}/private/*"}
    owner.put_bucket_policy(Bucket=site, Policy=public_read_policy(site, deny))
    for key, body in (("index.html", "home"), ("about/index.html", "about"), ("404.html", "not here"),
                      ("private/index.html", "secret"), ("page.html", "a page")):
        put_page(owner, site, key, body)
    website(owner, site, {"IndexDocument": {"Suffix": "index.html"}, "ErrorDocument": {"Key": "404.html"}})
    return site


def test_index_pages_and_objects(s3, public_site):
    home = visit(s3, public_site, "/")
    assert (home.status_code, home.text, home.headers["content-type"]) == (200, "home", "text/html")
    assert visit(s3, public_site, "/about/").text == "about"
    assert visit(s3, public_site, "/page.html").text == "a page"
    head = visit(s3, public_site, "/", "HEAD")
    assert head.status_code == 200 and head.headers["content-length"] == "4" and head.content == b""
    ranged = visit(s3, public_site, "/", range="bytes=1-2")
    assert (ranged.status_code, ranged.text) == (206, "om")
    unchanged = visit(s3, public_site, "/", **{"if-none-match": home.headers["etag"]})
    assert unchanged.status_code == 304 and "x-amz-error-code" not in unchanged.headers


def test_folder_without_slash_redirects(s3, public_site):
    moved = visit(s3, public_site, "/about")
    assert (moved.status_code, moved.headers["location"], moved.content) == (302, "/about/", b"")
    # a folder whose index nobody may read is no folder: the error of the key itself
    assert visit(s3, public_site, "/private").status_code == 404


def test_error_document_with_the_status(s3, owner, public_site):
    missing = visit(s3, public_site, "/missing.html")
    assert (missing.status_code, missing.text) == (404, "not here")
    assert missing.headers["x-amz-error-code"] == "NoSuchKey"
    denied = visit(s3, public_site, "/private/")
    assert (denied.status_code, denied.text, denied.headers["x-amz-error-code"]) == (403, "not here",
                                                                                      "AccessDenied")
    # without a readable error document: the endpoint's HTML page, saying why
    owner.delete_object(Bucket=public_site, Key="404.html")
    page = visit(s3, public_site, "/missing.html")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert page.text.startswith("<html>\n<head><title>404 Not Found</title></head>")
    assert "<li>Code: NoSuchKey</li>" in page.text and "<li>Key: missing.html</li>" in page.text
    assert "An Error Occurred While Attempting to Retrieve a Custom Error Document" in page.text
    assert "<li>Key: 404.html</li>" in page.text
    head = visit(s3, public_site, "/missing.html", "HEAD")
    assert (head.status_code, head.headers["x-amz-error-code"], head.content) == (404, "NoSuchKey", b"")


def test_private_bucket_and_objects(s3, owner, site):
    """No grant to everyone: 403 pages; an object made public is served (its ACL is enough)."""
    website(owner, site, {"IndexDocument": {"Suffix": "index.html"}})
    empty = visit(s3, site, "/")
    assert (empty.status_code, empty.headers["x-amz-error-code"]) == (403, "AccessDenied")
    assert "<li>Code: AccessDenied</li>" in empty.text
    put_page(owner, site, "index.html", "home")
    assert visit(s3, site, "/").status_code == 403
    owner.put_object_acl(Bucket=site, Key="index.html", ACL="public-read")
    home = visit(s3, site, "/")
    assert (home.status_code, home.text) == (200, "home")
    # a public bucket without the key: 404 (everyone may list it)
    owner.put_bucket_acl(Bucket=site, ACL="public-read")
    assert visit(s3, site, "/nothing").headers["x-amz-error-code"] == "NoSuchKey"


def test_no_website_no_bucket_and_other_methods(s3, owner, site):
    plain = visit(s3, site, "/")
    assert (plain.status_code, plain.headers["x-amz-error-code"]) == (404, "NoSuchWebsiteConfiguration")
    assert f"<li>BucketName: {site}</li>" in plain.text
    nothing = visit(s3, "no-such-" + site, "/")
    assert (nothing.status_code, nothing.headers["x-amz-error-code"]) == (404, "NoSuchBucket")
    website(owner, site, {"IndexDocument": {"Suffix": "index.html"}})
    for method in ("POST", "PUT", "DELETE"):
        refused = visit(s3, site, "/x", method)
        assert (refused.status_code, refused.headers["x-amz-error-code"]) == (405, "MethodNotAllowed"), method
    # the S3 API itself is unchanged on the proxy's own host
    assert owner.list_objects_v2(Bucket=site)["KeyCount"] == 0


def test_object_redirects(s3, owner, public_site):
    put_page(owner, public_site, "old.html", "old", WebsiteRedirectLocation="/about/")
    moved = visit(s3, public_site, "/old.html")
    assert (moved.status_code, moved.headers["location"], moved.content) == (301, "/about/", b"")
    assert owner.head_object(Bucket=public_site, Key="old.html")["WebsiteRedirectLocation"] == "/about/"
    put_page(owner, public_site, "away.html", "x", WebsiteRedirectLocation="https://example.com/x")
    assert visit(s3, public_site, "/away.html").headers["location"] == "https://example.com/x"
    with pytest.raises(ClientError) as info:
        put_page(owner, public_site, "bad.html", "x", WebsiteRedirectLocation="about/")
    assert info.value.response["Error"]["Code"] == "InvalidRedirectLocation"
    # a private object with a redirect is not followed: 403
    put_page(owner, public_site, "private/r.html", "x", WebsiteRedirectLocation="/about/")
    assert visit(s3, public_site, "/private/r.html").status_code == 403
    # copies do not carry it, unless given
    owner.copy_object(Bucket=public_site, Key="copy.html", CopySource={"Bucket": public_site, "Key": "old.html"})
    assert "WebsiteRedirectLocation" not in owner.head_object(Bucket=public_site, Key="copy.html")
    owner.copy_object(Bucket=public_site, Key="copy.html", CopySource={"Bucket": public_site, "Key": "old.html"},
                      WebsiteRedirectLocation="/index.html")
    assert visit(s3, public_site, "/copy.html").headers["location"] == "/index.html"


def test_routing_rules(s3, owner, public_site):
    rules = [
        {"Condition": {"KeyPrefixEquals": "docs/"}, "Redirect": {"ReplaceKeyPrefixWith": "documents/"}},
        {"Condition": {"KeyPrefixEquals": "images/"}, "Redirect": {"ReplaceKeyWith": "folderdeleted.html",
                                                                   "HttpRedirectCode": "307"}},
        {"Condition": {"HttpErrorCodeReturnedEquals": "404"},
         "Redirect": {"HostName": "example.com", "Protocol": "https", "ReplaceKeyPrefixWith": "report-404/"}},
    ]
    website(owner, public_site, {"IndexDocument": {"Suffix": "index.html"}, "RoutingRules": rules})
    host = f"http://{public_site}.{WEBSITE_DOMAIN}"
    docs = visit(s3, public_site, "/docs/a%20b.html")
    assert (docs.status_code, docs.headers["location"]) == (301, f"{host}/documents/a%20b.html")
    images = visit(s3, public_site, "/images/x")
    assert (images.status_code, images.headers["location"]) == (307, f"{host}/folderdeleted.html")
    gone = visit(s3, public_site, "/gone")
    assert (gone.status_code, gone.headers["location"]) == (301, "https://example.com/report-404/gone")
    assert visit(s3, public_site, "/").text == "home"  # found: no redirect
    assert visit(s3, public_site, "/private/").status_code == 403  # another error: no rule


def test_redirect_all_requests(s3, owner, site):
    website(owner, site, {"RedirectAllRequestsTo": {"HostName": "example.org"}})
    moved = visit(s3, site, "/a/b?c=d")
    assert (moved.status_code, moved.headers["location"], moved.content) == (301, "http://example.org/a/b?c=d", b"")
    website(owner, site, {"RedirectAllRequestsTo": {"HostName": "example.org", "Protocol": "https"}})
    assert visit(s3, site, "/").headers["location"] == "https://example.org/"


def test_website_cors(s3, owner, public_site):
    owner.put_bucket_cors(Bucket=public_site, CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": ["https://app.example"], "AllowedMethods": ["GET"]}]})
    page = visit(s3, public_site, "/", origin="https://app.example")
    assert page.headers["access-control-allow-origin"] == "https://app.example"
    preflight = visit(s3, public_site, "/", "OPTIONS", origin="https://app.example",
                      **{"access-control-request-method": "GET"})
    assert preflight.status_code == 200


def test_refused_upload_body_is_not_parsed_as_a_request(s3, owner, site):
    """A PUT with a body to a website host: 405, and the connection is closed rather than its body read as the
    next request."""
    website(owner, site, {"IndexDocument": {"Suffix": "index.html"}})
    with httpx.Client(timeout=30) as client:
        resp = client.put(s3.url + "/x", content=b"GET / HTTP/1.1\r\n\r\n" * 100,
                          headers={"Host": f"{site}.{WEBSITE_DOMAIN}"})
    assert resp.status_code == 405 and resp.headers.get("connection") == "close"


def test_website_domain_must_not_overlap_the_storage_domain():
    from proxy.router import Router, is_s3_request

    def build(website_domain: str) -> Router:
        conf = {"proxy": {"storage_domain": "example.net", "s3_domain": "localhost"},
                "s3": {"website_domain": website_domain}}
        return Router(conf, lambda: None, lambda: None, lambda: None)  # type: ignore[arg-type,return-value]

    for clash in ("example.net", "web.example.net"):
        with pytest.raises(ValueError):
            build(clash)
    build("web.example.org")
    scope = {"path": "/v1/AUTH_test", "headers": [(b"host", b"site.web.example.org:8080")], "query_string": b""}
    assert is_s3_request(scope, "localhost", "web.example.org")  # every path of a website host is the bucket's
    assert not is_s3_request(scope, "localhost", "")


def test_post_object_sets_the_redirect(s3, owner, public_site):
    """A browser form upload may give the object its website redirect (AWS's POST field)."""
    from tests.s3.test_post_object import _post, _v4_fields

    fields = {"key": "moved.html", "x-amz-website-redirect-location": "/about/",
              **_v4_fields([["starts-with", "$key", ""], ["starts-with", "$x-amz-website-redirect-location", ""]],
                           public_site)}
    assert _post(s3, public_site, fields).status_code == 204
    moved = visit(s3, public_site, "/moved.html")
    assert (moved.status_code, moved.headers["location"]) == (301, "/about/")


def test_multipart_upload_keeps_the_redirect(s3, owner, public_site):
    up = owner.create_multipart_upload(Bucket=public_site, Key="big.html", WebsiteRedirectLocation="/about/")
    part = owner.upload_part(Bucket=public_site, Key="big.html", UploadId=up["UploadId"], PartNumber=1, Body=b"x")
    owner.complete_multipart_upload(Bucket=public_site, Key="big.html", UploadId=up["UploadId"],
                                    MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert owner.head_object(Bucket=public_site, Key="big.html")["WebsiteRedirectLocation"] == "/about/"
    assert visit(s3, public_site, "/big.html").headers["location"] == "/about/"
