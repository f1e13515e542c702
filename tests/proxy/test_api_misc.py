"""Request ids, /info, /healthcheck, routing of unknown paths, constraint errors."""

from __future__ import annotations

import re

import httpx

from proxy.swift import constraints

TRANS_ID = re.compile(r"^tx[0-9a-f]{21}-[0-9a-f]{10}$")


def test_trans_id_on_every_response(cluster, http, container):
    responses = [
        httpx.get(cluster.proxy_url + "/info"), httpx.get(cluster.proxy_url + "/healthcheck"),
        httpx.get(cluster.proxy_url + "/auth/v1.0", headers={"X-Auth-User": "x:y", "X-Auth-Key": "z"}),
        httpx.get(cluster.proxy_url + "/nowhere"), httpx.get(cluster.proxy_url + "/v1/AUTH_test"),
        http.head(""), http.put(f"{container}/o", content=b"x"), http.get(f"{container}/o"),
        http.get(f"{container}/missing"), http.get(container, params={"limit": "99999"}),
        http.request("PATCH", container),
    ]
    ids = set()
    for r in responses:
        assert TRANS_ID.match(r.headers["X-Trans-Id"]), (r.request.url, r.headers)
        assert r.headers["X-Openstack-Request-Id"] == r.headers["X-Trans-Id"]
        ids.add(r.headers["X-Trans-Id"])
    assert len(ids) == len(responses)


def test_info(cluster):
    r = httpx.get(cluster.proxy_url + "/info")
    assert r.status_code == 200
    info = r.json()
    sw = info["swift"]
    assert sw["max_file_size"] == constraints.MAX_FILE_SIZE
    assert sw["container_listing_limit"] == 10000 and sw["account_listing_limit"] == 10000
    assert sw["max_object_name_length"] == 1024
    assert sw["max_meta_count"] == constraints.MAX_META_COUNT
    assert sw["max_meta_name_length"] == constraints.MAX_META_NAME_LENGTH
    assert sw["max_meta_value_length"] == constraints.MAX_META_VALUE_LENGTH
    assert sw["max_meta_overall_size"] == constraints.MAX_META_OVERALL_SIZE
    assert sw["policies"][0]["default"] is True
    assert {"max_manifest_segments", "max_manifest_size", "min_segment_size"} <= set(info["slo"])
    assert {"max_deletes_per_request", "max_failed_deletes"} <= set(info["bulk_delete"])
    assert set(info["tempurl"]["methods"]) == {"GET", "HEAD", "PUT", "POST", "DELETE"}
    assert set(info["tempurl"]["allowed_digests"]) == {"sha1", "sha256", "sha512"}


def test_healthcheck_and_unknown_paths(cluster):
    r = httpx.get(cluster.proxy_url + "/healthcheck")
    assert r.status_code == 200 and r.text == "OK"
    r = httpx.get(cluster.proxy_url + "/nowhere")
    assert r.status_code == 404
    assert r.text == "<html><h1>Not Found</h1><p>The resource could not be found.</p></html>"
    assert httpx.get(cluster.proxy_url + "/v2/AUTH_test").status_code == 404
    # one segment no S3 bucket can be named: Swift's 412 (its proxy finds no controller for it)
    for path in ("/info%20asdf", "/UPPER_case", "/x"):
        r = httpx.get(cluster.proxy_url + path)
        assert r.status_code == 412 and r.text == "Bad URL", path


def test_metadata_constraints(http, container):
    def put(headers):
        return http.put(f"{container}/m", content=b"x", headers=headers).status_code

    n, v = constraints.MAX_META_NAME_LENGTH, constraints.MAX_META_VALUE_LENGTH
    assert put({"X-Object-Meta-" + "n" * n: "v"}) == 201
    assert put({"X-Object-Meta-" + "n" * (n + 1): "v"}) == 400
    assert put({"X-Object-Meta-K": "v" * v}) == 201
    assert put({"X-Object-Meta-K": "v" * (v + 1)}) == 400
    count = constraints.MAX_META_COUNT
    assert put({f"X-Object-Meta-K{i}": "v" for i in range(count)}) == 201
    assert put({f"X-Object-Meta-K{i}": "v" for i in range(count + 1)}) == 400
    overall = constraints.MAX_META_OVERALL_SIZE  # names (without the prefix) + values, summed
    items = overall // v  # each item: a 2-character name and a value of v - 2, exactly `overall` in all
    assert overall % v == 0 and items <= count
    full = {f"X-Object-Meta-{i:02d}": "v" * (v - 2) for i in range(items)}
    assert put(full) == 201
    assert put({**full, "X-Object-Meta-zz": "v"}) == 400
    assert http.post(container, headers={"X-Container-Meta-" + "n" * (n + 1): "v"}).status_code == 400
    assert http.post("", headers={"X-Account-Meta-K": "v" * (v + 1)}).status_code == 400
    r = http.put(f"{container}/m", content=b"x", headers={"X-Object-Meta-" + "n" * (n + 1): "v"})
    assert r.headers["Content-Type"].startswith("text/plain") and "Metadata name too long" in r.text


def test_error_bodies_are_small_html(http, container):
    r = http.get(f"{container}/missing")
    assert r.status_code == 404
    assert r.text == "<html><h1>Not Found</h1><p>The resource could not be found.</p></html>"
    assert "Traceback" not in r.text
