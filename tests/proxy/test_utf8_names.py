"""Non-ASCII names and Swift's listing parameters against the real cloud (issue 13 §2).

Temp URLs, X-Copy-From, DLO manifests with UTF-8 names and keys; multi-character delimiters,
NUL-terminated markers with ``reverse``, ``path=`` with directory markers; a container in its
account's listing as soon as its PUT returns.
"""

from __future__ import annotations

import io
import uuid
from urllib.parse import quote

import httpx
import pytest
from swiftclient.utils import generate_temp_url


def _name(stem: str) -> str:
    return f"{stem}-\u2603\u00e9\u8c6c-{uuid.uuid4().hex[:6]}"


def test_tempurl_with_utf8_names_and_key(swift_conn, cluster, anon):
    cont, obj, key = _name("tu"), "d\u00eer/\u00f6bj \u2603", "k\u00ebY-\u2603"
    swift_conn.put_container(cont, headers={"X-Container-Meta-Temp-URL-Key": key})
    swift_conn.put_object(cont, obj, b"utf8 data")
    path = f"/v1/AUTH_test/{cont}/{obj}"
    url = generate_temp_url(path, 300, key, "GET")
    # swiftclient leaves the path unquoted: send it percent-encoded as any HTTP client must
    r = anon.get(quote(url, safe="/?=&"))
    assert r.status_code == 200 and r.content == b"utf8 data"
    assert anon.head(quote(url, safe="/?=&")).status_code == 200
    wrong = generate_temp_url(path, 300, key + "x", "GET")
    assert anon.get(quote(wrong, safe="/?=&")).status_code == 401
    put_url = generate_temp_url(f"/v1/AUTH_test/{cont}/n\u00e9w", 300, key, "PUT")
    assert anon.put(quote(put_url, safe="/?=&"), content=b"via temp url").status_code == 201
    assert swift_conn.get_object(cont, "n\u00e9w")[1] == b"via temp url"


def test_copy_from_non_ascii_source(swift_conn, http):
    src, dst, obj = _name("cs"), _name("cd"), "s\u00f6urce \u2603"
    swift_conn.put_container(src)
    swift_conn.put_container(dst)
    swift_conn.put_object(src, obj, b"copied bytes", headers={"X-Object-Meta-Note": "n"})
    raw = f"/{src}/{obj}".encode()  # raw UTF-8, as Swift's own test client sends it
    r = http.put(f"{quote(dst)}/raw", headers={"X-Copy-From": raw, "Content-Length": "0"})
    assert r.status_code == 201, r.text
    assert r.headers["X-Copied-From"] == f"{quote(src)}/{quote(obj)}"
    encoded = quote(f"{src}/{obj}")  # percent-encoded, without the leading slash
    assert http.put(f"{quote(dst)}/enc", headers={"X-Copy-From": encoded, "Content-Length": "0"}).status_code == 201
    r = http.put(f"{quote(dst)}/acct", headers={"X-Copy-From": raw, "X-Copy-From-Account": b"AUTH_test",
                                                "Content-Length": "0"})
    assert r.status_code == 201
    for name in ("raw", "enc", "acct"):
        headers, body = swift_conn.get_object(dst, name)
        assert body == b"copied bytes" and headers["x-object-meta-note"] == "n"
    r = http.request("COPY", f"{quote(src)}/{quote(obj)}", headers={"Destination": f"/{dst}/d\u00e9st".encode()})
    assert r.status_code == 201 and swift_conn.get_object(dst, "d\u00e9st")[1] == b"copied bytes"
    missing = http.put(f"{quote(dst)}/none", headers={"X-Copy-From": f"/{src}/n\u00f6pe".encode(),
                                                      "Content-Length": "0"})
    assert missing.status_code == 404
    bad = http.put(f"{quote(dst)}/bad", headers={"X-Copy-From": b"/c/\xff\xfe", "Content-Length": "0"})
    assert bad.status_code == 412


