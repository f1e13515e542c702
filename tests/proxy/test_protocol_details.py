"""Swift's protocol details on the wire (issue 13 §2), over raw sockets where the client library would
tidy the request up: unframed PUTs, raw UTF-8 paths, the version alone, Connection echo, 204 framing,
DELETE's Content-Type, long-name errors and far-future X-Delete-At."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import httpx
import pytest


def _raw_exchange(cluster, chunks: list[bytes], pause: float = 0.0) -> bytes:
    """Send ``chunks`` on a fresh connection (``pause`` seconds apart) and read until the server closes
    or a complete response has been read."""
    url = urlsplit(cluster.proxy_url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        for i, chunk in enumerate(chunks):
            if i and pause:
                time.sleep(pause)
            sock.sendall(chunk)
        data = b""
        while b"\r\n\r\n" not in data:
            piece = sock.recv(65536)
            if not piece:
                break
            data += piece
        head, _, body = data.partition(b"\r\n\r\n")
        length = _header(head, b"content-length")
        while length is not None and len(body) < int(length):
            piece = sock.recv(65536)
            if not piece:
                break
            body += piece
        return head + b"\r\n\r\n" + body


def _header(head: bytes, name: bytes) -> bytes | None:
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip()
    return None


def _status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def _request(path: str, token: str, method: str = "PUT", extra: str = "") -> bytes:
    return (f"{method} {path} HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {token}\r\n{extra}\r\n").encode("latin-1")


@pytest.mark.parametrize("pause", [0.0, 0.3])
def test_put_without_length_or_chunking_answers_411_whatever_the_timing(cluster, account, container, pause):
    storage_url, token = account
    path = urlsplit(storage_url).path + f"/{container}/unframed"
    head = _request(path, token).replace(b"\r\n\r\n", b"\r\nConnection: keep-alive\r\n\r\n")
    body = b"x" * 100 + b"\r\nGET / HTTP/1.1\r\n\r\n"  # looks like a request to a parser: must not run
    chunks = [head + body] if not pause else [head, body]
    response = _raw_exchange(cluster, chunks, pause)
    assert _status(response) == 411, response
    assert _header(response.partition(b"\r\n\r\n")[0], b"connection") == b"close"


def test_raw_utf8_paths_are_names_and_invalid_utf8_is_412(cluster, account, http):
    storage_url, token = account
    base = urlsplit(storage_url).path.encode()
    name = "raw-\u2603-" + str(time.time_ns())
    put = b"PUT %s HTTP/1.1\r\nHost: x\r\nX-Auth-Token: %s\r\nContent-Length: 0\r\n\r\n"
    response = _raw_exchange(cluster, [put % (base + b"/" + name.encode("utf-8"), token.encode())])
    assert _status(response) == 201, response
    assert http.head(name).status_code == 204
    assert http.delete(name).status_code == 204
    response = _raw_exchange(cluster, [put % (base + b"/bad\xff\xfe", token.encode())])
    assert _status(response) == 412, response
    assert response.endswith(b"Invalid UTF8 or contains NULL")


def test_version_alone_is_412_bad_url(cluster, account):
    _, token = account
    for path in ("/v1", "/v1/"):
        response = _raw_exchange(cluster, [_request(path, token, extra="Content-Length: 0\r\n")])
        assert _status(response) == 412, response
        assert response.endswith(b"Bad URL")
    for path in ("/v1//c/o", "/v1///o"):  # an empty account is a malformed path: 404, as Swift
        assert _status(_raw_exchange(cluster, [_request(path, token, method="GET")])) == 404


def test_connection_keep_alive_is_echoed_only_when_asked(http, container):
    assert http.put(f"{container}/o", content=b"data").status_code == 201
    asked = http.get(f"{container}/o", headers={"Connection": "keep-alive"})
    assert asked.headers["Connection"] == "keep-alive"
    plain = http.get(f"{container}/o", headers={"Connection": ""})
    assert "connection" not in plain.headers


def test_204_framing_and_delete_content_type(http, container):
    for r in (http.head(""), http.head(container), http.get(container)):  # the container is empty
        assert r.status_code == 204
        assert r.headers["Content-Length"] == "0"
    assert http.put(f"{container}/o", content=b"data").status_code == 201
    r = http.delete(f"{container}/o")
    assert r.status_code == 204
    assert r.headers["Content-Type"] == "text/html; charset=UTF-8"
    assert r.headers["Content-Length"] == "0"


def test_long_name_errors_are_html(http):
    r = http.put("X" * 2048, content=b"there")
    assert r.status_code == 400
    assert r.headers["Content-Type"] == "text/html; charset=UTF-8"
    assert r.text == "Container name length of 2048 longer than 256"


def test_far_future_delete_at_is_clamped(http, container):
    r = http.put(f"{container}/far", content=b"", headers={"X-Delete-At": "1" * 100})
    assert r.status_code == 201
    assert http.head(f"{container}/far").headers["X-Delete-At"] == "9999999999"
    assert http.put(f"{container}/bad", content=b"", headers={"X-Delete-At": "1x"}).status_code == 400


def test_header_names_go_out_title_cased(cluster, account, http, container):
    assert http.put(f"{container}/meta", content=b"", headers={"x-object-meta-Color": "blUe"}).status_code == 201
    storage_url, token = account
    path = urlsplit(storage_url).path + f"/{container}/meta"
    response = _raw_exchange(cluster, [_request(path, token, method="HEAD")])
    head = response.partition(b"\r\n\r\n")[0]
    assert b"\r\nX-Object-Meta-Color: blUe" in head
    assert b"\r\nContent-Length: 0" in head and b"\r\nX-Trans-Id: " in head


def test_copy_with_a_range_copies_that_part(http, container):
    data = bytes(range(256)) * 4
    assert http.put(f"{container}/src", content=data, headers={"X-Object-Meta-Kept": "yes"}).status_code == 201
    r = http.request("COPY", f"{container}/src", headers={"Destination": f"{container}/part", "Range": "bytes=100-200"})
    assert r.status_code == 201
    got = http.get(f"{container}/part")
    assert got.content == data[100:201] and got.headers["X-Object-Meta-Kept"] == "yes"
    r = http.put(f"{container}/tail", headers={"X-Copy-From": f"{container}/src", "Range": "bytes=-24"})
    assert r.status_code == 201 and http.get(f"{container}/tail").content == data[-24:]
    r = http.request("COPY", f"{container}/src", headers={"Destination": f"{container}/none", "Range": "bytes=5000-"})
    assert r.status_code == 416
    assert http.head(f"{container}/none").status_code == 404


def test_put_with_an_unsupported_transfer_encoding_answers_501(cluster, account, container):
    storage_url, token = account
    path = urlsplit(storage_url).path + f"/{container}/gzipped"
    head = _request(path, token, extra="Transfer-Encoding: gzip,chunked\r\n")
    response = _raw_exchange(cluster, [head + b"x" * 100])
    assert _status(response) == 501, response


def test_head_listing_content_type_follows_the_format(http, container):
    for path in ("", container):
        r = http.head(path, params={"format": "json"})
        assert r.headers["Content-Type"] == "application/json; charset=utf-8"
        assert r.headers["Content-Length"] == "0"
        assert http.head(path).headers["Content-Type"] == "text/plain; charset=utf-8"


def test_416_carries_the_object_etag(http, container):
    assert http.put(f"{container}/o", content=b"0123456789").status_code == 201
    etag = http.head(f"{container}/o").headers["Etag"]
    r = http.get(f"{container}/o", headers={"Range": "bytes=-0"})
    assert r.status_code == 416
    assert r.headers["Etag"] == etag and r.headers["Content-Range"] == "bytes */10"


def test_if_match_and_if_unmodified_since_are_both_checked(http, container):
    assert http.put(f"{container}/o", content=b"data").status_code == 201
    head = http.head(f"{container}/o").headers
    etag, long_ago = head["Etag"], "Thu, 01 Jan 1970 00:00:01 GMT"
    assert http.get(f"{container}/o", headers={"If-Match": etag,
                                               "If-Unmodified-Since": head["Last-Modified"]}).status_code == 200
    r = http.get(f"{container}/o", headers={"If-Match": etag, "If-Unmodified-Since": long_ago})
    assert r.status_code == 412 and r.headers["Etag"] == etag
    r = http.get(f"{container}/o", headers={"If-Match": "bogus", "If-Unmodified-Since": head["Last-Modified"]})
    assert r.status_code == 412


def test_post_content_type_reaches_the_container_listing(http, container):
    assert http.put(f"{container}/o", content=b"x" * 10, headers={"Content-Type": "text/foobar"}).status_code == 201
    before = http.get(container, params={"format": "json"}).json()[0]
    time.sleep(0.01)
    assert http.post(f"{container}/o", headers={"Content-Type": "image/foobarbaz"}).status_code == 202
    assert http.head(f"{container}/o").headers["Content-Type"] == "image/foobarbaz"
    row = http.get(container, params={"format": "json"}).json()[0]
    assert row["content_type"] == "image/foobarbaz" and row["bytes"] == 10 and row["hash"] == before["hash"]
    assert row["last_modified"] > before["last_modified"]
    assert http.post(f"{container}/o", headers={"X-Object-Meta-Only": "meta"}).status_code == 202
    assert http.get(container, params={"format": "json"}).json()[0]["content_type"] == "image/foobarbaz"
    # a POST without Content-Type keeps the type the earlier POST set (Swift's ctype timestamp)
    assert http.head(f"{container}/o").headers["Content-Type"] == "image/foobarbaz"


def test_unknown_methods_get_405_with_allow(cluster, account, container):
    storage_url, token = account
    path = urlsplit(storage_url).path + f"/{container}"
    for method in ("LICK", "GETorHEAD_base"):
        response = _raw_exchange(cluster, [_request(path, token, method=method)])
        assert _status(response) == 405, response
        assert b"GET" in _header(response.partition(b"\r\n\r\n")[0], b"allow")


def test_non_ascii_content_type_and_copy_source_are_utf8(cluster, account, http, container):
    storage_url, token = account
    base = urlsplit(storage_url).path
    ctype = "text/\u2603-\u5618"
    head = (f"PUT {base}/{container}/snow HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {token}\r\n"
            f"Content-Length: 4\r\nContent-Type: ").encode() + ctype.encode("utf-8") + b"\r\n\r\ndata"
    assert _status(_raw_exchange(cluster, [head])) == 201
    row = http.get(container, params={"format": "json"}).json()[0]
    assert row["content_type"] == ctype
    # a raw UTF-8 X-Copy-From names the same object as its percent-encoded form
    name = "s\u00f8urce-\u2603"
    assert http.put(f"{container}/{name}", content=b"copied").status_code == 201
    put = (f"PUT {base}/{container}/dest HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {token}\r\n"
           f"Content-Length: 0\r\nX-Copy-From: ").encode() + f"{container}/{name}".encode() + b"\r\n\r\n"
    assert _status(_raw_exchange(cluster, [put])) == 201
    assert http.get(f"{container}/dest").content == b"copied"


def test_delete_with_x_if_delete_at(http, container):
    at = str(int(time.time()) + 3600)
    assert http.put(f"{container}/exp", content=b"x", headers={"X-Delete-At": at}).status_code == 201
    assert http.delete(f"{container}/exp", headers={"X-If-Delete-At": "bad"}).status_code == 400
    assert http.delete(f"{container}/exp", headers={"X-If-Delete-At": str(int(at) + 1)}).status_code == 412
    assert http.head(f"{container}/exp").status_code == 200
    assert http.delete(f"{container}/exp", headers={"X-If-Delete-At": at}).status_code == 204
    assert http.head(f"{container}/exp").status_code == 404


def test_metadata_size_is_checked_against_what_is_stored(http, container):
    from proxy.swift import constraints

    value = "v" * 200
    # stored metadata leaving less room than one value may hold (Swift's limits: 4096 overall, 256 a value)
    count = (constraints.MAX_META_OVERALL_SIZE - constraints.MAX_META_VALUE_LENGTH + 50) // (len("A00") + len(value))
    first = {f"X-Container-Meta-A{i:02d}": value for i in range(count)}
    assert http.post(container, headers=first).status_code == 204
    used = sum(len(k) - len("X-Container-Meta-") + len(v) for k, v in first.items())
    room = constraints.MAX_META_OVERALL_SIZE - used
    assert http.post(container, headers={"X-Container-Meta-K": "y" * (room - 1)}).status_code == 204
    r = http.post(container, headers={"X-Container-Meta-K": "z" * room})  # fine alone, too much with the rest
    assert r.status_code == 400 and "Total metadata too large" in r.text
    assert http.post(container, headers={"X-Remove-Container-Meta-A00": "x",
                                         "X-Container-Meta-K": "z" * room}).status_code == 204


def test_header_lines_over_max_header_size_are_400(cluster, http, container):
    from proxy.swift import constraints

    limit = constraints.MAX_HEADER_SIZE
    assert httpx.get(cluster.proxy_url + "/info").json()["swift"]["max_header_size"] == limit
    name = "X-Something-Big"
    # Swift's server (eventlet) measures the line as sent, ": " and CRLF included, and refuses it at the limit
    fits = http.post(container, headers={name: "a" * (limit - len(name) - 5)})
    assert fits.status_code == 204
    over = http.post(container, headers={name: "a" * (limit - len(name) - 4)})
    assert over.status_code == 400 and over.text == "Header Line Too Long"


def test_container_post_moves_last_modified(http, container):
    before = http.head(container).headers["Last-Modified"]
    time.sleep(1.1)  # Last-Modified has one-second resolution
    assert http.post(container, headers={"X-Container-Meta-Japan": "mitaka"}).status_code == 204
    assert http.head(container).headers["Last-Modified"] != before


def test_copy_reads_the_source_before_judging_the_destination(http, container):
    missing = f"{container}-missing-{time.time_ns()}"
    r = http.request("COPY", f"{missing}/o", headers={"Destination": f"{container}/x",
                                                      "Destination-Account": "AUTH_test2"})
    assert r.status_code == 404  # no source: 404 even though AUTH_test2 is not ours to write
    assert http.put(f"{container}/src", content=b"s").status_code == 201
    r = http.request("COPY", f"{container}/src", headers={"Destination": f"{container}/x",
                                                          "Destination-Account": "AUTH_test2"})
    assert r.status_code == 403
    r = http.request("COPY", f"{container}/src", headers={"Destination": f"{missing}/x"})
    assert r.status_code == 404


def test_many_headers_as_swift(cluster, http, container):
    """Swift's proxy takes more headers than its MAX_HEADER_COUNT (126: that bounds responses its clients
    read) and answers too many with 431 "Too many headers"; the limit here is ``max_header_count``."""
    from stackstore.http_limits import HttpLimits

    many = {f"X-Filler-{i}": "x" for i in range(136)}
    assert http.head(container, headers=many).status_code == 204
    too_many = {f"X-More-{i}": "x" for i in range(HttpLimits.from_config(cluster.conf, "proxy").max_header_count)}
    assert http.head(container, headers=too_many).status_code == 431


UNKNOWN_KEY_V4 = ("AWS4-HMAC-SHA256 Credential=nobody/20261205/us-east-1/s3/aws4_request, "
                  "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=" + "0" * 64)


@pytest.mark.parametrize("size", [1 << 20, 48 << 20])
def test_a_body_answered_early_is_read_not_reset(cluster, size):
    """A request refused before its body was read (here an S3 PUT with an unknown access key: 403, the
    connection not kept) is closed lingeringly: a client that sends its whole body before reading (http.client, boto)
    reads the answer instead of a connection reset, as from Swift's server."""
    url = urlsplit(cluster.proxy_url)
    piece = b"x" * (1 << 20)
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(f"PUT /no-such-bucket-here/key HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\n"
                     f"Authorization: {UNKNOWN_KEY_V4}\r\nx-amz-date: 20261205T000000Z\r\n"
                     "x-amz-content-sha256: UNSIGNED-PAYLOAD\r\n\r\n".encode())
        for _ in range(size // len(piece)):
            sock.sendall(piece)
        data = b""
        while piece := sock.recv(65536):
            data += piece
    assert _status(data) == 403, data[:200]
    assert b"<Error>" in data and _header(data.partition(b"\r\n\r\n")[0], b"connection") == b"close"
