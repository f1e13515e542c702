"""Several reseller prefixes and service tokens (Swift's ``reseller_prefix = AUTH_, SERVICE_`` with
``SERVICE_require_group = service`` and ``X-Service-Token``), on a cloud of their own."""

from __future__ import annotations

import httpx
import pytest

from stackstore.config import load_config
from tests.cluster import Cluster


@pytest.fixture(scope="module")
def service_cloud(tmp_path_factory):
    users = dict(load_config(environ={})["tempauth"]["users"])
    users["glance:glance"] = {"key": "glancepw", "groups": ["service"]}
    c = Cluster.object_store_only(tmp_path_factory.mktemp("service-cloud"), nodes=3,
                                  tempauth={"reseller_prefix": "AUTH_, SERVICE_", "SERVICE_require_group": "service",
                                            "users": users}).start()
    yield c
    c.stop()


def _request(cloud, method, path, token=None, service=None, **kw):
    headers = {k: v for k, v in (("X-Auth-Token", token), ("X-Service-Token", service)) if v}
    return httpx.request(method, cloud.proxy_url + path, headers=headers, timeout=30, **kw)


def test_user_plus_service_token_reach_the_service_account(service_cloud):
    storage_url, user = service_cloud.auth("test:tester", "testing")
    assert storage_url.endswith("/v1/AUTH_test")  # the primary prefix names the user's own account
    _, glance = service_cloud.auth("glance:glance", "glancepw")
    assert _request(service_cloud, "PUT", "/v1/SERVICE_test/images", user, glance).status_code == 201
    r = _request(service_cloud, "PUT", "/v1/SERVICE_test/images/o", user, glance, content=b"data")
    assert r.status_code == 201
    assert _request(service_cloud, "GET", "/v1/SERVICE_test/images/o", user, glance).content == b"data"
    assert _request(service_cloud, "HEAD", "/v1/SERVICE_test", user, glance).status_code == 204


def test_either_token_alone_is_refused_on_the_service_account(service_cloud):
    _, user = service_cloud.auth("test:tester", "testing")
    _, glance = service_cloud.auth("glance:glance", "glancepw")
    for token, service in ((user, None), (glance, None), (glance, glance), (user, user), (user, "AUTH_tkbogus")):
        r = _request(service_cloud, "GET", "/v1/SERVICE_test", token, service)
        assert r.status_code == 403, (token == user, service)
    assert _request(service_cloud, "GET", "/v1/SERVICE_test").status_code == 401
    # the user's own account needs no service token
    assert _request(service_cloud, "HEAD", "/v1/AUTH_test", user).status_code in (200, 204)


def test_info_still_serves(service_cloud):
    info = httpx.get(service_cloud.proxy_url + "/info").json()
    assert "s3api" in info and "tempauth" in info
