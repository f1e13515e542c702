"""Container sync against a real cloud: X-Container-Sync-To/-Key, realms, the receiving proxy stage and the
storage nodes' sync daemon (docs/container-sync.md)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import ssl
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from stackstore.container_sync_realms import SyncTarget
from stackstore.timestamp import Timestamp
from store.container_sync import RemoteContainer, SyncSettingError, tls_context
from tests.durability.test_internal_tls import make_ca, make_node_cert
from tests.harness import Cluster

REALM_KEY = "realm-secret-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict[str, Path]:
    """A private CA (self-signed) and a server certificate for 127.0.0.1 it signed."""
    directory = tmp_path_factory.mktemp("csync-pki")
    ca_path, ca_key, ca = make_ca(directory, "sync-test-ca")
    cert, key = make_node_cert(directory, ca_key, ca, "127.0.0.1")
    return {"ca": ca_path, "cert": cert, "key": key}


@pytest.fixture(scope="module")
def cloud(tmp_path_factory, pki) -> Iterator[Cluster]:
    """A cloud syncing every second, in realm TEST whose cluster LOCAL is itself; https sync targets are
    verified against the test CA (``[container_sync] ca_file``)."""
    c = Cluster.object_store_only(tmp_path_factory.mktemp("csync"))
    c.conf["container_sync"].update(interval=1.0, realms={
        "test": {"key": REALM_KEY, "clusters": {"local": f"{c.proxy_url}/v1/"}}}, current="//TEST/LOCAL",
        ca_file=str(pki["ca"]))
    c.start()
    yield c
    c.stop()


@pytest.fixture(scope="module")
def owner(cloud) -> Iterator[httpx.Client]:
    storage_url, token = cloud.auth("test:tester", "testing")
    with httpx.Client(base_url=storage_url + "/", headers={"X-Auth-Token": token}, timeout=60) as client:
        yield client


def _new_container(owner: httpx.Client, **headers: str) -> str:
    name = "sync-" + uuid.uuid4().hex[:10]
    assert owner.put(name, headers=headers).status_code in (201, 202)
    return name


def wait_for(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.3)


def _sync_pair(owner: httpx.Client) -> tuple[str, str]:
    a, b = "sync-a-" + uuid.uuid4().hex[:8], "sync-b-" + uuid.uuid4().hex[:8]
    key = uuid.uuid4().hex
    for this, other in ((a, b), (b, a)):
        assert owner.put(this, headers={"X-Container-Sync-To": f"//test/local/AUTH_test/{other}",
                                        "X-Container-Sync-Key": key}).status_code == 201
    return a, b


def test_info_names_realms_and_clusters_only(cloud):
    info = httpx.get(f"{cloud.proxy_url}/info").json()
    assert info["container_sync"] == {"realms": {"TEST": {"clusters": {"LOCAL": {"current": True}}}}}
    assert REALM_KEY not in json.dumps(info)


def test_settings_are_stored_and_shown_to_the_owner(owner):
    name = _new_container(owner, **{"X-Container-Sync-To": "//TEST/LOCAL/AUTH_test/elsewhere",
                                    "X-Container-Sync-Key": "k1"})
    head = owner.head(name)
    assert head.headers["X-Container-Sync-To"] == "//TEST/LOCAL/AUTH_test/elsewhere"
    assert head.headers["X-Container-Sync-Key"] == "k1"
    assert owner.post(name, headers={"X-Remove-Container-Sync-To": "x"}).status_code == 204
    assert "X-Container-Sync-To" not in owner.head(name).headers


@pytest.mark.parametrize("value", [
    "//NOREALM/LOCAL/AUTH_test/c",  # unknown realm
    "//TEST/NOCLUSTER/AUTH_test/c",  # unknown cluster
    "//TEST/LOCAL/AUTH_test",  # not realm/cluster/account/container
    "ftp://127.0.0.1/v1/AUTH_test/c",  # scheme
    "http://10.9.8.7:8080/v1/AUTH_test/c",  # host not in allowed_sync_hosts
    "http://127.0.0.1:8080/v1/AUTH_test/c?x=1",  # query
])
def test_invalid_sync_to_is_400(owner, value):
    name = _new_container(owner)
    resp = owner.post(name, headers={"X-Container-Sync-To": value})
    assert resp.status_code == 400, resp.text
    assert "X-Container-Sync-To" not in owner.head(name).headers


def test_sync_to_refused_on_a_versioned_container(owner):
    name = _new_container(owner, **{"X-Versions-Enabled": "true"})
    resp = owner.post(name, headers={"X-Container-Sync-To": "//TEST/LOCAL/AUTH_test/c", "X-Container-Sync-Key": "k"})
    assert resp.status_code == 400


def test_acl_users_neither_see_nor_set_the_sync_settings(cloud, owner):
    name = _new_container(owner, **{"X-Container-Sync-To": "//TEST/LOCAL/AUTH_test/x", "X-Container-Sync-Key": "s"})
    storage_url, token = cloud.auth("test:tester3", "testing3")
    try:
        for level in ("read-only", "read-write"):
            acl = json.dumps({level: ["test:tester3"]})
            assert owner.post("", headers={"X-Account-Access-Control": acl}).status_code == 204
            with httpx.Client(base_url=storage_url + "/", headers={"X-Auth-Token": token}) as user:
                head = user.head(name)
                assert head.status_code == 204
                assert "X-Container-Sync-Key" not in head.headers and "X-Container-Sync-To" not in head.headers
                resp = user.post(name, headers={"X-Container-Sync-Key": "stolen", "X-Container-Sync-To": ""})
                assert resp.status_code == (403 if level == "read-only" else 204)
            head = owner.head(name)
            assert head.headers["X-Container-Sync-Key"] == "s"
            assert head.headers["X-Container-Sync-To"] == "//TEST/LOCAL/AUTH_test/x"
    finally:
        owner.post("", headers={"X-Remove-Account-Access-Control": "x"})


def _sign(method: str, path: str, timestamp: str, nonce: str, user_key: str, realm_key: str = REALM_KEY) -> str:
    message = f"{method}\n{path}\n{timestamp}\n{nonce}\n{user_key}".encode()
    return hmac.new(realm_key.encode(), message, hashlib.sha1).hexdigest()


def test_signed_put_is_accepted_and_keeps_its_timestamp(cloud, owner):
    name = _new_container(owner, **{"X-Container-Sync-Key": "target-key"})
    path, timestamp, nonce = f"/v1/AUTH_test/{name}/obj", "1700000000.12345", "n1"
    sig = _sign("PUT", path, timestamp, nonce, "target-key")
    resp = httpx.put(cloud.proxy_url + path, content=b"synced", headers={
        "X-Container-Sync-Auth": f"TEST {nonce} {sig}", "X-Timestamp": timestamp})
    assert resp.status_code == 201, resp.text
    head = owner.head(f"{name}/obj")
    assert head.headers["X-Timestamp"] == timestamp
    # an older write loses against the newer copy
    older = "1600000000.00000"
    resp = httpx.put(cloud.proxy_url + path, content=b"old", headers={
        "X-Container-Sync-Auth": f"TEST n2 {_sign('PUT', path, older, 'n2', 'target-key')}", "X-Timestamp": older})
    assert resp.status_code in (202, 409)
    assert owner.get(f"{name}/obj").content == b"synced"


def test_bad_signatures_are_401(cloud, owner):
    name = _new_container(owner, **{"X-Container-Sync-Key": "target-key"})
    path, timestamp = f"/v1/AUTH_test/{name}/obj", "1700000000.12345"
    cases = [
        f"TEST n1 {'0' * 40}",  # wrong signature
        f"TEST n1 {_sign('PUT', path, timestamp, 'n1', 'other-key')}",  # not the container's key
        f"TEST n1 {_sign('PUT', path, timestamp, 'n1', 'target-key', 'other-realm-key')}",  # not the realm's key
        f"NOREALM n1 {_sign('PUT', path, timestamp, 'n1', 'target-key')}",
        "TEST onlytwo",
    ]
    for auth in cases:
        resp = httpx.put(cloud.proxy_url + path, content=b"x",
                         headers={"X-Container-Sync-Auth": auth, "X-Timestamp": timestamp})
        assert resp.status_code == 401, auth
        assert resp.headers["Www-Authenticate"].startswith("SwiftContainerSync")
    # headers that are no text a signature could cover: refused, never a server error
    for ts_value in (b"\xd9\xa1\xd9\xa2", b"\xff", b"garbage"):
        resp = httpx.put(cloud.proxy_url + path, content=b"x", headers=[
            (b"X-Container-Sync-Auth", b"TEST \xff " + b"0" * 40), (b"X-Timestamp", ts_value)])
        assert resp.status_code == 401
    # the signature covers the path: another object is refused
    sig = _sign("PUT", path, timestamp, "n1", "target-key")
    resp = httpx.put(cloud.proxy_url + path + "2", content=b"x",
                     headers={"X-Container-Sync-Auth": f"TEST n1 {sig}", "X-Timestamp": timestamp})
    assert resp.status_code == 401
    assert owner.head(f"{name}/obj").status_code == 404


def test_legacy_sync_key_authorizes_only_when_it_matches(cloud, owner):
    name = _new_container(owner, **{"X-Container-Sync-Key": "legacy-key"})
    url = f"{cloud.proxy_url}/v1/AUTH_test/{name}/obj"
    wrong = httpx.put(url, content=b"x", headers={"X-Container-Sync-Key": "nope", "X-Timestamp": "1700000000.0"})
    assert wrong.status_code == 401
    right = httpx.put(url, content=b"x", headers={"X-Container-Sync-Key": "legacy-key",
                                                  "X-Timestamp": "1700000000.00000"})
    assert right.status_code == 201
    bad_time = httpx.put(url, content=b"x", headers={"X-Container-Sync-Key": "legacy-key", "X-Timestamp": "-1"})
    assert bad_time.status_code == 400


def test_two_containers_sync_both_ways(owner):
    a, b = _sync_pair(owner)
    resp = owner.put(f"{a}/doc.txt", content=b"hello" * 1000,
                     headers={"X-Object-Meta-Color": "blue", "Content-Type": "text/plain"})
    assert resp.status_code == 201
    written = owner.head(f"{a}/doc.txt").headers["X-Timestamp"]
    synced = wait_for(lambda: (r := owner.get(f"{b}/doc.txt")).status_code == 200 and r)
    assert synced.content == b"hello" * 1000
    assert synced.headers["X-Object-Meta-Color"] == "blue"
    assert synced.headers["Content-Type"].startswith("text/plain")
    assert synced.headers["X-Timestamp"] == written  # the source's timestamp: the newest write wins

    # an overwrite on the other side comes back
    assert owner.put(f"{b}/doc.txt", content=b"changed in b").status_code == 201
    wait_for(lambda: owner.get(f"{a}/doc.txt").content == b"changed in b")

    # a delete propagates
    assert owner.delete(f"{a}/doc.txt").status_code == 204
    wait_for(lambda: owner.head(f"{b}/doc.txt").status_code == 404)
    time.sleep(2.5)  # a few passes more: nothing comes back to life
    assert owner.head(f"{a}/doc.txt").status_code == 404
    assert owner.head(f"{b}/doc.txt").status_code == 404


def _listed(owner: httpx.Client, container: str, name: str) -> dict:
    rows = owner.get(container, params={"format": "json", "prefix": name}).json()
    return next(row for row in rows if row["name"] == name)


def test_metadata_posts_are_synced_and_the_newest_post_wins(owner):
    a, b = _sync_pair(owner)
    assert owner.put(f"{a}/m", content=b"body", headers={"X-Object-Meta-Color": "blue"}).status_code == 201
    wait_for(lambda: owner.head(f"{b}/m").headers.get("X-Object-Meta-Color") == "blue")
    written = owner.head(f"{a}/m").headers["X-Timestamp"]
    before = _listed(owner, a, "m")["last_modified"]
    time.sleep(0.05)
    # a metadata-only POST moves the row (its listing shows the POST's time, as Swift's) and reaches b
    assert owner.post(f"{a}/m", headers={"X-Object-Meta-Color": "red", "X-Object-Meta-New": "1"}).status_code == 202
    assert _listed(owner, a, "m")["last_modified"] > before
    synced = wait_for(lambda: (r := owner.head(f"{b}/m")).headers.get("X-Object-Meta-Color") == "red" and r)
    assert synced.headers["X-Object-Meta-New"] == "1"
    assert owner.get(f"{b}/m").content == b"body"
    # only the metadata moved (a signed POST; Swift sends the whole object again): the copy's data keeps
    # the source's data time
    assert synced.headers["X-Timestamp"] == written
    # a POST that changes the content type too
    retyped = {"Content-Type": "text/x-new", "X-Object-Meta-Color": "green"}
    assert owner.post(f"{a}/m", headers=retyped).status_code == 202
    wait_for(lambda: owner.head(f"{b}/m").headers.get("Content-Type", "").startswith("text/x-new"))
    assert owner.head(f"{b}/m").headers["X-Object-Meta-Color"] == "green"
    assert "X-Object-Meta-New" not in owner.head(f"{b}/m").headers
    # a newer POST on the other side comes back, and wins over the older one on both sides
    assert owner.post(f"{b}/m", headers={"X-Object-Meta-Color": "violet"}).status_code == 202
    wait_for(lambda: owner.head(f"{a}/m").headers.get("X-Object-Meta-Color") == "violet")
    time.sleep(2.5)  # a few passes more: both settled on the newest
    for container in (a, b):
        head = owner.head(f"{container}/m")
        assert head.headers["X-Object-Meta-Color"] == "violet"
        assert head.headers["X-Timestamp"] == written
        assert owner.get(f"{container}/m").content == b"body"


def test_a_manifest_post_is_synced_by_sending_it_again(owner):
    a, b = _sync_pair(owner)
    segments = _new_container(owner)
    owner.put(f"{segments}/p/1", content=b"seg")
    assert owner.put(f"{a}/dlo", content=b"", headers={"X-Object-Manifest": f"{segments}/p/"}).status_code == 201
    wait_for(lambda: owner.head(f"{b}/dlo").status_code == 200)
    assert owner.post(f"{a}/dlo", headers={"X-Object-Manifest": f"{segments}/p/",
                                           "X-Object-Meta-Kind": "manifest"}).status_code == 202
    synced = wait_for(lambda: (r := owner.head(f"{b}/dlo")).headers.get("X-Object-Meta-Kind") == "manifest" and r)
    assert synced.headers["X-Object-Manifest"] == f"{segments}/p/"
    assert owner.get(f"{b}/dlo").content == b"seg"


def test_dlo_manifest_is_synced_as_a_manifest(owner):
    a, b = _sync_pair(owner)
    segments = _new_container(owner)
    owner.put(f"{segments}/big/001", content=b"a" * 10)
    owner.put(f"{segments}/big/002", content=b"b" * 10)
    owner.put(f"{a}/big", content=b"", headers={"X-Object-Manifest": f"{segments}/big/"})
    synced = wait_for(lambda: (r := owner.get(f"{b}/big")).status_code == 200 and r)
    assert synced.headers["X-Object-Manifest"] == f"{segments}/big/"
    assert synced.content == b"a" * 10 + b"b" * 10  # the segments are shared in one account


def test_sync_resumes_after_the_daemon_was_stopped(cloud, owner):
    a, b = _sync_pair(owner)
    owner.put(f"{a}/before", content=b"1")
    wait_for(lambda: owner.head(f"{b}/before").status_code == 200)
    nodes = range(1, len(cloud.node_names) + 1)
    off = {**os.environ, "STACKSTORE_CONTAINER_SYNC_INTERVAL": "0"}
    for index in nodes:  # the same nodes, without their sync daemon
        cloud.stop_node(index)
        cloud.cloud.services[f"node{index}"].start(env=off)
    cloud.cloud.wait_healthy([f"node{i}" for i in nodes], 30)
    try:
        wait_for(lambda: owner.put(f"{a}/probe", content=b"").status_code == 201, timeout=60)
        assert owner.put(f"{a}/while-stopped", content=b"2").status_code == 201
        time.sleep(3)
        assert owner.head(f"{b}/while-stopped").status_code == 404
    finally:
        for index in nodes:
            cloud.stop_node(index)
            cloud.start_node(index)
        probe = "probe-" + uuid.uuid4().hex[:8]  # the restarted nodes take writes again (the next tests need it)
        wait_for(lambda: owner.put(probe).status_code in (201, 202), timeout=60)
    wait_for(lambda: owner.head(f"{b}/while-stopped").status_code == 200)
    assert owner.get(f"{b}/while-stopped").content == b"2"


def test_failed_rows_are_retried_next_pass(owner):
    a = "sync-src-" + uuid.uuid4().hex[:8]
    b = "sync-dst-" + uuid.uuid4().hex[:8]
    assert owner.put(a, headers={"X-Container-Sync-To": f"//TEST/LOCAL/AUTH_test/{b}",
                                 "X-Container-Sync-Key": "k"}).status_code == 201
    owner.put(f"{a}/o1", content=b"first")
    time.sleep(2.5)  # the target does not exist yet: every attempt fails
    assert owner.put(b, headers={"X-Container-Sync-Key": "k"}).status_code == 201
    wait_for(lambda: owner.get(f"{b}/o1").content == b"first")


def test_versioning_and_sync_exclude_each_other(owner):
    source = _new_container(owner, **{"X-Container-Sync-To": "//TEST/LOCAL/AUTH_test/x", "X-Container-Sync-Key": "k"})
    resp = owner.post(source, headers={"X-Versions-Enabled": "true"})
    assert resp.status_code == 400
    assert "source of container syncing" in resp.text


def test_slo_manifest_and_symlink_are_synced_as_stored(owner):
    a, b = _sync_pair(owner)
    segments = _new_container(owner)
    owner.put(f"{segments}/s1", content=b"x" * 5)
    owner.put(f"{segments}/s2", content=b"y" * 5)
    manifest = json.dumps([{"path": f"/{segments}/s1"}, {"path": f"/{segments}/s2"}])
    assert owner.put(f"{a}/slo", params={"multipart-manifest": "put"}, content=manifest).status_code == 201
    assert owner.put(f"{a}/link", content=b"", headers={"X-Symlink-Target": f"{segments}/s1"}).status_code == 201
    synced = wait_for(lambda: (r := owner.get(f"{b}/slo")).status_code == 200 and r)
    assert synced.content == b"x" * 5 + b"y" * 5
    assert synced.headers["X-Static-Large-Object"] == "True"
    assert synced.headers["Etag"] == owner.head(f"{a}/slo").headers["Etag"]
    raw = owner.get(f"{b}/slo", params={"multipart-manifest": "get"}).json()
    assert [seg["name"] for seg in raw] == [f"/{segments}/s1", f"/{segments}/s2"]
    link = wait_for(lambda: (r := owner.head(f"{b}/link", params={"symlink": "get"})).status_code == 200 and r)
    assert link.headers["X-Symlink-Target"] == f"{segments}/s1"
    assert owner.get(f"{b}/link").content == b"x" * 5


@pytest.fixture(scope="module")
def second_cloud(tmp_path_factory, pki) -> Iterator[Cluster]:
    """Another cloud (its own nodes, rings and proxy) on other ports, serving HTTPS with a certificate of the
    test CA; its own sync daemon (every second) trusts only the system's store."""
    c = Cluster.object_store_only(tmp_path_factory.mktemp("csync2"), nodes=3,
                                  proxy={"tls_certfile": str(pki["cert"]), "tls_keyfile": str(pki["key"])},
                                  container_sync={"interval": 1.0})
    c.start()
    yield c
    c.stop()


