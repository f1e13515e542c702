"""``X-Open-Expired`` (Swift's proxy ``allow_open_expired``) against real clouds.

With ``[proxy] allow_open_expired = true`` an object GET/HEAD/POST sending ``X-Open-Expired: true``
reaches an object past its X-Delete-At that the expirer has not deleted yet; a POST can restore it; an
expired SLO reads with its expired segments. Off by default (the shared cloud): the header changes
nothing. The nodes' backend header is reachable only through the proxy's signed requests: a client's
own ``X-Backend-Open-Expired`` is not forwarded, a temp URL ignores ``X-Open-Expired``, and a node
refuses an unsigned request that carries it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from urllib.parse import quote

import httpx
import pytest

from ring import Ring
from stackstore.config import ensure_hash_path_suffix
from stackstore.wire import OPEN_EXPIRED
from tests.harness import Cluster

OPEN = {"X-Open-Expired": "true"}


@pytest.fixture(scope="module")
def open_cloud(tmp_path_factory):
    """A cloud of its own with ``allow_open_expired`` on (the shared one keeps Swift's default, off);
    the expirer never runs, so expired objects stay on disk for the tests."""
    c = Cluster(tmp_path_factory.mktemp("open-expired"), proxy={"allow_open_expired": True},
                store={"expirer_interval": 0}).start()
    yield c
    c.stop()


@pytest.fixture(scope="module")
def client(open_cloud):
    storage_url, token = open_cloud.auth("test:tester", "testing")
    with httpx.Client(base_url=storage_url + "/", headers={"X-Auth-Token": token}, timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def cont(client) -> str:
    name = "oe-" + uuid.uuid4().hex[:8]
    assert client.put(name).status_code == 201
    return name


def _expired(client: httpx.Client, path: str, content: bytes = b"", **headers: str) -> None:
    """PUT ``path`` expiring in a second and wait until it reads as gone."""
    resp = client.put(path, content=content, headers={"X-Delete-After": "1", **headers})
    assert resp.status_code == 201, resp.text
    _wait_gone(client, path)


def _wait_gone(client: httpx.Client, path: str) -> None:
    deadline = time.time() + 15
    while client.head(path).status_code != 404:
        assert time.time() < deadline, f"{path} never expired"
        time.sleep(0.5)


def test_info_shows_the_setting(open_cloud, anon):
    assert httpx.get(open_cloud.proxy_url + "/info").json()["swift"]["allow_open_expired"] is True
    assert anon.get("/info").json()["swift"]["allow_open_expired"] is False


def test_get_head_and_post_reach_an_expired_object(client, cont):
    path = f"{cont}/gone"
    _expired(client, path, b"still here", **{"X-Object-Meta-Color": "blue"})
    now = int(time.time())

    assert client.get(path).status_code == 404
    assert client.get(path, headers={"X-Open-Expired": "false"}).status_code == 404
    resp = client.get(path, headers=OPEN)
    assert resp.status_code == 200 and resp.content == b"still here"
    assert int(resp.headers["X-Delete-At"]) <= now and resp.headers["X-Object-Meta-Color"] == "blue"
    resp = client.head(path, headers=OPEN)
    assert resp.status_code == 200 and resp.headers["Content-Length"] == "10"
    assert client.get(path, headers={**OPEN, "Range": "bytes=6-"}).content == b"here"

    # a POST without the header finds nothing; with it, it updates the object: no X-Delete-At restores it
    assert client.post(path, headers={"X-Object-Meta-Color": "red"}).status_code == 404
    assert client.post(path, headers={**OPEN, "X-Object-Meta-Color": "green"}).status_code == 202
    resp = client.get(path)
    assert resp.status_code == 200 and resp.content == b"still here"
    assert resp.headers["X-Object-Meta-Color"] == "green" and "X-Delete-At" not in resp.headers


def test_post_can_push_the_expiry_back(client, cont):
    path = f"{cont}/later"
    _expired(client, path, b"x")
    later = int(time.time()) + 3600
    assert client.post(path, headers={**OPEN, "X-Delete-At": str(later)}).status_code == 202
    resp = client.head(path)
    assert resp.status_code == 200 and resp.headers["X-Delete-At"] == str(later)


def test_a_deleted_object_stays_deleted(client, cont):
    path = f"{cont}/deleted"
    assert client.put(path, content=b"d").status_code == 201
    assert client.delete(path).status_code == 204
    assert client.get(path, headers=OPEN).status_code == 404  # a tombstone is not an expired object
    assert client.head(path, headers=OPEN).status_code == 404
    assert client.post(path, headers=OPEN).status_code == 404


def test_an_expired_slo_reads_with_its_expired_segments(client, cont):
    parts = [b"one", b"two", b"three"]
    for i, data in enumerate(parts):
        assert client.put(f"{cont}/seg/{i}", content=data, headers={"X-Delete-After": "1"}).status_code == 201
    manifest = [{"path": f"/{cont}/seg/{i}", "etag": hashlib.md5(d).hexdigest(), "size_bytes": len(d)}
                for i, d in enumerate(parts)]
    resp = client.put(f"{cont}/slo", params={"multipart-manifest": "put"}, content=json.dumps(manifest),
                      headers={"X-Delete-After": "1"})
    assert resp.status_code == 201, resp.text
    _wait_gone(client, f"{cont}/slo")
    _wait_gone(client, f"{cont}/seg/2")

    resp = client.get(f"{cont}/slo", headers=OPEN)
    assert resp.status_code == 200 and resp.content == b"onetwothree"
    resp = client.get(f"{cont}/slo", params={"part-number": "3"}, headers=OPEN)
    assert resp.status_code == 206 and resp.content == b"three"
    resp = client.get(f"{cont}/slo", params={"multipart-manifest": "get"}, headers=OPEN)
    assert resp.status_code == 200 and len(resp.json()) == 3
    assert client.get(f"{cont}/slo", params={"part-number": "1"}).status_code == 404


def test_a_clients_backend_header_is_not_forwarded(client, cont):
    path = f"{cont}/backend-header"
    _expired(client, path, b"b")
    assert client.get(path, headers={OPEN_EXPIRED: "true"}).status_code == 404
    assert client.head(path, headers={OPEN_EXPIRED: "true"}).status_code == 404
    assert client.post(path, headers={OPEN_EXPIRED: "true", "X-Object-Meta-A": "b"}).status_code == 404


def test_a_temp_url_ignores_the_header(open_cloud, client, cont):
    path = f"{cont}/tempurl"
    _expired(client, path, b"t")
    key = "open-expired-key"
    assert client.post("", headers={"X-Account-Meta-Temp-URL-Key": key}).status_code == 204
    full = httpx.URL(str(client.base_url).rstrip("/") + "/" + path).path
    expires = int(time.time()) + 300
    sig = hmac.new(key.encode(), f"GET\n{expires}\n{full}".encode(), hashlib.sha256).hexdigest()
    with httpx.Client(base_url=open_cloud.proxy_url, timeout=30) as anon:
        params = {"temp_url_sig": sig, "temp_url_expires": str(expires)}
        assert anon.get(full, params=params, headers=OPEN).status_code == 404
    assert client.get(path, headers=OPEN).status_code == 200  # the object is there for its owner


def test_a_node_honours_the_backend_header_only_when_signed(open_cloud, client, cont):
    path = f"{cont}/direct"
    _expired(client, path, b"direct")
    suffix = ensure_hash_path_suffix(open_cloud.conf)
    ring = Ring(open_cloud.conf.ring_dir / "object.ring", suffix)
    part, devices = ring.get_nodes("AUTH_test", cont, "direct")
    url = f"http://{devices[0].address}/obj/{devices[0].device}/{part}/AUTH_test/{quote(cont)}/direct"
    assert httpx.get(url, headers={OPEN_EXPIRED: "true"}, timeout=10).status_code == 401
    assert httpx.get(url, auth=open_cloud.node_auth, timeout=10).status_code == 404
    resp = httpx.get(url, headers={OPEN_EXPIRED: "true"}, auth=open_cloud.node_auth, timeout=10)
    assert resp.status_code == 200 and resp.content == b"direct"


def test_off_by_default_the_header_changes_nothing(http, container):
    path = f"{container}/gone"
    _expired(http, path, b"x")
    assert http.get(path, headers=OPEN).status_code == 404
    assert http.head(path, headers=OPEN).status_code == 404
    assert http.post(path, headers={**OPEN, "X-Object-Meta-A": "b"}).status_code == 404
