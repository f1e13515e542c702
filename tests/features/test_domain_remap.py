"""Domain remap (``[proxy] storage_domain``) against a real cloud: hosts become Swift paths, as Swift 2.38."""

from __future__ import annotations

import uuid

import httpx
import pytest

from proxy.swift.domain_remap import BadDomain, DomainRemap
from tests.harness import Cluster

DOMAIN = "example.net"


@pytest.fixture(scope="module")
def remap_cloud(tmp_path_factory):
    """A cloud of its own with the storage domain set (the shared one has domain remap off)."""
    c = Cluster(tmp_path_factory.mktemp("remap"), proxy={"storage_domain": DOMAIN}).start()
    yield c
    c.stop()


@pytest.fixture(scope="module")
def token(remap_cloud) -> str:
    return remap_cloud.auth("test:tester", "testing")[1]


@pytest.fixture(scope="module")
def client(remap_cloud, token):
    with httpx.Client(base_url=remap_cloud.proxy_url, headers={"X-Auth-Token": token}, timeout=60) as c:
        yield c


@pytest.fixture()
def stored(client) -> tuple[str, str]:
    """A container with an object ``o`` and an object ``/v1``, made through ordinary paths."""
    cont = "dr" + uuid.uuid4().hex[:10]
    assert client.put(f"/v1/AUTH_test/{cont}").status_code == 201
    assert client.put(f"/v1/AUTH_test/{cont}/o", content=b"obj contents").status_code == 201
    assert client.put(f"/v1/AUTH_test/{cont}//v1", content=b"slash contents").status_code == 201
    return cont, "o"


@pytest.mark.parametrize("account_label", ["AUTH_test", "AUTH-test", "auth-test", "auth_test"])
def test_account_host_reads_containers_and_objects(client, stored, account_label):
    cont, obj = stored
    host = f"{account_label}.{DOMAIN}"
    listing = client.get("/", headers={"Host": host})
    assert listing.status_code == 200
    assert cont in listing.text.split("\n")
    objects = client.get(f"/{cont}", headers={"Host": host})
    assert objects.status_code == 200
    assert {"o", "/v1"} <= set(objects.text.split("\n"))
    assert client.get(f"/{cont}/{obj}", headers={"Host": host}).content == b"obj contents"
    assert client.get(f"/{cont}//v1", headers={"Host": host}).content == b"slash contents"


def test_container_host_reads_and_writes(client, stored):
    cont, _ = stored
    host = f"{cont}.AUTH-test.{DOMAIN}:8080"
    assert {"o", "/v1"} <= set(client.get("/", headers={"Host": host}).text.split("\n"))
    assert client.put("/new", content=b"new obj contents", headers={"Host": host}).status_code == 201
    assert client.get(f"/v1/AUTH_test/{cont}/new").content == b"new obj contents"
    # without mangle_client_paths a client's own /v1 is part of the object name, as Swift
    url = httpx.URL(str(client.base_url)).copy_with(raw_path=b"//v1")  # httpx would read "//v1" as a host
    assert client.get(url, headers={"Host": host}).content == b"slash contents"


def test_utf8_container_name_in_the_host(client):
    cont = "dr\u00e9\u65e5" + uuid.uuid4().hex[:6]
    quoted = "dr%C3%A9%E6%97%A5" + cont[4:]
    assert client.put(f"/v1/AUTH_test/{quoted}").status_code == 201
    assert client.put(f"/v1/AUTH_test/{quoted}/o", content=b"utf8 contents").status_code == 201
    host = f"{cont}.AUTH_test.{DOMAIN}".encode()  # raw UTF-8 bytes, as Swift's clients send them
    assert client.get("/o", headers={"Host": host}).content == b"utf8 contents"
    assert client.get("/", headers={"Host": host}).text.split("\n")[0] == "o"
    assert DomainRemap.from_conf({"storage_domain": DOMAIN}).remap(
        host.decode("latin-1"), b"/o") == f"/v1/AUTH_test/{quoted}/o".encode()