def test_dlo_in_non_ascii_containers(swift_conn, http):
    segs, cont = _name("ds"), _name("dm")
    swift_conn.put_container(segs)
    swift_conn.put_container(cont)
    for i, part in enumerate((b"aa", b"bb", b"cc")):
        swift_conn.put_object(segs, f"p\u00e4rt/{i:02d}", part)
    manifest = f"{segs}/p\u00e4rt/".encode()  # raw UTF-8 header value
    r = http.put(f"{quote(cont)}/m\u00e4nifest", content=b"", headers={"X-Object-Manifest": manifest})
    assert r.status_code == 201
    assert swift_conn.get_object(cont, "m\u00e4nifest")[1] == b"aabbcc"
    # a percent-encoded manifest header names the same segments
    r = http.put(f"{quote(cont)}/enc", content=b"", headers={"X-Object-Manifest": quote(f"{segs}/p\u00e4rt/")})
    assert r.status_code == 201 and swift_conn.get_object(cont, "enc")[1] == b"aabbcc"
    r = http.get(f"{quote(cont)}/m\u00e4nifest", headers={"Range": "bytes=1-3"})
    assert r.status_code == 206 and r.content == b"abb"


def test_slo_with_non_ascii_names(swift_conn, http):
    segs, cont = _name("ss"), _name("sm")
    swift_conn.put_container(segs)
    swift_conn.put_container(cont)
    manifest = []
    for i, part in enumerate((b"x" * 10, b"y" * 5)):
        etag = swift_conn.put_object(segs, f"s\u00e9g/{i}", part)
        manifest.append({"path": f"/{segs}/s\u00e9g/{i}", "etag": etag, "size_bytes": len(part)})
    r = http.put(f"{quote(cont)}/sl\u00f6", params={"multipart-manifest": "put"}, json=manifest)
    assert r.status_code == 201, r.text
    assert swift_conn.get_object(cont, "sl\u00f6")[1] == b"x" * 10 + b"y" * 5
    r = http.put(f"{quote(cont)}/c\u00f6py", headers={"X-Copy-From": f"/{cont}/sl\u00f6".encode(),
                                                     "Content-Length": "0"})
    assert r.status_code == 201 and swift_conn.get_object(cont, "c\u00f6py")[1] == b"x" * 10 + b"y" * 5


@pytest.fixture(scope="module")
def delimited(swift_conn) -> str:
    cont = _name("dl")
    swift_conn.put_container(cont)
    for name in ("test", "test-&bar", "test-&foo", "test-'baz", "dir/", "dir/a", "dir/sub/", "dir/sub/x",
                 "dir/\u00e9/", "dir/\u00e9/y", "dir/z", "dirt"):
        swift_conn.put_object(cont, name, b"x")
    return cont


def _names(rows: list[dict]) -> list[str]:
    return [r.get("name") or r.get("subdir") for r in rows]


def test_multi_character_delimiter(swift_conn, delimited):
    _, rows = swift_conn.get_container(delimited, delimiter="-&", prefix="test")
    assert _names(rows) == ["test", "test-&", "test-'baz"]
    _, rows = swift_conn.get_container(delimited, delimiter="-&", prefix="test", query_string="reverse=on")
    assert _names(rows) == ["test-'baz", "test-&", "test"]
    _, rows = swift_conn.get_container(delimited, delimiter="r/s", prefix="di")
    assert _names(rows) == ["dir/", "dir/a", "dir/s", "dir/z", "dir/\u00e9/", "dir/\u00e9/y", "dirt"]


def test_multi_character_delimiter_in_account_listing(swift_conn, http):
    stem = "mc" + uuid.uuid4().hex[:6]
    for name in (stem, f"{stem}-&bar", f"{stem}-&foo", f"{stem}-'baz"):
        swift_conn.put_container(name)
    _, rows = swift_conn.get_account(prefix=stem, delimiter="-&")
    assert _names(rows) == [stem, f"{stem}-&", f"{stem}-'baz"]
    r = http.get("", params={"format": "json", "prefix": stem, "delimiter": "-&", "reverse": "yes"})
    assert _names(r.json()) == [f"{stem}-'baz", f"{stem}-&", stem]


def test_reverse_listing_with_inclusive_markers(swift_conn, http, delimited):
    # "dir/z\0" as marker includes dir/z in a reverse listing; end_marker just below dir/sub/ includes it
    r = http.get(quote(delimited), params={"format": "json", "reverse": "on", "marker": "dir/z\x00",
                                           "end_marker": "dir/sub."})
    assert r.status_code == 200, r.text
    assert _names(r.json()) == ["dir/z", "dir/sub/x", "dir/sub/"]
    r = http.get("", params={"format": "json", "reverse": "on", "marker": delimited + "\x00",
                             "end_marker": delimited[:-1]})
    assert r.status_code == 200 and _names(r.json()) == [delimited]


def test_path_lists_direct_children_with_directory_markers(swift_conn, http, delimited):
    _, rows = swift_conn.get_container(delimited, path="dir")
    assert _names(rows) == ["dir/a", "dir/sub/", "dir/z", "dir/\u00e9/"]
    assert all("subdir" not in r for r in rows)
    _, rows = swift_conn.get_container(delimited, path="dir/sub")
    assert _names(rows) == ["dir/sub/x"]
    _, rows = swift_conn.get_container(delimited, path="dir", limit=2)
    assert _names(rows) == ["dir/a", "dir/sub/"]
    _, rows = swift_conn.get_container(delimited, path="dir", marker="dir/sub/")
    assert _names(rows) == ["dir/z", "dir/\u00e9/"]
    r = http.get(quote(delimited), params={"path": "dir", "reverse": "on", "format": "json"})
    assert _names(r.json()) == ["dir/\u00e9/", "dir/z", "dir/sub/", "dir/a"]  # the forward listing, reversed
    r = http.get(quote(delimited), params={"path": "", "format": "json"})
    assert _names(r.json()) == ["dir/", "dirt", "test", "test-&bar", "test-&foo", "test-'baz"]


def test_container_in_account_listing_as_soon_as_put_returns(cluster):
    """Each container PUT updates the account rows before it answers (as Swift's container server)."""
    _, token = cluster.auth("test2:tester2", "testing2")
    stem = "imm-" + uuid.uuid4().hex[:6] + "-\u00e9"
    with httpx.Client(base_url=cluster.proxy_url + "/v1/AUTH_test2/", headers={"X-Auth-Token": token},
                      timeout=60) as client:
        for i in range(20):
            name = f"{stem}{i:02d}"
            assert client.put(quote(name)).status_code == 201
            for _ in range(3):  # every account replica is asked in turn by the proxy's reads
                listed = client.get("", params={"format": "json", "prefix": stem}).json()
                assert [c["name"] for c in listed] == [f"{stem}{j:02d}" for j in range(i + 1)]
        assert client.delete(quote(f"{stem}00")).status_code == 204
        listed = client.get("", params={"format": "json", "prefix": stem}).json()
        assert f"{stem}00" not in [c["name"] for c in listed]


def test_swiftclient_roundtrip_with_utf8_names(swift_conn):
    cont, obj = _name("rt"), "\u00fcnic\u00f6de/\u2603 obj"
    swift_conn.put_container(cont, headers={"X-Container-Meta-Unicode": "v\u00e4lue"})
    swift_conn.put_object(cont, obj, io.BytesIO(b"hello"), headers={"X-Object-Meta-Name": "n\u00e4me"})
    headers, body = swift_conn.get_object(cont, obj)
    assert body == b"hello" and headers["x-object-meta-name"] == "n\u00e4me"
    assert swift_conn.head_container(cont)["x-container-meta-unicode"] == "v\u00e4lue"
    _, rows = swift_conn.get_container(cont, delimiter="/")
    assert _names(rows) == ["\u00fcnic\u00f6de/"]
    _, rows = swift_conn.get_account(prefix=cont)
    assert _names(rows) == [cont]
