"""CORS end to end: preflight from container metadata and headers on actual responses."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def cors_container(http):
    headers = {"X-Container-Meta-Access-Control-Allow-Origin": "https://app.example https://two.example",
               "X-Container-Meta-Access-Control-Max-Age": "3600",
               "X-Container-Meta-Access-Control-Expose-Headers": "X-Custom-Thing",
               "X-Container-Read": ".r:*"}
    assert http.put("cors-c", headers=headers).status_code in (201, 202)
    assert http.put("cors-c/o", content=b"cors", headers={"X-Object-Meta-Color": "red"}).status_code == 201
    return "cors-c"


def test_preflight_allowed(http, cors_container):
    r = http.options(f"{cors_container}/o", headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "x-auth-token, content-type"})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "https://app.example"
    assert "PUT" in r.headers["access-control-allow-methods"]
    assert r.headers["access-control-allow-headers"] == "x-auth-token, content-type"
    assert r.headers["access-control-max-age"] == "3600"


def test_preflight_denied(anon, account, cors_container):
    path = account[0].split("/v1/", 1)[1]
    r = anon.options(f"/v1/{path}/{cors_container}/o", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
    assert r.status_code == 401


def test_preflight_without_a_request_method_is_denied(anon, account, cors_container):
    path = account[0].split("/v1/", 1)[1]
    r = anon.options(f"/v1/{path}/{cors_container}/o", headers={"Origin": "https://app.example"})
    assert r.status_code == 401  # an allowed origin still needs Access-Control-Request-Method, as Swift
    r = anon.options(f"/v1/{path}/{cors_container}/o")
    assert r.status_code == 200 and "GET" in r.headers["Allow"]  # not a preflight: the Allow answer
    r = anon.options(f"/v1/{path}", headers={"Origin": "https://app.example"})
    assert r.status_code == 200  # accounts have no CORS rules to refuse with


def test_actual_response_headers(http, cors_container):
    r = http.get(f"{cors_container}/o", headers={"Origin": "https://two.example"})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "https://two.example"
    exposed = {h.strip() for h in r.headers["access-control-expose-headers"].split(",")}
    assert {"etag", "x-timestamp", "x-trans-id", "x-openstack-request-id", "content-type",
            "x-object-meta-color", "x-custom-thing"} <= exposed
    r = http.get(f"{cors_container}/o", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers
