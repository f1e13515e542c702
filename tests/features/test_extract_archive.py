"""Bulk upload (``PUT ?extract-archive=tar|tar.gz|tar.bz2``) against a real cloud, as Swift 2.38's bulk."""

from __future__ import annotations

import io
import json
import tarfile
import uuid
import xml.etree.ElementTree as ET

import httpx
import pytest


def archive(files: dict[str, bytes], compression: str = "", pax: dict[str, dict[str, str]] | None = None) -> bytes:
    """A tar archive (``compression``: "", "gz" or "bz2") of ``files``; directories come from the names."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:" + compression if compression else "w",
                      format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.pax_headers = (pax or {}).get(name, {})
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def result(resp: httpx.Response) -> dict:
    assert resp.status_code == 200, resp.text
    return json.loads(resp.text)


def fresh() -> str:
    return "ea-" + uuid.uuid4().hex[:10]


@pytest.mark.parametrize(("kind", "compression"), [("tar", ""), ("tar.gz", "gz"), ("tar.bz2", "bz2")])
def test_put_to_account_creates_containers_and_objects(http, kind, compression):
    c1, c2 = fresh(), fresh()
    body = archive({f"{c1}/a.txt": b"alpha", f"{c1}/dir/b.txt": b"beta", f"{c2}/c": b"gamma",
                    "top-level-file": b"ignored"}, compression)
    out = result(http.put(f"?extract-archive={kind}", content=body, headers={"Accept": "application/json"}))
    assert out["Number Files Created"] == 3
    assert out["Response Status"] == "201 Created"
    assert out["Errors"] == []
    assert http.get(f"{c1}/a.txt").content == b"alpha"
    assert http.get(f"{c1}/dir/b.txt").content == b"beta"
    assert http.get(f"{c2}/c").content == b"gamma"


def test_put_to_container_and_prefix(http, container):
    body = archive({"./x/one": b"1", "two": b"2"})
    out = result(http.put(f"{container}/pre?extract-archive=tar", content=body,
                          headers={"Accept": "application/json"}))
    assert out["Number Files Created"] == 2
    assert http.get(f"{container}/pre/x/one").content == b"1"
    assert http.get(f"{container}/pre/two").content == b"2"


def test_metadata_from_request_and_pax_headers(http, container):
    body = archive({"f.json": b"{}"}, pax={"f.json": {"SCHILY.xattr.user.mime_type": "application/json",
                                                       "SCHILY.xattr.user.meta.color": "blue"}})
    out = result(http.put(f"{container}?extract-archive=tar", content=body,
                          headers={"Accept": "application/json", "X-Object-Meta-Batch": "7",
                                   "X-Delete-After": "3600"}))
    assert out["Number Files Created"] == 1
    head = http.head(f"{container}/f.json")
    assert head.headers["content-type"] == "application/json"
    assert head.headers["x-object-meta-color"] == "blue"
    assert head.headers["x-object-meta-batch"] == "7"
    assert "x-delete-at" in head.headers


def test_plain_text_and_xml_answers(http, container):
    text = http.put(f"{container}?extract-archive=tar", content=archive({"a": b"1"}))
    assert text.status_code == 200
    assert text.headers["content-type"].startswith("text/plain")
    assert "Number Files Created: 1" in text.text
    assert "Response Status: 201 Created" in text.text
    xml = http.put(f"{container}?extract-archive=tar", content=archive({"b": b"2"}),
                   headers={"Accept": "application/xml"})
    root = ET.fromstring(xml.text)
    assert root.tag == "extract"
    assert root.findtext("number_files_created") == "1"
    assert root.findtext("response_status") == "201 Created"


def test_bad_archives_and_types(http, container):
    assert http.put(f"{container}?extract-archive=zip", content=b"x").status_code == 400
    out = result(http.put(f"{container}?extract-archive=tar.gz", content=b"not gzip at all" * 100,
                          headers={"Accept": "application/json"}))
    assert out["Response Status"] == "400 Bad Request"
    assert out["Response Body"].startswith("Invalid Tar File")
    out = result(http.put(f"{fresh()}?extract-archive=tar", content=archive({}),
                          headers={"Accept": "application/json"}))
    assert out["Response Status"] == "400 Bad Request"
    assert out["Response Body"] == "Invalid Tar File: No Valid Files"


def test_per_file_failures_are_listed(http, container):
    long_name = "n" * 1100
    out = result(http.put(f"{container}?extract-archive=tar", content=archive({"ok": b"1", long_name: b"2"}),
                          headers={"Accept": "application/json"}))
    assert out["Number Files Created"] == 1
    assert out["Response Status"] == "400 Bad Request"
    assert out["Errors"] == [[f"{container}/{long_name}", "400 Bad Request"]]


def test_each_file_is_authorized_as_the_caller(cluster, http, container):
    _, token3 = cluster.auth("test:tester3", "testing3")
    storage_url = str(http.base_url).rstrip("/")
    body = archive({"a": b"1"})
    denied = httpx.put(f"{storage_url}/{container}?extract-archive=tar", content=body,
                       headers={"X-Auth-Token": token3, "Accept": "application/json"})
    out = result(denied)
    assert out["Number Files Created"] == 0
    # as Swift: the container's HEAD failure, then the file's
    assert out["Errors"] == [[f"/v1/AUTH_test/{container}", "403 Forbidden"], [f"{container}/a", "403 Forbidden"]]
    assert http.head(f"{container}/a").status_code == 404
    # a container write ACL lets tester3 upload into that container only
    http.post(container, headers={"X-Container-Write": "test:tester3"})
    allowed = httpx.put(f"{storage_url}/{container}?extract-archive=tar", content=body,
                        headers={"X-Auth-Token": token3, "Accept": "application/json"})
    assert result(allowed)["Number Files Created"] == 1
    anonymous = httpx.put(f"{storage_url}/{container}?extract-archive=tar", content=body,
                          headers={"Accept": "application/json"})
    assert result(anonymous)["Response Status"] == "401 Unauthorized"


def test_streamed_chunked_upload(http, container):
    data = archive({f"big{i}": bytes([i]) * 300_000 for i in range(4)}, "gz")

    def chunks():
        for start in range(0, len(data), 7000):
            yield data[start:start + 7000]

    out = result(http.put(f"{container}?extract-archive=tar.gz", content=chunks(),
                          headers={"Accept": "application/json"}))
    assert out["Number Files Created"] == 4
    assert http.get(f"{container}/big3").content == bytes([3]) * 300_000


def test_info_advertises_bulk_upload(cluster):
    info = httpx.get(f"{cluster.proxy_url}/info").json()
    assert info["bulk_upload"] == {"max_containers_per_extraction": 10000, "max_failed_extractions": 1000}
