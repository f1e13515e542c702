"""Object expirer: expired objects leave every listing and get tombstones on every replica;
an overwrite made after the X-Delete-At was set survives; an object the first primary learnt of
only through replication is expired by it (indexed on receipt)."""

from __future__ import annotations

import math
import time
import uuid

import httpx
import pytest

from stackstore import versioning_names as names
from stackstore.timestamp import Timestamp
from tests import ondisk
from tests.durability.bg_helpers import Layout, Swift, start_cluster, wait_for


@pytest.fixture(scope="module")
def cl(tmp_path_factory):
    c = start_cluster(tmp_path_factory.mktemp("expirer"), replicator_interval=1.0)
    yield c
    c.stop()


def _listed_anywhere(layout: Layout, account: str, container: str, obj: str) -> bool:
    """Whether any container replica still lists ``obj``."""
    _, devs = layout.container.get_nodes(account, container)
    for dev in devs:
        rows = httpx.get(layout.container_url(dev, account, container), timeout=10,
                         auth=layout.cluster.node_auth).json()
        if obj in [r.get("name") for r in rows]:
            return True
    return False


def test_expired_object_removed_cluster_wide(cl):
    swift, layout = Swift(cl), Layout(cl)
    container = "exp-" + uuid.uuid4().hex[:6]
    assert swift.put(container).status_code in (201, 202)
    start = time.time()
    # 3 s, not 1: a node refuses an X-Delete-At already past (400, as Swift's), which a PUT delayed by a
    # second under load reaches
    assert swift.put(container, "short", b"gone soon", **{"X-Delete-After": "3"}).status_code == 201
    assert swift.put(container, "rewritten", b"v1", **{"X-Delete-After": "3"}).status_code == 201
    assert swift.put(container, "rewritten", b"v2 lives").status_code == 201  # newer, no X-Delete-At
    assert swift.put(container, "later", b"stays", **{"X-Delete-After": "3600"}).status_code == 201
    # "short" may be listed and expired already before the last row lands (three seconds, under load)
    wait_for(lambda: {"rewritten", "later"} <= set(swift.names(container)))
    delete_at = swift.http.head(swift.path(container, "later")).headers["x-delete-at"]
    assert int(delete_at) >= int(start + 3600)  # Swift truncates time() + X-Delete-After

    wait_for(lambda: "short" not in swift.names(container), timeout=90)
    wait_for(lambda: not _listed_anywhere(layout, swift.account, container, "short"), timeout=60)
    assert swift.get(container, "short").status_code == 404
    # every replica holds a tombstone stamped at the delete-at time
    _, devs = layout.object.get_nodes(swift.account, container, "short")
    for dev in devs:
        resp = httpx.head(layout.object_url(dev, swift.account, container, "short"), timeout=10,
                          auth=layout.cluster.node_auth)
        assert resp.status_code == 404
        stamp = Timestamp(resp.headers["x-backend-timestamp"])
        assert start < stamp.seconds <= math.ceil(start + 3) + 1
        assert ondisk.with_ext(layout.hash_dir(dev, swift.account, container, "short"), ".ts")
    # the overwrite and the object expiring later are untouched
    assert sorted(swift.names(container)) == ["later", "rewritten"]
    assert swift.get(container, "rewritten").content == b"v2 lives"
    assert swift.get(container, "later").content == b"stays"
    expired = sum(layout.recon(i)["expirer"]["expired"] for i in range(1, 5))
    assert expired >= 1


def _expired_total(layout: Layout, dev) -> int:
    stats = layout.recon(layout.node_index(dev))["devices"][dev.device].get("expirer") or {}
    return int(stats.get("expired_total", 0))


def test_object_replicated_to_first_primary_is_expired(cl):
    swift, layout = Swift(cl), Layout(cl)
    container = "exp-" + uuid.uuid4().hex[:6]
    assert swift.put(container).status_code in (201, 202)
    _, devs = layout.object.get_nodes(swift.account, container, "replicated")
    first = devs[0]
    index = layout.node_index(first)
    cl.stop_node(index)  # the PUT goes to the other primaries and a handoff
    try:
        resp = swift.put(container, "replicated", b"via replication", **{"X-Delete-After": "15"})
        assert resp.status_code == 201
        assert not ondisk.exists(layout.hash_dir(first, swift.account, container, "replicated"))
    finally:
        cl.start_node(index)
    before = _expired_total(layout, first)
    first_dir = layout.hash_dir(first, swift.account, container, "replicated")
    wait_for(lambda: ondisk.with_ext(first_dir, ".data"), timeout=15)  # replicated before it is due

    wait_for(lambda: all(ondisk.with_ext(layout.hash_dir(d, swift.account, container, "replicated"), ".ts")
                         for d in devs), timeout=60)
    # the first primary did it (its counters are written when its pass ends, after the tombstones)
    assert wait_for(lambda: _expired_total(layout, first) > before, timeout=30)
    assert swift.get(container, "replicated").status_code == 404
    wait_for(lambda: "replicated" not in swift.names(container), timeout=30)


def test_expired_current_version_is_kept_as_a_version(cl):
    """In a versioned container the expirer ends a current version's being current, not its data: the name
    leaves the listing and reads 404, the version stays readable by id, listed once (store/expirer.py keep_version)."""
    swift = Swift(cl)
    container = "expv-" + uuid.uuid4().hex[:6]
    assert swift.put(container, **{"X-Versions-Enabled": "true"}).status_code in (201, 202)
    put = swift.put(container, "kept", b"old data", **{"X-Delete-After": "1", "X-Object-Meta-Color": "blue"})
    assert put.status_code == 201
    version = put.headers["x-object-version-id"]
    wait_for(lambda: "kept" not in swift.names(container), timeout=90)  # the expirer's pass, nobody else's
    assert swift.get(container, "kept").status_code == 404
    got = swift.http.get(swift.path(container, "kept"), params={"version-id": version})
    assert got.status_code == 200 and got.content == b"old data" and got.headers["x-object-meta-color"] == "blue"
    listed = swift.http.get(swift.path(container), params={"versions": "", "format": "json"}).json()
    assert [(r["name"], r["version_id"]) for r in listed] == [("kept", version)]


def test_version_id_outside_a_versioned_container_just_expires(cl):
    """An expiring object that carries a version id where no versions container exists (written so on the
    nodes here; e.g. a copy that kept the sysmeta) expires as a plain object: nothing is archived."""
    swift, layout = Swift(cl), Layout(cl)
    container = "expn-" + uuid.uuid4().hex[:6]
    assert swift.put(container).status_code in (201, 202)
    stamp, delete_at = Timestamp.now().normal, str(int(time.time()) + 4)
    _, devs = layout.object.get_nodes(swift.account, container, "stray")
    for dev in devs:
        resp = httpx.put(layout.object_url(dev, swift.account, container, "stray"), content=b"stray", timeout=10,
                         auth=layout.cluster.node_auth,
                         headers={"X-Timestamp": stamp, "Content-Type": "text/plain",
                                  "X-Delete-At": delete_at, "X-Object-Sysmeta-Version-Id": stamp})
        assert resp.status_code in (201, 409)  # 409: the replicator brought this very copy there first
    wait_for(lambda: all(ondisk.with_ext(layout.hash_dir(d, swift.account, container, "stray"), ".ts") for d in devs),
             timeout=90)
    hidden, name = names.versions_container(container), names.version_object("stray", stamp)
    _, hidden_devs = layout.object.get_nodes(swift.account, hidden, name)
    assert not any(ondisk.exists(layout.hash_dir(d, swift.account, hidden, name)) for d in hidden_devs)