def test_full_url_sync_to_another_cluster(cloud, owner, second_cloud):
    storage_url, token = second_cloud.auth("test:tester", "testing")
    with httpx.Client(base_url=storage_url + "/", headers={"X-Auth-Token": token}, timeout=60) as remote:
        target = "mirror-" + uuid.uuid4().hex[:8]
        assert remote.put(target, headers={"X-Container-Sync-Key": "shared"}).status_code == 201
        source = _new_container(owner, **{"X-Container-Sync-To": f"{storage_url}/{target}",
                                          "X-Container-Sync-Key": "shared"})
        owner.put(f"{source}/one", content=b"across clusters", headers={"X-Object-Meta-Kind": "dr"})
        synced = wait_for(lambda: (r := remote.get(f"{target}/one")).status_code == 200 and r)
        assert synced.content == b"across clusters" and synced.headers["X-Object-Meta-Kind"] == "dr"
        owner.delete(f"{source}/one")
        wait_for(lambda: remote.head(f"{target}/one").status_code == 404)


def test_recon_counts_what_the_daemon_sent(cloud, owner):
    a, b = _sync_pair(owner)
    owner.put(f"{a}/counted", content=b"12345")
    wait_for(lambda: owner.head(f"{b}/counted").status_code == 200)

    def sent() -> int:
        total = 0
        for index in range(1, len(cloud.node_names) + 1):
            doc = httpx.get(cloud.node_url(index) + "/recon", auth=cloud.node_auth, timeout=30).json()
            total += doc["container_sync"]["puts"]
            assert doc["container_sync"]["last_pass"] is not None
        return total

    assert wait_for(lambda: sent() >= 1)


