"""Object verbs: PUT/GET/HEAD/POST/DELETE semantics, names, uploads, expiry, errors."""

from __future__ import annotations

import hashlib
import socket
import time
from urllib.parse import quote, urlsplit

import pytest


def test_put_get_head_delete(http, container):
    data = b"hello world"
    r = http.put(f"{container}/o", content=data, headers={"Content-Type": "text/x-test",
                                                           "X-Object-Meta-Color": "blue"})
    assert r.status_code == 201
    assert r.headers["Etag"] == hashlib.md5(data).hexdigest()  # unquoted lowercase hex
    assert r.headers["Last-Modified"].endswith(" GMT")
    r = http.get(f"{container}/o")
    assert r.status_code == 200 and r.content == data
    h = r.headers
    assert h["Content-Length"] == "11" and h["Content-Type"] == "text/x-test"
    assert h["Etag"] == hashlib.md5(data).hexdigest() and h["Accept-Ranges"] == "bytes"
    assert h["X-Object-Meta-Color"] == "blue" and len(h["X-Timestamp"]) == 16
    assert h["Last-Modified"].endswith(" GMT")
    r = http.head(f"{container}/o")
    assert r.status_code == 200 and r.headers["Content-Length"] == "11" and r.content == b""
    assert http.delete(f"{container}/o").status_code == 204
    assert http.get(f"{container}/o").status_code == 404
    assert http.head(f"{container}/o").status_code == 404
    assert http.delete(f"{container}/o").status_code == 404


def test_put_missing_container_404(http):
    assert http.put("no-such-container-xyz/o", content=b"x").status_code == 404


def test_etag_verified(http, container):
    r = http.put(f"{container}/o", content=b"abc", headers={"Etag": hashlib.md5(b"abd").hexdigest()})
    assert r.status_code == 422
    assert http.get(f"{container}/o").status_code == 404
    r = http.put(f"{container}/o", content=b"abc", headers={"Etag": f'"{hashlib.md5(b"abc").hexdigest()}"'})
    assert r.status_code == 201


def test_chunked_upload(http, container):
    def gen():
        for i in range(50):
            yield bytes([i]) * 1000

    r = http.put(f"{container}/chunked", content=gen())
    assert r.status_code == 201
    expected = b"".join(gen())
    assert r.headers["Etag"] == hashlib.md5(expected).hexdigest()
    assert http.get(f"{container}/chunked").content == expected
    r = http.put(f"{container}/empty-chunked", content=iter([]))
    assert r.status_code == 201 and http.get(f"{container}/empty-chunked").content == b""


