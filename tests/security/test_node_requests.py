"""Issue 12, attack 5: storage nodes serve only requests signed with the cluster's node key.

Played against a real cloud: a request straight to a node that is unsigned, signed with another key,
replayed after the allowed clock skew or altered after signing gets 401 and changes nothing (the
object still reads back through the proxy, no tombstone on disk); a correctly signed write stamped far
in the future is still refused (400). The health check stays open to the launcher's probes.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from ring import Ring, hash_path
from stackstore import node_signing
from stackstore.config import ensure_hash_path_suffix
from stackstore.timestamp import Timestamp
from tests import ondisk
from tests.harness import NodeAuth

BODY = b"the original body"


@pytest.fixture(scope="module")
def stored(cluster, http):
    """(container, object) stored through the proxy."""
    container, obj = f"nodesig-{uuid.uuid4().hex[:8]}", "precious"
    assert http.put(container).status_code in (201, 202)
    assert http.put(f"{container}/{obj}", content=BODY).status_code == 201
    return container, obj


class Replicas:
    """The primaries of one object: node URLs and on-disk directories."""

    def __init__(self, cluster, account: str, container: str, obj: str):
        suffix = ensure_hash_path_suffix(cluster.conf)
        ring = Ring(cluster.conf.ring_dir / "object.ring", suffix)
        part, self.devices = ring.get_nodes(account, container, obj)
        self.paths = [f"/obj/{d.device}/{part}/{account}/{quote(container)}/{quote(obj)}" for d in self.devices]
        self.urls = [f"http://{d.address}{p}" for d, p in zip(self.devices, self.paths, strict=True)]
        base = int(cluster.conf["store"]["base_port"])
        digest = hash_path(suffix, account, container, obj).hex()
        self.dirs: list[Path] = [cluster.node_devices_root(d.port - base) / d.device / "objects" / str(part)
                                 / digest[-3:] / digest for d in self.devices]

    def files(self) -> list[list[str]]:
        return [ondisk.names(d) for d in self.dirs]


@pytest.fixture(scope="module")
def replicas(cluster, account, stored) -> Replicas:
    storage_url, _ = account
    return Replicas(cluster, storage_url.rstrip("/").rsplit("/", 1)[1], *stored)


def _unchanged(http, stored, replicas: Replicas, before: list[list[str]]) -> None:
    container, obj = stored
    resp = http.get(f"{container}/{obj}")
    assert resp.status_code == 200 and resp.content == BODY
    assert replicas.files() == before
    assert not any(name.endswith(".ts") for files in before for name in files)


def _refused(resp: httpx.Response) -> None:
    assert resp.status_code == 401, (resp.status_code, resp.text)
    assert resp.text == "unauthorized"
    assert BODY not in resp.content


def test_unsigned_requests_are_refused_and_change_nothing(http, stored, replicas):
    before = replicas.files()
    assert all(before), "every primary holds the object"
    stamp = Timestamp(time.time()).normal
    with httpx.Client(timeout=10) as raw:
        for url in replicas.urls:
            _refused(raw.get(url))
            assert raw.head(url).status_code == 401
            _refused(raw.put(url, content=b"replaced", headers={"X-Timestamp": stamp,
                                                                  "Content-Type": "text/plain"}))
            _refused(raw.post(url, headers={"X-Timestamp": stamp, "X-Object-Meta-Evil": "1"}))
            _refused(raw.delete(url, headers={"X-Timestamp": stamp}))
    _unchanged(http, stored, replicas, before)


def test_listings_recon_and_replication_routes_need_a_signature(cluster, account, stored):
    storage_url, _ = account
    acct = storage_url.rstrip("/").rsplit("/", 1)[1]
    node = cluster.node_url(1)
    with httpx.Client(base_url=node, timeout=10) as raw:
        for path in ("/recon", "/replicate/partitions", "/replicate/stats", f"/acct/n1d1/0/{acct}",
                     f"/cont/n1d1/0/{acct}/{stored[0]}"):
            _refused(raw.get(path))
        assert raw.get("/healthcheck").text == "OK"  # the launcher's probe stays open
        assert raw.head("/healthcheck").status_code == 200
        assert raw.post("/healthcheck").status_code == 401
    with httpx.Client(base_url=node, timeout=10, auth=cluster.node_auth) as signed:
        assert signed.get("/recon").status_code == 200


def test_a_signed_request_is_served(cluster, replicas):
    resp = httpx.get(replicas.urls[0], auth=cluster.node_auth, timeout=10)
    assert resp.status_code == 200 and resp.content == BODY


def test_another_key_is_refused(http, stored, replicas):
    before = replicas.files()
    stranger = NodeAuth(b"not the cluster's node key")
    with httpx.Client(timeout=10, auth=stranger) as other:
        for url in replicas.urls:
            _refused(other.get(url))
            _refused(other.delete(url, headers={"X-Timestamp": Timestamp(time.time()).normal}))
    _unchanged(http, stored, replicas, before)


def _send(url: str, method: str, headers: dict[str, str], signature: str) -> httpx.Response:
    with httpx.Client(timeout=10) as raw:
        return raw.request(method, url, headers={**headers, node_signing.SIGNATURE_HEADER: signature})


def test_a_request_older_than_the_skew_is_refused(cluster, http, stored, replicas):
    before = replicas.files()
    key = cluster.node_key
    for url, path in zip(replicas.urls, replicas.paths, strict=True):
        headers = {"X-Timestamp": Timestamp(time.time()).normal}
        captured = node_signing.sign(key, "DELETE", path, headers,
                                     now=time.time() - node_signing.DEFAULT_MAX_SKEW - 5)
        _refused(_send(url, "DELETE", headers, captured))
        ahead = node_signing.sign(key, "DELETE", path, headers, now=time.time() + node_signing.DEFAULT_MAX_SKEW + 5)
        _refused(_send(url, "DELETE", headers, ahead))
    _unchanged(http, stored, replicas, before)


def test_an_altered_request_is_refused(cluster, http, stored, replicas):
    before = replicas.files()
    key = cluster.node_key
    url, path = replicas.urls[0], replicas.paths[0]
    old = {"X-Timestamp": Timestamp(time.time() - 3000).normal}
    signature = node_signing.sign(key, "DELETE", path, old)
    _refused(_send(url, "DELETE", {"X-Timestamp": Timestamp(time.time()).normal}, signature))  # header changed
    _refused(_send(url, "PUT", old, signature))  # method changed
    _refused(_send(replicas.urls[1], "DELETE", old, node_signing.sign(key, "DELETE", path + "x", old)))  # path
    _refused(_send(url, "DELETE", {**old, "X-Backend-Extra": "1"}, signature))  # header added
    _unchanged(http, stored, replicas, before)


def test_a_far_future_timestamp_signed_correctly_is_400(cluster, http, stored, replicas):
    before = replicas.files()
    future = Timestamp(time.time() + 10 * 86400).normal
    with httpx.Client(timeout=10, auth=cluster.node_auth) as signed:
        for url in replicas.urls:
            assert signed.delete(url, headers={"X-Timestamp": future}).status_code == 400
    _unchanged(http, stored, replicas, before)


def test_refusals_are_logged_without_the_key(cluster, replicas):
    with httpx.Client(timeout=10) as raw:
        assert raw.get(replicas.urls[0]).status_code == 401
    port = replicas.devices[0].port
    index = port - int(cluster.conf["store"]["base_port"])
    log = cluster.cloud.services[f"node{index}"].log_path.read_text(errors="replace")
    assert "unsigned request" in log
    assert cluster.node_key.decode() not in log
