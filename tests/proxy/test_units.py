"""Pure-function tests: ranges, conditionals, listings rendering, tokens, ACLs, path parsing."""

from __future__ import annotations

import json

import pytest

from proxy.auth.acl import acl_allows, parse_acl, referrer_allowed
from proxy.auth.tempauth import TempAuth
from proxy.context import Identity
from proxy.http import conditional, ranges
from proxy.http.errors import HTTPError
from proxy.router import is_s3_request
from proxy.swift import listing
from proxy.swift.router import parse_query, split_path
from stackstore.config import load_config


@pytest.mark.parametrize("header,length,expected", [
    ("bytes=0-9", 100, [(0, 10)]),
    ("bytes=90-", 100, [(90, 100)]),
    ("bytes=-5", 100, [(95, 100)]),
    ("bytes=-500", 100, [(0, 100)]),
    ("bytes=0-0,-1", 100, [(0, 1), (99, 100)]),
    ("bytes=95-200", 100, [(95, 100)]),
    ("bytes=100-", 100, []),
    ("bytes=-0", 100, []),
    ("bytes=200-300,100-", 100, []),
    ("bytes=5-3", 100, None),
    ("bytes=" + ",".join(["0-0"] * 51), 100, []),  # more than 50 ranges: refused (416), as Swift
    ("bytes=" + ",".join(["0-0"] * 50), 100, [(0, 1)] * 50),
    ("bytes=0-50,10-60,20-70", 100, []),  # three overlapping ranges
    ("bytes=0-50,10-60", 100, [(0, 51), (10, 61)]),
    ("bytes=" + ",".join(f"{n}-{n}" for n in range(8, 0, -1)), 100, []),  # eight out of order
    ("bytes=" + ",".join(f"{n}-{n}" for n in range(7, 0, -1)), 100, [(n, n + 1) for n in range(7, 0, -1)]),
    ("items=0-1", 100, None),
    ("bytes=x-1", 100, None),
    (None, 100, None),
])
def test_ranges_for_length(header, length, expected):
    assert ranges.ranges_for_length(ranges.parse_range(header), length) == expected


async def _collect(gen):
    return b"".join([c async for c in gen])


def test_multipart_byteranges_length_matches_body():
    import asyncio

    data = bytes(range(100))

    async def fetch(start, end):
        async def body():
            yield data[start:end]
        return body()

    rs = [(0, 10), (50, 51), (90, 100)]
    body = asyncio.run(_collect(ranges.multipart_byteranges(rs, fetch, "b0und", "text/plain", 100)))
    assert len(body) == ranges.multipart_length(rs, "b0und", "text/plain", 100)
    assert body.startswith(b"--b0und\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-9/100\r\n\r\n")
    assert body.endswith(b"\r\n--b0und--\r\n")


LM = "Sat, 21 Nov 2026 10:00:00 GMT"


@pytest.mark.parametrize("method,headers,expected", [
    ("GET", {"if-match": '"abc"'}, None),
    ("GET", {"if-match": "abc"}, None),
    ("GET", {"if-match": "*"}, None),
    ("GET", {"if-match": '"nope"'}, 412),
    ("GET", {"if-none-match": '"abc"'}, 304),
    ("HEAD", {"if-none-match": "*"}, 304),
    ("PUT", {"if-none-match": "*"}, 412),
    ("GET", {"if-none-match": '"other", "x"'}, None),
    ("GET", {"if-modified-since": LM}, 304),
    ("GET", {"if-modified-since": "Sat, 21 Nov 2026 09:59:59 GMT"}, None),
    ("GET", {"if-unmodified-since": "Sat, 21 Nov 2026 09:59:59 GMT"}, 412),
    ("GET", {"if-unmodified-since": LM}, None),
    ("GET", {"if-modified-since": "garbage"}, None),
    ("GET", {"if-none-match": '"x"', "if-modified-since": LM}, None),  # INM wins over IMS
])
def test_conditionals(method, headers, expected):
    assert conditional.evaluate(method, headers, "abc", LM) == expected


def test_listing_render_formats():
    rows = [{"name": "a&b", "hash": "h", "bytes": 1, "content_type": "t",
             "last_modified": "2026-01-01T00:00:00.000000"},
            {"subdir": "d/"}]
    r = listing.render(rows, listing.JSON, "container", "c")
    assert json.loads(r.body) == rows and r.headers["content-type"].startswith("application/json")
    r = listing.render(rows, listing.XML, "container", "c<")
    assert r.body.decode() == (
        '<?xml version="1.0" encoding="UTF-8"?>\n<container name="c&lt;"><object><name>a&amp;b</name>'
        "<hash>h</hash><bytes>1</bytes><content_type>t</content_type>"
        "<last_modified>2026-01-01T00:00:00.000000</last_modified></object>"
        '<subdir name="d/"><name>d/</name></subdir></container>')
    assert listing.render(rows, listing.PLAIN, "container", "c").body == b"a&b\nd/\n"
    assert listing.render([], listing.PLAIN, "container", "c").status_code == 204
    assert listing.render([], listing.JSON, "container", "c").body == b"[]"