def _raw(url: str, request: bytes, expect_continue: bool = False, body: bytes = b"") -> tuple[bytes, bytes]:
    """Send a raw HTTP/1.1 request; returns (interim response or b"", final response head+body)."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as s:
        s.sendall(request)
        interim = b""
        if expect_continue:
            interim = s.recv(65536)
            s.sendall(body)
        s.settimeout(10)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return interim, data


def test_expect_100_continue_chunked(account, container):
    url, token = account
    path = urlsplit(url).path + f"/{container}/continued"
    head = (f"PUT {path} HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {token}\r\nExpect: 100-continue\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode()
    body = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    interim, final = _raw(url, head, True, body)
    assert interim.startswith(b"HTTP/1.1 100")
    assert final.startswith(b"HTTP/1.1 201"), final
    assert hashlib.md5(b"hello world").hexdigest().encode() in final


def test_length_required_and_too_large(account, container):
    url, token = account
    path = urlsplit(url).path + f"/{container}/o"
    _, final = _raw(url, (f"PUT {path} HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {token}\r\n"
                          "Connection: close\r\n\r\n").encode())
    assert final.startswith(b"HTTP/1.1 411")
    _, final = _raw(url, (f"PUT {path} HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {token}\r\n"
                          "Content-Length: 5368709123\r\nConnection: close\r\n\r\n").encode())
    assert final.startswith(b"HTTP/1.1 413")
    assert b"x-trans-id" in final.lower()


def test_if_none_match_star_on_put(http, container):
    assert http.put(f"{container}/o", content=b"1", headers={"If-None-Match": "*"}).status_code == 201
    assert http.put(f"{container}/o", content=b"2", headers={"If-None-Match": "*"}).status_code == 412
    assert http.put(f"{container}/o", content=b"2", headers={"If-None-Match": "abc"}).status_code == 400
    assert http.get(f"{container}/o").content == b"1"


def test_content_type_defaults(http, container):
    http.put(f"{container}/blob", content=b"x")
    assert http.head(f"{container}/blob").headers["Content-Type"] == "application/octet-stream"
    http.put(f"{container}/page.html", content=b"x")
    assert http.head(f"{container}/page.html").headers["Content-Type"] == "text/html"
    http.put(f"{container}/doc.txt", content=b"x",
             headers={"Content-Type": "application/x-given", "X-Detect-Content-Type": "true"})
    assert http.head(f"{container}/doc.txt").headers["Content-Type"] == "text/plain"


def test_post_replaces_metadata(http, container):
    http.put(f"{container}/o", content=b"x", headers={"X-Object-Meta-A": "1", "X-Object-Meta-B": "2",
                                                       "Content-Type": "text/plain"})
    r = http.post(f"{container}/o", headers={"X-Object-Meta-C": "3"})
    assert r.status_code == 202
    h = http.head(f"{container}/o").headers
    assert h["X-Object-Meta-C"] == "3" and "X-Object-Meta-A" not in h and "X-Object-Meta-B" not in h
    assert h["Content-Type"] == "text/plain"
    assert http.post(f"{container}/o", headers={"Content-Type": "image/png"}).status_code == 202
    assert http.head(f"{container}/o").headers["Content-Type"] == "image/png"
    assert http.post(f"{container}/missing", headers={"X-Object-Meta-C": "3"}).status_code == 404


def test_expiring_objects(http, container):
    r = http.put(f"{container}/soon", content=b"x", headers={"X-Delete-After": "1"})
    assert r.status_code == 201
    h = http.head(f"{container}/soon").headers
    assert abs(int(h["X-Delete-At"]) - time.time()) <= 2
    time.sleep(2.1)
    assert http.get(f"{container}/soon").status_code == 404
    assert http.head(f"{container}/soon").status_code == 404
    assert http.put(f"{container}/o", content=b"x", headers={"X-Delete-At": "1000"}).status_code == 400
    assert http.put(f"{container}/o", content=b"x", headers={"X-Delete-At": "soon"}).status_code == 400
    assert http.put(f"{container}/o", content=b"x", headers={"X-Delete-After": "-5"}).status_code == 400
    # POST can set and (by omission) clear expiry
    http.put(f"{container}/later", content=b"x")
    assert http.post(f"{container}/later", headers={"X-Delete-After": "3600"}).status_code == 202
    assert "X-Delete-At" in http.head(f"{container}/later").headers
    assert http.post(f"{container}/later", headers={"X-Object-Meta-K": "v"}).status_code == 202
    assert "X-Delete-At" not in http.head(f"{container}/later").headers


@pytest.mark.parametrize("name", ["/tmp/f", "a//b", "dir/", "//x//", "sp ace+plus%25?#", "ünï©ødé/✓"])
def test_odd_object_names(http, container, name):
    data = name.encode()
    r = http.put(f"{container}/{quote(name)}", content=data)
    assert r.status_code == 201, name
    assert http.get(f"{container}/{quote(name)}").content == data
    names = [o["name"] for o in http.get(container, params={"format": "json"}).json()]
    assert names == [name]
    assert http.delete(f"{container}/{quote(name)}").status_code == 204


def test_openstack_cli_style_double_slash(account, container):
    url, token = account
    path = urlsplit(url).path + f"/{container}//tmp/f"
    _, final = _raw(url, (f"PUT {path} HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {token}\r\n"
                          "Content-Length: 2\r\nConnection: close\r\n\r\nok").encode())
    assert final.startswith(b"HTTP/1.1 201")


def test_invalid_names(http, container):
    assert http.put(f"{container}/{'x' * 1025}", content=b"x").status_code == 400
    assert http.put(f"{container}/{'x' * 1024}", content=b"x").status_code == 201
    assert http.put("c" * 257).status_code == 400
    assert http.get(f"{container}/%FF").status_code == 412
    assert http.get(f"{container}/a%00b").status_code == 412


def test_method_not_allowed(http, container):
    r = http.request("PATCH", f"{container}/o")
    assert r.status_code == 405 and "Allow" in r.headers