def test_sync_point_is_kept_on_the_device_and_dropped_when_sync_is_off(cloud, owner):
    from store.listings import container_key

    a, b = _sync_pair(owner)
    owner.put(f"{a}/p", content=b"p")
    wait_for(lambda: owner.head(f"{b}/p").status_code == 200)
    point_name = container_key("AUTH_test", a).hex() + ".json"

    def points() -> list[dict]:
        found = []
        for index in range(1, len(cloud.node_names) + 1):
            for path in cloud.node_devices_root(index).glob(f"*/container_sync/{point_name}"):
                found.append(json.loads(path.read_text()))
        return found

    saved = wait_for(points)
    assert len(saved) == 1 and saved[0]["point"] >= 1 and saved[0]["to"] == f"//test/local/AUTH_test/{b}"
    assert owner.post(a, headers={"X-Container-Sync-To": ""}).status_code == 204
    wait_for(lambda: not points())


def test_https_target_is_verified_with_the_configured_ca(cloud, owner, second_cloud):
    storage_url, token = second_cloud.auth("test:tester", "testing")
    account = storage_url.rstrip("/").rsplit("/", 1)[1]
    with httpx.Client(base_url=storage_url + "/", headers={"X-Auth-Token": token}, timeout=60) as remote:
        target = "tls-mirror-" + uuid.uuid4().hex[:8]
        assert remote.put(target, headers={"X-Container-Sync-Key": "tls-key"}).status_code == 201
        source = _new_container(owner, **{"X-Container-Sync-To": f"{second_cloud.tls_url}/v1/{account}/{target}",
                                          "X-Container-Sync-Key": "tls-key"})
        owner.put(f"{source}/secure", content=b"over https" * 1000)
        synced = wait_for(lambda: (r := remote.get(f"{target}/secure")).status_code == 200 and r)
        assert synced.content == b"over https" * 1000