def test_listing_negotiation_and_params():
    assert listing.content_type({"format": "json"}, {}) == listing.JSON
    assert listing.content_type({}, {"accept": "application/xml"}) == listing.XML
    assert listing.content_type({}, {"accept": "text/xml;q=0.9, application/json"}) == listing.JSON
    assert listing.content_type({}, {"accept": "*/*"}) == listing.PLAIN
    with pytest.raises(HTTPError) as err:
        listing.content_type({}, {"accept": "image/png"})
    assert err.value.status == 406
    with pytest.raises(HTTPError) as err:
        listing.parse_params({"limit": "10001"}, 10000)
    assert err.value.status == 412
    # Swift takes delimiters of any length and markers ending in NUL (issue 13)
    p = listing.parse_params({"delimiter": "-&", "marker": "b1\x00", "reverse": "on"}, 10000)
    assert (p.delimiter, p.marker, p.reverse) == ("-&", "b1\x00", True)
    # path= goes to the container servers as it is: they list its direct children
    p = listing.parse_params({"path": "a/b", "reverse": "on", "limit": "7"}, 10000)
    assert (p.path, p.prefix, p.delimiter, p.reverse, p.limit) == ("a/b", None, None, True, 7)


def test_tempauth_tokens():
    conf = load_config(environ={})
    auth = TempAuth(conf, secret=b"s1")
    token, expires = auth.issue_token("test:tester2", now=1000)
    assert token.startswith("AUTH_tk")
    assert auth.validate_token(token, now=1001) == ("test:tester2", expires)
    assert auth.validate_token(token, now=expires + 1) is None
    assert TempAuth(conf, secret=b"s1").validate_token(token, now=1001)  # another worker accepts it
    assert TempAuth(conf, secret=b"s2").validate_token(token, now=1001) is None
    assert auth.validate_token(token[:-2] + "xx", now=1001) is None
    assert auth.validate_token("AUTH_tk" + "garbage", now=1001) is None
    conf["tempauth"]["users"]["test:tester2"]["key"] = "changed"
    assert TempAuth(conf, secret=b"s1").validate_token(token, now=1001) is None  # key change revokes
    ident = auth.identity("test:tester")
    assert (ident.account, ident.is_admin, ident.is_reseller) == ("AUTH_test", True, False)


def test_acls():
    assert parse_acl(".r:*,.rlistings, test:tester3") == (["*"], [".rlistings", "test:tester3"])
    assert referrer_allowed("http://www.example.com/x", [".example.com"])
    assert not referrer_allowed("http://www.example.com/x", ["*", "-www.example.com"])
    t3 = Identity(user="test:tester3", account="AUTH_test")
    assert acl_allows(t3, "test:tester3", listing=True, referer=None)
    assert acl_allows(t3, "test", listing=False, referer=None)
    assert not acl_allows(t3, "test:tester2", listing=False, referer=None)
    assert acl_allows(None, ".r:*", listing=False, referer=None)
    assert not acl_allows(None, ".r:*", listing=True, referer=None)
    assert acl_allows(None, ".r:*,.rlistings", listing=True, referer=None)


def test_split_path():
    assert split_path(b"/v1/AUTH_a") == ("AUTH_a", None, None)
    assert split_path(b"/v1/AUTH_a/") == ("AUTH_a", None, None)
    assert split_path(b"/v1/AUTH_a/c/") == ("AUTH_a", "c", None)
    assert split_path(b"/v1/AUTH_a/c//tmp/f") == ("AUTH_a", "c", "/tmp/f")
    assert split_path(b"/v1/AUTH_a/c/a//b/") == ("AUTH_a", "c", "a//b/")
    assert split_path(b"/v1/AUTH_a/c/%E2%9C%93%20x") == ("AUTH_a", "c", "\u2713 x")
    for bad, status in ((b"/v1/AUTH_a/c/%FF", 412), (b"/v1/AUTH_a/c/%00", 412), (b"/v2/a", 404),
                        (b"/v1/AUTH_a//o", 404)):
        with pytest.raises(HTTPError) as err:
            split_path(bad)
        assert err.value.status == status
    assert parse_query(b"bulk-delete&format=json&prefix=a%2Fb") == {"bulk-delete": "", "format": "json",
                                                                    "prefix": "a/b"}


def _scope(path="/", query=b"", headers=()):
    return {"type": "http", "path": path, "query_string": query, "headers": list(headers)}


def test_is_s3_request():
    assert not is_s3_request(_scope("/v1/AUTH_a", headers=[(b"authorization", b"AWS4-HMAC-SHA256 x")]))
    assert is_s3_request(_scope("/b/k", headers=[(b"authorization", b"AWS4-HMAC-SHA256 Credential=a")]))
    assert is_s3_request(_scope("/b/k", headers=[(b"authorization", b"AWS ak:sig")]))
    assert is_s3_request(_scope("/b/k", query=b"X-Amz-Credential=x&X-Amz-Signature=y"))
    assert is_s3_request(_scope("/b/k", query=b"AWSAccessKeyId=x&Signature=y&Expires=1"))
    assert is_s3_request(_scope("/k", headers=[(b"host", b"bucket.localhost:8080")]), "localhost")
    assert not is_s3_request(_scope("/k", headers=[(b"host", b"localhost:8080")]), "localhost")
    assert not is_s3_request(_scope("/info"))
