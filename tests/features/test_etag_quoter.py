"""RFC-quoted ETags (Swift's ``etag_quoter``): account and container settings against the real cloud,
and the cluster default's precedence."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from types import SimpleNamespace

import httpx
import pytest

from proxy.swift.features import etag_quoter

BODY = b"test"
MD5 = hashlib.md5(BODY).hexdigest()


@pytest.fixture()
def obj(http) -> str:
    """``<container>/o`` holding BODY, in a fresh container; the account's setting is cleared after."""
    name = "eq-" + uuid.uuid4().hex[:8]
    assert http.put(name).status_code == 201
    assert http.put(f"{name}/o", content=BODY).status_code == 201
    yield f"{name}/o"
    assert http.post("", headers={"X-Account-Rfc-Compliant-Etags": ""}).status_code == 204


def _etag(http: httpx.Client, path: str) -> str:
    resp = http.head(path)
    assert resp.status_code == 200
    return resp.headers["Etag"]


def test_info_advertises_the_default(anon):
    assert anon.get("/info").json()["etag_quoter"] == {"enable_by_default": False}


def test_container_then_account_settings_decide(http, obj):
    container = obj.split("/")[0]
    assert _etag(http, obj) == MD5  # Swift's default: bare
    assert http.post(container, headers={"X-Container-Rfc-Compliant-Etags": "t"}).status_code == 204
    assert http.head(container).headers["X-Container-Rfc-Compliant-Etags"] == "True"
    assert _etag(http, obj) == f'"{MD5}"'
    resp = http.get(obj)
    assert resp.headers["Etag"] == f'"{MD5}"' and resp.content == BODY
    put = http.put(f"{container}/p", content=BODY)
    assert put.status_code == 201 and put.headers["Etag"] == f'"{MD5}"'
    not_modified = http.get(obj, headers={"If-None-Match": f'"{MD5}"'})
    assert not_modified.status_code == 304 and not_modified.headers["Etag"] == f'"{MD5}"'

    # the account opts in; a container without a setting follows it, one saying false opts out
    assert http.post("", headers={"X-Account-Rfc-Compliant-Etags": "true"}).status_code == 204
    assert http.head("").headers["X-Account-Rfc-Compliant-Etags"] == "True"
    assert http.post(container, headers={"X-Container-Rfc-Compliant-Etags": ""}).status_code == 204
    assert "X-Container-Rfc-Compliant-Etags" not in http.head(container).headers
    assert _etag(http, obj) == f'"{MD5}"'
    assert http.post(container, headers={"X-Container-Rfc-Compliant-Etags": "f"}).status_code == 204
    assert http.head(container).headers["X-Container-Rfc-Compliant-Etags"] == "False"
    assert _etag(http, obj) == MD5
    assert http.post(container, headers={"X-Remove-Container-Rfc-Compliant-Etags": "x"}).status_code == 204
    assert _etag(http, obj) == f'"{MD5}"'


def test_listings_and_errors_keep_their_shape(http, obj):
    container = obj.split("/")[0]
    assert http.post(container, headers={"X-Container-Rfc-Compliant-Etags": "true"}).status_code == 204
    rows = http.get(container, params={"format": "json"}).json()
    assert rows[0]["hash"] == MD5  # listings are not headers: bare, as Swift's
    assert http.get(f"{container}/missing").status_code == 404


def test_only_the_owner_sets_it(cluster, http, obj):
    container = obj.split("/")[0]
    _, token = cluster.auth("test:tester3", "testing3")
    other = {"X-Auth-Token": token, "X-Container-Rfc-Compliant-Etags": "true"}
    resp = httpx.post(f"{http.base_url}{container}", headers=other, timeout=30)
    assert resp.status_code == 403
    assert _etag(http, obj) == MD5


def _request(container: dict, account: dict, default: bool) -> SimpleNamespace:
    async def container_info(_account, _container):
        return {"status": 204, "sysmeta": container}

    async def account_info(_account):
        return {"status": 204, "sysmeta": account}

    state = SimpleNamespace(conf={"proxy": {"etag_quoter_enable_by_default": default}},
                            container_info=container_info, account_info=account_info)
    return SimpleNamespace(state=state, account="AUTH_a", container_name="c")


@pytest.mark.parametrize("container, account, default, quoted", [
    ({}, {}, False, False),
    ({}, {}, True, True),
    ({}, {"rfc-compliant-etags": "False"}, True, False),
    ({"rfc-compliant-etags": "False"}, {"rfc-compliant-etags": "True"}, True, False),
    ({"rfc-compliant-etags": "True"}, {}, False, True),
    ({"rfc-compliant-etags": ""}, {"rfc-compliant-etags": "True"}, False, True),
])
def test_precedence_container_account_default(container, account, default, quoted):
    req = _request(container, account, default)
    assert asyncio.run(etag_quoter.wants_quotes(req)) is quoted  # type: ignore[arg-type]
    assert etag_quoter.info(req.state.conf) == {"enable_by_default": default}


def test_already_quoted_etags_are_left_alone():
    from starlette.responses import Response

    for given, shown in ((MD5, f'"{MD5}"'), (f'"{MD5}"', f'"{MD5}"'), (f'W/"{MD5}"', f'W/"{MD5}"')):
        resp = Response(b"", headers={"Etag": given})
        etag_quoter.quote_etag(resp)
        assert resp.headers["etag"] == shown
