"""SLOs as Swift 2.38 serves them (real cloud): inline base64 ``data`` segments, ``?part-number=N``,
the client's Etag check, listings with ``slo_etag``, copies of one part, ``heartbeat=on`` PUTs and a
missing first segment answered 409."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


@pytest.fixture()
def slo(http, container) -> dict:
    """``<container>/abc``: segments a (10 x "a"), b (20 x "b"), c (1 x "c")."""
    segs = {}
    for letter, size in (("a", 10), ("b", 20), ("c", 1)):
        body = letter.encode() * size
        assert http.put(f"{container}/seg_{letter}", content=body).status_code == 201
        segs[letter] = {"path": f"/{container}/seg_{letter}", "etag": _md5(body), "size_bytes": size}
    manifest = [segs["a"], segs["b"], segs["c"]]
    r = http.put(f"{container}/abc", params={"multipart-manifest": "put"}, content=json.dumps(manifest))
    assert r.status_code == 201
    etag = _md5("".join(s["etag"] for s in manifest).encode())
    return {"container": container, "segs": segs, "etag": etag}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_inline_data_segments(http, slo):
    c, segs = slo["container"], slo["segs"]
    manifest = [{"data": _b64(b"PRE")}, {"path": segs["a"]["path"]}, {"data": _b64(b"MID")},
                {"data": _b64(b"MID2")}, {"path": segs["c"]["path"]}, {"data": _b64(b"POST")}]
    r = http.put(f"{c}/mixed", params={"multipart-manifest": "put"}, content=json.dumps(manifest))
    assert r.status_code == 201, r.text
    expected = b"PRE" + b"a" * 10 + b"MIDMID2" + b"c" + b"POST"
    etag = _md5("".join([_md5(b"PRE"), segs["a"]["etag"], _md5(b"MID"), _md5(b"MID2"), segs["c"]["etag"],
                         _md5(b"POST")]).encode())
    assert r.headers["etag"] == f'"{etag}"'
    get = http.get(f"{c}/mixed")
    assert get.content == expected and get.headers["etag"] == f'"{etag}"'
    assert http.head(f"{c}/mixed").headers["content-length"] == str(len(expected))
    ranged = http.get(f"{c}/mixed", headers={"Range": "bytes=1-14"})
    assert ranged.status_code == 206 and ranged.content == expected[1:15]
    # nested: a manifest whose only segment is the mixed one
    r = http.put(f"{c}/nested", params={"multipart-manifest": "put"},
                 content=json.dumps([{"path": f"{c}/mixed"}]))
    assert r.status_code == 201, r.text
    assert http.get(f"{c}/nested").content == expected
    # the stored manifest keeps the data entries; format=raw is PUT-able again
    stored = http.get(f"{c}/mixed", params={"multipart-manifest": "get"}).json()
    assert stored[0] == {"data": _b64(b"PRE")}
    raw = http.get(f"{c}/mixed", params={"multipart-manifest": "get", "format": "raw"})
    assert raw.headers["etag"] == _md5(raw.content)
    assert raw.json()[1] == {"path": segs["a"]["path"], "etag": segs["a"]["etag"], "size_bytes": 10}
    again = http.put(f"{c}/again", params={"multipart-manifest": "put"}, content=raw.content)
    assert again.status_code == 201 and http.get(f"{c}/again").content == expected
    # deleting the manifest leaves nothing behind for the data segments
    d = http.delete(f"{c}/mixed", params={"multipart-manifest": "delete"}, headers={"Accept": "application/json"})
    assert d.status_code == 200 and d.json()["Number Deleted"] == 3 and d.json()["Errors"] == []


@pytest.mark.parametrize("entry, message", [
    ({"data": "not base64!"}, b"Index 0: data must be valid base64"),
    ({"data": ""}, b"Index 0: too small; each segment must be at least 1 byte."),
    ({"data": "QUJD", "etag": None}, b'Index 0: extraneous keys "etag"'),
    ({"size_bytes": 1}, b"Index 0: expected keys to include one of 'path' or 'data'"),
])
def test_bad_data_segments_are_400(http, slo, entry, message):
    manifest = [entry, {"path": slo["segs"]["a"]["path"]}]
    r = http.put(f"{slo['container']}/bad", params={"multipart-manifest": "put"}, content=json.dumps(manifest))
    assert r.status_code == 400 and message in r.content


def test_data_only_manifest_is_400(http, slo):
    r = http.put(f"{slo['container']}/bad", params={"multipart-manifest": "put"},
                 content=json.dumps([{"data": _b64(b"x")}]))
    assert r.status_code == 400
    assert b"Inline data segments require at least one object-backed segment." in r.content


def test_part_number_get_and_head(http, slo):
    c = slo["container"]
    start = 0
    for number, size in ((1, 10), (2, 20), (3, 1)):
        get = http.get(f"{c}/abc", params={"part-number": str(number)})
        assert get.status_code == 206
        assert get.content == {1: b"a", 2: b"b", 3: b"c"}[number] * size
        assert get.headers["content-range"] == f"bytes {start}-{start + size - 1}/31"
        assert get.headers["x-parts-count"] == "3"
        assert get.headers["etag"] == f'"{slo["etag"]}"'
        head = http.head(f"{c}/abc", params={"part-number": str(number)})
        assert head.status_code == 206 and head.headers["content-length"] == str(size)
        assert head.headers["content-range"] == get.headers["content-range"]
        start += size
    past = http.get(f"{c}/abc", params={"part-number": "4"})
    assert past.status_code == 416 and past.content == b"The requested part number is not satisfiable"
    assert past.headers["content-range"] == "bytes */31" and past.headers["x-parts-count"] == "3"
    assert http.head(f"{c}/abc", params={"part-number": "4"}).status_code == 416
    zero = http.get(f"{c}/abc", params={"part-number": "0"})
    assert zero.status_code == 400 and zero.content == b"Part number must be an integer greater than 0"
    both = http.get(f"{c}/abc", params={"part-number": "1"}, headers={"Range": "bytes=0-1"})
    assert both.status_code == 400
    # a plain object ignores part-number, as Swift's object server does
    plain = http.get(f"{c}/seg_b", params={"part-number": "1"})
    assert plain.status_code == 200 and plain.content == b"b" * 20
    # multipart-manifest=get ignores it (the manifest itself)
    assert http.get(f"{c}/abc", params={"multipart-manifest": "get", "part-number": "9"}).status_code == 200


def test_client_etag_is_checked(http, slo):
    c, segs = slo["container"], slo["segs"]
    body = json.dumps([segs["a"], segs["b"], segs["c"]])
    bad = http.put(f"{c}/e", params={"multipart-manifest": "put"}, content=body, headers={"Etag": "0" * 32})
    assert bad.status_code == 422
    good = http.put(f"{c}/e", params={"multipart-manifest": "put"}, content=body,
                    headers={"Etag": f'"{slo["etag"]}"'})
    assert good.status_code == 201


def test_listing_shows_slo_etag_and_size(http, slo):
    c = slo["container"]
    manifest_etag = http.head(f"{c}/abc", params={"multipart-manifest": "get"}).headers["etag"].strip('"')
    rows = {r["name"]: r for r in http.get(c, params={"format": "json"}).json()}
    assert rows["abc"]["bytes"] == 31
    assert rows["abc"]["hash"] == manifest_etag
    assert rows["abc"]["slo_etag"] == f'"{slo["etag"]}"'
    assert "slo_etag" not in rows["seg_a"]


def test_copy_of_one_part_and_of_the_whole(http, slo):
    c = slo["container"]
    r = http.request("COPY", f"{c}/abc", params={"part-number": "2"}, headers={"Destination": f"{c}/part2"})
    assert r.status_code == 201
    assert http.get(f"{c}/part2").content == b"b" * 20
    r = http.put(f"{c}/part1", headers={"X-Copy-From": f"{c}/abc"}, params={"part-number": "1"})
    assert r.status_code == 201 and http.get(f"{c}/part1").content == b"a" * 10
    r = http.request("COPY", f"{c}/abc", headers={"Destination": f"{c}/whole"})
    assert r.status_code == 201
    whole = http.get(f"{c}/whole")
    assert whole.content == b"a" * 10 + b"b" * 20 + b"c" and "x-static-large-object" not in whole.headers


def test_if_none_match_other_than_star_is_400(http, slo):
    body = json.dumps([slo["segs"]["a"]])
    r = http.put(f"{slo['container']}/inm", params={"multipart-manifest": "put"}, content=body,
                 headers={"If-None-Match": '"x"'})
    assert r.status_code == 400


def test_heartbeat_put(http, slo):
    c, segs = slo["container"], slo["segs"]
    r = http.put(f"{c}/hb", params={"multipart-manifest": "put", "heartbeat": "on"},
                 headers={"Accept": "application/json"}, content=json.dumps([segs["a"], segs["c"]]))
    assert r.status_code == 202
    head, sep, result = r.content.partition(b"\r\n\r\n")
    assert sep and not head.strip()
    outcome = json.loads(result)
    assert outcome["Response Status"] == "201 Created" and outcome["Errors"] == []
    assert "Etag" in outcome and "Last Modified" in outcome
    r = http.put(f"{c}/hb", params={"multipart-manifest": "put", "heartbeat": "on"},
                 content=json.dumps([segs["a"], {"path": "nope/missing"}]))
    assert r.status_code == 202
    lines = r.content.partition(b"\r\n\r\n")[2].decode().split("\n")
    assert "Response Status: 400 Bad Request" in lines
    assert lines[-3:] == ["Errors:", "nope/missing, 404 Not Found", ""]


def test_missing_first_segment_is_409_before_the_body(http, slo):
    c = slo["container"]
    assert http.delete(f"{c}/seg_a").status_code == 204
    assert http.get(f"{c}/abc").status_code == 409
    assert http.get(f"{c}/abc", headers={"Range": "bytes=0-3"}).status_code == 409
    later = http.get(f"{c}/abc", headers={"Range": "bytes=10-12"})  # starts in b: still served
    assert later.status_code == 206 and later.content == b"bbb"


def test_copy_of_the_manifest_is_put_again_and_checks_its_segments(http, slo):
    c = slo["container"]
    r = http.request("COPY", f"{c}/abc", params={"multipart-manifest": "get"},
                     headers={"Destination": f"{c}/abc-copy", "X-Object-Meta-Color": "blue"})
    assert r.status_code == 201 and r.headers["x-copied-from"] == f"{c}/abc"
    copy = http.get(f"{c}/abc-copy")
    assert copy.content == b"a" * 10 + b"b" * 20 + b"c"
    assert copy.headers["x-static-large-object"] == "True" and copy.headers["x-object-meta-color"] == "blue"
    assert copy.headers["etag"] == f'"{slo["etag"]}"'
    # the copy is a PUT of the manifest: segments that are gone are reported, nothing is written
    assert http.delete(f"{c}/seg_b").status_code == 204
    r = http.put(f"{c}/abc-copy2", params={"multipart-manifest": "get"}, headers={"X-Copy-From": f"{c}/abc"})
    assert r.status_code == 400 and f"/{c}/seg_b, 404 Not Found" in r.text
    assert http.head(f"{c}/abc-copy2").status_code == 404


def test_s3_listing_etag_of_listing_rows():
    from proxy.s3.listing import listing_etag

    assert listing_etag("abc; s3_etag=def-2") == "def-2"  # an S3 multipart upload
    assert listing_etag("0123; slo_etag=4567") == "4567"  # a Swift SLO: its own ETag, as its GET
    assert listing_etag('"0123"') == "0123"