def test_account_host_creates_container(client):
    cont = "dr" + uuid.uuid4().hex[:10]
    assert client.put(f"/{cont}", headers={"Host": f"AUTH_test.{DOMAIN}"}).status_code == 201
    assert client.head(f"/v1/AUTH_test/{cont}").status_code == 204


def test_still_needs_authorization(remap_cloud, stored):
    cont, _ = stored
    resp = httpx.get(f"{remap_cloud.proxy_url}/o", headers={"Host": f"{cont}.AUTH_test.{DOMAIN}"})
    assert resp.status_code == 401


def test_too_many_labels_is_400(client):
    resp = client.get("/", headers={"Host": f"a.b.AUTH_test.{DOMAIN}"})
    assert resp.status_code == 400
    assert resp.text == "Bad domain in host header"


def test_other_hosts_and_unknown_prefixes_are_not_remapped(client, stored):
    cont, _ = stored
    # not the storage domain: an ordinary path request
    assert client.get(f"/v1/AUTH_test/{cont}/o", headers={"Host": "other.example.org"}).status_code == 200
    # no known reseller prefix and no default: left alone (so "/" is no Swift path)
    assert client.get("/", headers={"Host": f"nobody.{DOMAIN}"}).status_code == 404


def test_location_points_at_the_requested_path(client, stored):
    cont, _ = stored
    host = f"{cont}.AUTH_test.{DOMAIN}"
    client.post(f"/v1/AUTH_test/{cont}", headers={"X-Container-Meta-Web-Index": "index.html"})
    assert client.put("/sub/index.html", content=b"<p>hi</p>", headers={"Host": host}).status_code == 201
    # a staticweb dir redirect says /sub/, not /v1/AUTH_test/<cont>/sub/
    resp = client.get("/sub", headers={"Host": host, "X-Web-Mode": "true"})
    assert resp.status_code == 301, resp.text
    assert resp.headers["Location"] == f"http://{host}/sub/"


def test_info_advertises_domain_remap(remap_cloud, cluster):
    info = httpx.get(f"{remap_cloud.proxy_url}/info").json()
    assert info["domain_remap"] == {"default_reseller_prefix": None}
    assert "domain_remap" not in httpx.get(f"{cluster.proxy_url}/info").json()


def test_s3_virtual_hosts_still_work_next_to_the_storage_domain(client):
    # an unsigned virtual-host S3 request stays with the S3 API (its AccessDenied XML, not Swift's)
    resp = client.get("/", headers={"Host": "bucket.localhost"})
    assert "<Error>" in resp.text


def test_rules_without_a_cloud():
    remap = DomainRemap.from_conf({"storage_domain": "example.com, .other.org", "s3_domain": "localhost",
                                   "domain_remap_reseller_prefixes": "AUTH, SERVICE",
                                   "domain_remap_default_reseller_prefix": "AUTH",
                                   "domain_remap_mangle_client_paths": True})
    assert remap is not None
    assert remap.remap("c.auth-x.example.com", b"/o") == b"/v1/AUTH_x/c/o"
    assert remap.remap("service_y.other.org:80", b"/c") == b"/v1/SERVICE_y/c"
    assert remap.remap("plain.example.com", b"/c") == b"/v1/AUTH_plain/c"
    assert remap.remap("c.AUTH_x.example.com", b"/v1/o") == b"/v1/AUTH_x/c/o"  # mangled
    assert remap.remap("elsewhere.net", b"/o") is None
    with pytest.raises(BadDomain):
        remap.remap("a.b.c.example.com", b"/")
    assert DomainRemap.from_conf({"storage_domain": ""}) is None
    for clash in ("localhost", "s3.localhost"):
        with pytest.raises(ValueError):
            DomainRemap.from_conf({"storage_domain": clash, "s3_domain": "localhost"})
