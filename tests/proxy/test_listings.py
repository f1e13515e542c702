"""Container and account listings: formats, parameters, exact limits, empty listings, metadata."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET

import pytest

NAMES = ["a", "b/1", "b/2", "b/c/3", "c", "d/x", "e"]


@pytest.fixture(scope="module")
def filled(http) -> str:
    name = "lst-" + uuid.uuid4().hex[:8]
    assert http.put(name).status_code == 201
    for n in NAMES:
        r = http.put(f"{name}/{n}", content=n.encode(), headers={"Content-Type": "text/x-" + n[0]})
        assert r.status_code == 201
    return name


def names(http, container, **params) -> list[str]:
    r = http.get(container, params={"format": "json", **params})
    assert r.status_code == 200, r.text
    return [row.get("name") or row.get("subdir") for row in r.json()]


def test_json_rows(http, filled):
    r = http.get(filled, params={"format": "json"})
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    row = r.json()[0]
    assert set(row) == {"name", "hash", "bytes", "content_type", "last_modified"}
    assert row["name"] == "a" and row["bytes"] == 1 and row["content_type"] == "text/x-a"
    assert len(row["hash"]) == 32 and "T" in row["last_modified"] and not row["last_modified"].endswith("Z")
    assert r.headers["X-Container-Object-Count"] == str(len(NAMES))


def test_plain_and_xml(http, filled):
    r = http.get(filled)
    assert r.status_code == 200 and r.text == "".join(n + "\n" for n in NAMES)
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
    r = http.get(filled, params={"format": "xml", "delimiter": "/"})
    assert r.headers["Content-Type"] == "application/xml; charset=utf-8"
    root = ET.fromstring(r.content)
    assert root.tag == "container" and root.get("name") == filled
    assert [el.tag for el in root] == ["object", "subdir", "object", "subdir", "object"]
    assert root[0].find("name").text == "a" and root[0].find("bytes").text == "1"
    assert root[1].get("name") == "b/" and root[1].find("name").text == "b/"
    for accept, ctype in (("application/json", "application/json"), ("text/xml", "text/xml"),
                          ("application/xml", "application/xml"), ("text/plain", "text/plain")):
        r = http.get(filled, headers={"Accept": accept})
        assert r.headers["Content-Type"].startswith(ctype)
    assert http.get(filled, params={"format": "json"}, headers={"Accept": "text/plain"}).json()


def test_parameters(http, filled):
    assert names(http, filled, prefix="b/") == ["b/1", "b/2", "b/c/3"]
    assert names(http, filled, delimiter="/") == ["a", "b/", "c", "d/", "e"]
    assert names(http, filled, prefix="b/", delimiter="/") == ["b/1", "b/2", "b/c/"]
    assert names(http, filled, marker="b/2") == ["b/c/3", "c", "d/x", "e"]
    assert names(http, filled, end_marker="c") == ["a", "b/1", "b/2", "b/c/3"]
    assert names(http, filled, marker="a", end_marker="c") == ["b/1", "b/2", "b/c/3"]
    assert names(http, filled, reverse="true") == list(reversed(NAMES))
    assert names(http, filled, reverse="true", marker="c") == ["b/c/3", "b/2", "b/1", "a"]
    assert names(http, filled, path="b") == ["b/1", "b/2"]


def test_exact_limit_and_paging(http, filled):
    for limit in range(1, len(NAMES) + 2):
        assert names(http, filled, limit=limit) == NAMES[:limit]
    seen, marker = [], ""
    while True:
        page = names(http, filled, limit=2, marker=marker)
        if not page:
            break
        seen += page
        marker = page[-1]
    assert seen == NAMES
    assert names(http, filled, delimiter="/", limit=2) == ["a", "b/"]


def test_limit_too_large_and_multi_character_delimiter(http, filled):
    assert http.get(filled, params={"limit": "10001"}).status_code == 412
    assert http.get(filled, params={"limit": "10000"}).status_code == 200
    assert names(http, filled, delimiter="/c") == ["a", "b/1", "b/2", "b/c", "c", "d/x", "e"]  # as Swift
    assert http.get(filled, params={"format": "json"}, headers={}).status_code == 200
    assert http.get(filled, headers={"Accept": "image/png"}).status_code == 406


def test_empty_listings(http, container):
    r = http.get(container)
    assert r.status_code == 204 and r.content == b""
    r = http.get(container, params={"format": "json"})
    assert r.status_code == 200 and r.json() == []
    r = http.get(container, params={"format": "xml"})
    assert r.status_code == 200 and ET.fromstring(r.content).tag == "container"


def test_container_verbs_and_metadata(http):
    name = "meta-" + uuid.uuid4().hex[:8]
    assert http.head(name).status_code == 404
    assert http.get(name).status_code == 404
    assert http.put(name, headers={"X-Container-Meta-Color": "red"}).status_code == 201
    assert http.put(name, headers={"X-Container-Meta-Size": "xl"}).status_code == 202
    r = http.head(name)
    assert r.status_code == 204
    assert r.headers["X-Container-Meta-Color"] == "red" and r.headers["X-Container-Meta-Size"] == "xl"
    assert r.headers["X-Container-Object-Count"] == "0" and r.headers["X-Container-Bytes-Used"] == "0"
    assert r.headers["X-Storage-Policy"] == "gold" and len(r.headers["X-Timestamp"]) == 16
    assert http.post(name, headers={"X-Remove-Container-Meta-Color": "x",
                                    "X-Container-Meta-New": "1"}).status_code == 204
    h = http.head(name).headers
    assert "X-Container-Meta-Color" not in h and h["X-Container-Meta-New"] == "1"
    assert http.post("missing-" + name, headers={"X-Container-Meta-A": "1"}).status_code == 404
    assert http.put(f"{name}/o", content=b"x").status_code == 201
    assert http.delete(name).status_code == 409
    assert http.delete(f"{name}/o").status_code == 204
    assert http.delete(name).status_code == 204
    assert http.delete(name).status_code == 404
    assert http.put(name, headers={"X-Storage-Policy": "bronze"}).status_code == 400


def test_account_listing_and_metadata(http, filled):
    r = http.get("", params={"format": "json", "prefix": filled})
    assert r.status_code == 200
    (row,) = r.json()
    assert set(row) == {"name", "count", "bytes", "last_modified", "storage_policy"} and row["name"] == filled
    policy = http.head(filled).headers["X-Storage-Policy"]
    assert row["storage_policy"] == policy  # Swift names each container's policy
    r = http.get("", params={"format": "xml", "prefix": filled})
    root = ET.fromstring(r.content)
    assert root.tag == "account" and root.get("name") == "AUTH_test"
    assert root.find("container/storage_policy").text == policy
    assert root[0].tag == "container" and root[0].find("name").text == filled
    assert filled + "\n" in http.get("").text
    assert http.post("", headers={"X-Account-Meta-Temp-URL-Key": "k1"}).status_code == 204
    h = http.head("").headers
    assert h["X-Account-Meta-Temp-Url-Key"] == "k1"
    assert int(h["X-Account-Container-Count"]) >= 1
    assert http.post("", headers={"X-Remove-Account-Meta-Temp-URL-Key": "x"}).status_code == 204
    assert "X-Account-Meta-Temp-Url-Key" not in http.head("").headers
    assert http.get("", params={"limit": "10001"}).status_code == 412


def test_autocreated_account(cluster):
    import httpx

    _, token = cluster.auth("test5:tester5", "testing5")
    url = cluster.proxy_url + "/v1/AUTH_test5"
    r = httpx.head(url, headers={"X-Auth-Token": token})
    assert r.status_code == 204 and r.headers["X-Account-Container-Count"] == "0"
    assert r.headers["X-Account-Object-Count"] == "0" and r.headers["X-Account-Bytes-Used"] == "0"
    r = httpx.get(url, headers={"X-Auth-Token": token})
    assert r.status_code == 204
    r = httpx.get(url, params={"format": "json"}, headers={"X-Auth-Token": token})
    assert r.status_code == 200 and r.json() == []