def _node_logs(cluster: Cluster) -> str:
    return "".join(cluster.cloud.services[name].log_path.read_text(errors="replace") for name in cluster.node_names)


def _passes(cluster: Cluster) -> list[Any]:
    return [httpx.get(cluster.node_url(i) + "/recon", auth=cluster.node_auth, timeout=30).json()
            ["container_sync"]["last_pass"] for i in range(1, len(cluster.node_names) + 1)]


def test_https_target_without_its_ca_is_refused_with_a_logged_reason(second_cloud):
    """second_cloud trusts only the system store: its sync to its own https listener (a certificate of the
    private test CA) never goes through unverified; the nodes say why and keep running their passes."""
    storage_url, token = second_cloud.auth("test:tester", "testing")
    account = storage_url.rstrip("/").rsplit("/", 1)[1]
    with httpx.Client(base_url=storage_url + "/", headers={"X-Auth-Token": token}, timeout=60) as client:
        target = "untrusted-" + uuid.uuid4().hex[:8]
        assert client.put(target, headers={"X-Container-Sync-Key": "k"}).status_code == 201
        source = "src-" + uuid.uuid4().hex[:8]
        assert client.put(source, headers={"X-Container-Sync-To": f"{second_cloud.tls_url}/v1/{account}/{target}",
                                           "X-Container-Sync-Key": "k"}).status_code == 201
        assert client.put(f"{source}/o", content=b"x").status_code == 201
        wait_for(lambda: "CERTIFICATE_VERIFY_FAILED" in _node_logs(second_cloud))
        before = _passes(second_cloud)
        wait_for(lambda: all(now != then for now, then in zip(_passes(second_cloud), before, strict=True)))
        assert client.head(f"{target}/o").status_code == 404
        assert "Traceback" not in _node_logs(second_cloud)


def test_ca_file_setting():
    assert tls_context({}).verify_mode == ssl.CERT_REQUIRED and tls_context({}).check_hostname
    with pytest.raises(SyncSettingError, match="ca_file"):
        tls_context({"ca_file": "/nonexistent/ca.pem"})


def test_remote_answers_are_never_read_whole():
    """A remote answering with an endless body: the sync request returns once the status is known."""

    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        writer.write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 100000000000\r\n\r\n")
        try:
            while True:
                writer.write(b"x" * 65536)
                await writer.drain()
        except (ConnectionError, OSError):
            writer.close()

    async def body() -> AsyncIterator[bytes]:
        yield b"data"

    async def run() -> None:
        server = await asyncio.start_server(endless, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server, httpx.AsyncClient(timeout=10) as http:
            remote = RemoteContainer(http, SyncTarget(f"http://127.0.0.1:{port}/v1/AUTH_a/c"), "key")
            started = time.monotonic()
            with pytest.raises(Exception, match="503"):
                await remote.put("o", Timestamp.now(), {"Content-Length": "4"}, body())
            assert time.monotonic() - started < 5

    asyncio.run(run())
