"""Temp URLs end to end: keys set with swift post, URLs made with swift tempurl and by hand."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest

from proxy.swift.features.tempurl import signature

KEY = "s3cret-key"


@pytest.fixture(scope="module")
def keyed(swift, http, account):
    """Container ``turl`` with one object; the account temp URL key set to KEY."""
    swift("post", "-m", f"Temp-URL-Key:{KEY}")
    assert http.put("turl").status_code in (201, 202)
    assert http.put("turl/dir/obj.txt", content=b"temp url body").status_code == 201
    account_path = urlsplit(account[0]).path
    return account_path


def cli_url(swift, method, seconds, path, *extra):
    return swift("tempurl", *extra, method, str(seconds), path, KEY).stdout.strip()


@pytest.mark.parametrize("digest", ["sha1", "sha256", "sha512"])
def test_get_with_each_digest(swift, anon, keyed, digest):
    url = cli_url(swift, "GET", 300, f"{keyed}/turl/dir/obj.txt", "--digest", digest)
    r = anon.get(url)
    assert r.status_code == 200 and r.content == b"temp url body"
    assert r.headers["content-disposition"].startswith('attachment; filename="obj.txt"')
    assert anon.head(url).status_code == 200  # a GET signature also allows HEAD


def test_put_iso8601_and_filename(swift, anon, http, keyed):
    url = cli_url(swift, "PUT", 300, f"{keyed}/turl/uploaded", "--iso8601")
    assert "temp_url_expires=20" in url
    assert anon.put(url, content=b"via temp url").status_code == 201
    assert http.get("turl/uploaded").content == b"via temp url"
    get = cli_url(swift, "GET", 300, f"{keyed}/turl/uploaded")
    r = anon.get(get + "&filename=report.txt&inline")
    assert r.headers["content-disposition"] == "inline; filename=\"report.txt\"; filename*=UTF-8''report.txt"


def test_rejections(swift, anon, keyed):
    path = f"{keyed}/turl/dir/obj.txt"
    expired = int(time.time()) - 10
    sig = signature(KEY, "GET", expired, path)
    assert anon.get(f"{path}?temp_url_sig={sig}&temp_url_expires={expired}").status_code == 401
    get_url = cli_url(swift, "GET", 300, path)
    assert anon.put(get_url, content=b"nope").status_code == 401  # wrong method
    assert anon.delete(get_url).status_code == 401
    other = get_url.replace("/dir/obj.txt", "/dir/other.txt")
    assert anon.get(other).status_code == 401
    bad = cli_url(swift, "GET", 300, path).replace("temp_url_sig=", "temp_url_sig=0")
    assert anon.get(bad).status_code == 401


def test_ip_range_is_checked_against_the_peer_not_x_forwarded_for(swift, anon, keyed):
    path = f"{keyed}/turl/dir/obj.txt"
    forged = {"X-Forwarded-For": "10.1.2.3"}  # no load balancer is trusted by default ([http] forwarded_allow_ips)
    outside = cli_url(swift, "GET", 300, path, "--ip-range", "10.0.0.0/8")
    assert anon.get(outside, headers=forged).status_code == 401
    inside = cli_url(swift, "GET", 300, path, "--ip-range", "127.0.0.0/8")
    r = anon.get(inside, headers=forged)
    assert r.status_code == 200 and r.content == b"temp url body"


def test_prefix_based(swift, anon, keyed):
    url = cli_url(swift, "GET", 300, f"{keyed}/turl/dir/", "--prefix-based")
    parts = urlsplit(url)
    r = anon.get(f"{keyed}/turl/dir/obj.txt?{parts.query}")
    assert r.status_code == 200 and r.content == b"temp url body"
    assert anon.get(f"{keyed}/turl/uploaded?{parts.query}").status_code == 401


def test_container_key(http, anon, keyed):
    assert http.post("turl", headers={"X-Container-Meta-Temp-URL-Key-2": "ckey"}).status_code == 204
    path = f"{keyed}/turl/dir/obj.txt"
    expires = int(time.time()) + 60
    sig = signature("ckey", "GET", expires, path, "sha512")
    assert anon.get(f"{path}?temp_url_sig={sig}&temp_url_expires={expires}").status_code == 200


def test_temp_url_on_the_account_path_is_refused_even_with_a_token(anon, account, keyed):
    """A temp URL reaches objects (or, with ``temp_url_prefix=``, a container's root): one naming the
    account path is refused as an invalid temp URL, whatever token comes with it (as Swift's tempurl)."""
    expires = int(time.time()) + 60
    sig = signature(KEY, "GET", expires, f"prefix:{keyed}/")
    query = f"temp_url_sig={sig}&temp_url_expires={expires}&temp_url_prefix="
    assert anon.get(f"{keyed}?{query}", headers={"X-Auth-Token": account[1]}).status_code == 401
    assert anon.get(keyed, headers={"X-Auth-Token": account[1]}).status_code in (200, 204)
