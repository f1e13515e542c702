"""Static large objects end to end: swift CLI upload/download/delete, manifest shapes, ranges, errors."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("slo") / "big.bin"
    data = os.urandom(5 * MiB + 12345)
    path.write_bytes(data)
    return path, data


@pytest.fixture(scope="module")
def uploaded(swift, http, big_file):
    """``swift upload --use-slo --segment-size 1M`` of a ~5 MiB file into container ``slo-cli``."""
    path, data = big_file
    swift("upload", "--use-slo", "--segment-size", "1M", "slo-cli", str(path), "--object-name", "big")
    return "slo-cli/big", data


def test_cli_upload_download_identical(swift, uploaded, tmp_path):
    _, data = uploaded
    out = tmp_path / "out.bin"
    swift("download", "slo-cli", "big", "-o", str(out))
    assert hashlib.md5(out.read_bytes()).hexdigest() == hashlib.md5(data).hexdigest()


def test_head_get_headers(http, uploaded):
    path, data = uploaded
    head = http.head(path)
    assert head.status_code == 200
    assert head.headers["x-static-large-object"] == "True"
    assert int(head.headers["content-length"]) == len(data)
    etag = head.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    manifest = json.loads(http.get(path, params={"multipart-manifest": "get"}).content)
    expected = hashlib.md5("".join(seg["hash"] for seg in manifest).encode()).hexdigest()
    assert etag == f'"{expected}"'
    get = http.get(path)
    assert get.content == data and get.headers["etag"] == etag


def test_manifest_get_shapes(http, uploaded):
    path, data = uploaded
    manifest = json.loads(http.get(path, params={"multipart-manifest": "get"}).content)
    assert len(manifest) == 6
    for seg in manifest:
        assert set(seg) >= {"name", "hash", "bytes", "content_type", "last_modified"}
        assert seg["name"].startswith("/slo-cli_segments/big/slo/")
    assert sum(seg["bytes"] for seg in manifest) == len(data)
    raw = json.loads(http.get(path, params={"multipart-manifest": "get", "format": "raw"}).content)
    assert raw[0] == {"path": manifest[0]["name"], "etag": manifest[0]["hash"],
                      "size_bytes": manifest[0]["bytes"]}
    for method in ("GET", "HEAD"):  # one Content-Type, the manifest's (it was answered twice)
        resp = http.request(method, path, params={"multipart-manifest": "get"})
        assert resp.headers.get_list("content-type") == ["application/json; charset=utf-8"], method


def test_ranges_across_segments(http, uploaded):
    path, data = uploaded
    r = http.get(path, headers={"Range": f"bytes={MiB - 10}-{MiB + 9}"})
    assert r.status_code == 206 and r.content == data[MiB - 10:MiB + 10]
    assert r.headers["content-range"] == f"bytes {MiB - 10}-{MiB + 9}/{len(data)}"
    r = http.get(path, headers={"Range": "bytes=-100"})
    assert r.status_code == 206 and r.content == data[-100:]
    r = http.get(path, headers={"Range": f"bytes=0-4,{3 * MiB - 2}-{3 * MiB + 2}"})
    assert r.status_code == 206 and r.headers["content-type"].startswith("multipart/byteranges")
    assert data[:5] in r.content and data[3 * MiB - 2:3 * MiB + 3] in r.content
    r = http.get(path, headers={"Range": f"bytes={len(data)}-"})
    assert r.status_code == 416 and r.headers["content-range"] == f"bytes */{len(data)}"


def test_conditionals_use_slo_etag(http, uploaded):
    path, _ = uploaded
    etag = http.head(path).headers["etag"]
    assert http.get(path, headers={"If-None-Match": etag}).status_code == 304
    assert http.get(path, headers={"If-Match": '"0123"'}).status_code == 412
    assert http.head(path, headers={"If-Match": etag}).status_code == 200


def test_bad_manifests(http, container):
    seg = http.put(f"{container}/seg", content=b"x" * 100)
    assert seg.status_code == 201
    good = {"path": f"/{container}/seg", "etag": seg.headers["etag"].strip('"'), "size_bytes": 100}
    missing = {"path": f"/{container}/nope", "etag": None, "size_bytes": None}
    r = http.put(f"{container}/m", params={"multipart-manifest": "put"}, content=json.dumps([good, missing]))
    assert r.status_code == 400
    assert "Errors:" in r.text and f"/{container}/nope, 404 Not Found" in r.text
    wrong = dict(good, etag="0" * 32)
    r = http.put(f"{container}/m", params={"multipart-manifest": "put"}, content=json.dumps([wrong]),
                 headers={"Accept": "application/json"})
    assert r.status_code == 400 and r.json()["Errors"] == [[f"/{container}/seg", "Etag Mismatch"]]
    r = http.put(f"{container}/m", params={"multipart-manifest": "put"}, content=b"not json")
    assert r.status_code == 400
    assert http.head(f"{container}/m").status_code == 404


def test_segment_ranges_and_nesting(http, container):
    parts = [os.urandom(1000), os.urandom(2000)]
    for i, part in enumerate(parts):
        assert http.put(f"{container}/s{i}", content=part).status_code == 201
    inner = [{"path": f"/{container}/s0", "range": "100-199"}, {"path": f"/{container}/s1"}]
    r = http.put(f"{container}/inner", params={"multipart-manifest": "put"}, content=json.dumps(inner))
    assert r.status_code == 201, r.text
    outer = [{"path": f"/{container}/inner"}, {"path": f"/{container}/s0"}]
    r = http.put(f"{container}/outer", params={"multipart-manifest": "put"}, content=json.dumps(outer))
    assert r.status_code == 201, r.text
    expected = parts[0][100:200] + parts[1] + parts[0]
    assert http.get(f"{container}/outer").content == expected
    r = http.get(f"{container}/outer", headers={"Range": "bytes=50-2149"})
    assert r.content == expected[50:2150]


def test_multipart_manifest_delete(http, container):
    names = []
    for i in range(3):
        assert http.put(f"{container}/seg{i}", content=b"%d" % i * 10).status_code == 201
        names.append({"path": f"/{container}/seg{i}"})
    r = http.put(f"{container}/m", params={"multipart-manifest": "put"}, content=json.dumps(names))
    assert r.status_code == 201
    r = http.delete(f"{container}/m", params={"multipart-manifest": "delete"},
                    headers={"Accept": "application/json"})
    assert r.status_code == 200
    assert r.json() == {"Number Deleted": 4, "Number Not Found": 0, "Response Status": "200 OK",
                        "Response Body": "", "Errors": []}
    assert http.get(container, params={"format": "json"}).json() == []


def test_cli_delete_removes_segments(swift, http, big_file):
    path, _ = big_file
    swift("upload", "--segment-size", "1M", "slo-del", str(path), "--object-name", "gone")
    assert http.head("slo-del/gone").headers["x-static-large-object"] == "True"
    swift("delete", "slo-del", "gone")
    assert http.head("slo-del/gone").status_code == 404
    assert http.get("slo-del_segments", params={"format": "json"}).json() == []


def test_cli_overwrite_cleans_old_segments(swift, http, tmp_path):
    src = tmp_path / "v.bin"
    src.write_bytes(os.urandom(2 * MiB + 1))
    swift("upload", "--segment-size", "1M", "slo-over", str(src), "--object-name", "v")
    first = {o["name"] for o in http.get("slo-over_segments", params={"format": "json"}).json()}
    new = os.urandom(MiB + 7)
    src.write_bytes(new)
    swift("upload", "--segment-size", "1M", "slo-over", str(src), "--object-name", "v")
    second = {o["name"] for o in http.get("slo-over_segments", params={"format": "json"}).json()}
    assert len(first) == 3 and len(second) == 2 and not first & second
    assert http.get("slo-over/v").content == new
