"""DLOs as Swift 2.38 serves them: POST sets, changes or removes X-Object-Manifest; a multi-range GET
is answered 200 with the whole object; a Referer ACL on the segment container lets the segments be
read; temp URLs may not create manifests (real cloud)."""

from __future__ import annotations

import time
import uuid
from urllib.parse import urlsplit

import httpx
import pytest

from proxy.swift.features.tempurl import signature


@pytest.fixture()
def dlo(http, container) -> dict[str, str]:
    """``<container>/man`` (body ``manifest-contents``) over segments ``low/a..c``; ``up/A..C`` too."""
    for prefix, letters in (("low", "abc"), ("up", "ABC")):
        for letter in letters:
            assert http.put(f"{container}/{prefix}/{letter}", content=letter.encode() * 5).status_code == 201
    r = http.put(f"{container}/man", content=b"manifest-contents",
                 headers={"X-Object-Manifest": f"{container}/low/"})
    assert r.status_code == 201
    return {"container": container, "low": f"{container}/low/", "up": f"{container}/up/"}


def test_post_changes_the_manifest_and_keeps_the_body(http, dlo):
    c = dlo["container"]
    assert http.get(f"{c}/man").content == b"aaaaabbbbbccccc"
    r = http.post(f"{c}/man", headers={"X-Object-Manifest": dlo["up"], "X-Object-Meta-Foo": "bar"})
    assert r.status_code == 202
    head = http.head(f"{c}/man")
    assert head.headers["x-object-manifest"] == dlo["up"]
    assert head.headers["x-object-meta-foo"] == "bar"
    assert http.get(f"{c}/man").content == b"AAAAABBBBBCCCCC"
    assert http.get(f"{c}/man", params={"multipart-manifest": "get"}).content == b"manifest-contents"


def test_post_without_the_header_makes_it_a_plain_object(http, dlo):
    c = dlo["container"]
    assert http.post(f"{c}/man", headers={"X-Object-Meta-Foo": "bar"}).status_code == 202
    head = http.head(f"{c}/man")
    assert "x-object-manifest" not in head.headers
    assert http.get(f"{c}/man").content == b"manifest-contents"


def test_post_makes_a_plain_object_a_manifest(http, dlo):
    c = dlo["container"]
    assert http.put(f"{c}/plain", content=b"file contents").status_code == 201
    assert http.post(f"{c}/plain", headers={"X-Object-Manifest": dlo["low"]}).status_code == 202
    assert http.get(f"{c}/plain").content == b"aaaaabbbbbccccc"
    assert http.head(f"{c}/plain").headers["x-object-manifest"] == dlo["low"]


def test_post_with_a_malformed_manifest_is_400(http, dlo):
    assert http.post(f"{dlo['container']}/man", headers={"X-Object-Manifest": "no-slash"}).status_code == 400


def test_multi_range_get_is_the_whole_object(http, dlo):
    r = http.get(f"{dlo['container']}/man", headers={"Range": "bytes=0-1,5-6"})
    assert r.status_code == 200
    assert r.content == b"aaaaabbbbbccccc"
    one = http.get(f"{dlo['container']}/man", headers={"Range": "bytes=4-5"})
    assert one.status_code == 206 and one.content == b"ab"
    assert http.get(f"{dlo['container']}/man", headers={"Range": "bytes=50-60"}).status_code == 416


def test_referer_acl_on_the_segment_container(cluster, http):
    manifests, segments = "dlo-ref-" + uuid.uuid4().hex[:8], "dlo-refseg-" + uuid.uuid4().hex[:8]
    for name in (manifests, segments):
        assert http.put(name).status_code in (201, 202)
    assert http.put(f"{segments}/s/1", content=b"x" * 10).status_code == 201
    assert http.put(f"{manifests}/man", content=b"", headers={"X-Object-Manifest": f"{segments}/s/"}).status_code == 201
    url, _ = cluster.auth("test:tester", "testing")
    _, t3_token = cluster.auth("test:tester3", "testing3")
    headers = {"X-Auth-Token": t3_token, "Referer": "http://blah.example.com"}
    with httpx.Client(base_url=url + "/", headers=headers, timeout=60) as tester3:
        assert tester3.get(f"{manifests}/man").status_code == 403
        acl = {"X-Container-Read": ".r:*.example.com,.rlistings"}
        assert http.post(manifests, headers=acl).status_code == 204
        assert tester3.get(f"{manifests}/man").status_code == 403  # the segments are still not readable
        assert http.post(segments, headers=acl).status_code == 204
        r = tester3.get(f"{manifests}/man")
        assert r.status_code == 200 and r.content == b"x" * 10
        other = tester3.get(f"{manifests}/man", headers={"Referer": "http://elsewhere.org"})
        assert other.status_code == 403


def test_temp_url_may_not_create_or_change_a_manifest(account, http, anon, container):
    assert http.post("", headers={"X-Account-Meta-Temp-URL-Key": "dlo-key"}).status_code == 204
    path = f"{urlsplit(account[0]).path}/{container}/obj"
    expires = int(time.time()) + 300

    def url(method: str) -> str:
        return f"{path}?temp_url_sig={signature('dlo-key', method, expires, path)}&temp_url_expires={expires}"

    r = anon.put(url("PUT"), content=b"", headers={"X-Object-Manifest": f"{container}/x"})
    assert r.status_code == 400
    assert "X-Object-Manifest" in r.text
    assert anon.put(url("PUT"), content=b"plain").status_code == 201
    assert anon.post(url("POST"), headers={"X-Object-Manifest": f"{container}/x"}).status_code == 400
    assert "x-object-manifest" not in http.head(f"{container}/obj").headers
