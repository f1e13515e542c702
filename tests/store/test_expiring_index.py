"""The per-device delete-at index: the expirer reads it instead of every object's metadata.

One real node process with a one-device ring (so it is every object's first primary and its expirer
works); objects are written straight to the node. Counters come from ``<device>/.recon/expirer.json``.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx

from ring import Ring
from ring.bootstrap import build_default_rings
from tests import ondisk
from tests.store.conftest import NODE_AUTH, SUFFIX, NodeProcess, next_ts, object_dir, wait_for

FAST = {"expirer_interval": 1.0, "auditor_interval": 3600.0, "auditor_bytes_per_second": 0,
        "auditor_files_per_second": 0, "replicator_interval": 3600.0, "fsync": False}


class Objects:
    """Direct object requests to the node's only device, at the ring's partitions."""

    def __init__(self, node: NodeProcess):
        self.node = node
        self.account = "AUTH_" + uuid.uuid4().hex[:8]
        self.ring = Ring(node.tmp / "data" / "rings" / "object.ring", SUFFIX)
        self._local = threading.local()

    @property
    def http(self) -> httpx.Client:
        """This thread's client: the tests write from a thread pool, and one httpx client shared by 32
        threads once read from a connection another thread had just closed (EBADF)."""
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = httpx.Client(base_url=self.node.url, timeout=30, auth=NODE_AUTH)
        return client

    def path(self, obj: str) -> str:
        return f"/obj/d1/{self.ring.partition(self.account, 'c', obj)}/{self.account}/c/{obj}"

    def put(self, obj: str, body: bytes = b"x", **headers: str) -> int:
        headers = {"X-Timestamp": next_ts(), "Content-Type": "text/plain", **headers}
        return self.http.put(self.path(obj), content=body, headers=headers).status_code

    def post(self, obj: str, **headers: str) -> int:
        return self.http.post(self.path(obj), headers={"X-Timestamp": next_ts(), **headers}).status_code

    def get(self, obj: str) -> httpx.Response:
        return self.http.get(self.path(obj))

    def tombstoned(self, obj: str) -> bool:
        hdir = object_dir(self.node.devices_root, "d1", self.ring.partition(self.account, "c", obj),
                          self.account, "c", obj)
        return bool(ondisk.with_ext(hdir, ".ts"))

    def expirer_stats(self) -> dict:
        path = self.node.devices_root / "d1" / ".recon" / "expirer.json"
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return {}


def _ring_node(make_node, **conf) -> NodeProcess:
    node = make_node(start=False, **{**FAST, **conf})
    build_default_rings(node.tmp / "data" / "rings", [(1, 1, "127.0.0.1", node.port, "d1", 100.0)],
                        part_power=6, replicas=1, min_part_hours=0)
    return node.start()


def _stats_after_pass(objs: Objects, predicate, timeout: float = 30.0) -> dict:
    """The expirer stats once ``predicate(stats)`` holds."""
    def check() -> dict | None:
        stats = objs.expirer_stats()
        return stats if stats and predicate(stats) else None

    stats = wait_for(check, timeout=timeout)
    assert stats, f"expirer stats never matched: {objs.expirer_stats()}"
    return stats


def test_pass_examines_only_indexed_objects(make_node):
    node = _ring_node(make_node)
    objs = Objects(node)
    plain = [f"plain-{i}" for i in range(3000)]
    with ThreadPoolExecutor(32) as pool:
        assert set(pool.map(objs.put, plain)) == {201}
    soon, later = str(int(time.time()) + 3), str(int(time.time()) + 3600)
    expiring = [f"soon-{i}" for i in range(5)]
    for obj in expiring:
        assert objs.put(obj, **{"X-Delete-At": soon}) == 201
    for obj in ("later-1", "later-2"):
        assert objs.put(obj, **{"X-Delete-At": later}) == 201

    stats = _stats_after_pass(objs, lambda s: s.get("expired_total", 0) >= 5)
    assert all(objs.tombstoned(obj) for obj in expiring)
    # only the five due entries were ever opened: not the 3000 plain objects, not those due later
    assert stats["examined_total"] == stats["expired_total"] == 5, stats
    assert stats["failures_total"] == 0
    stats = _stats_after_pass(objs, lambda s: s["last_pass"] > stats["last_pass"])
    assert stats["examined"] == stats["due"] == 0 and stats["entries"] == 2, stats
    assert objs.get("later-1").status_code == 200
    assert all(objs.get(obj).status_code == 200 for obj in plain[::500])
    node.stop()
    assert "Traceback" not in node.logs(), node.logs()


def test_post_moves_the_entry_and_an_overwrite_is_not_deleted(make_node):
    node = _ring_node(make_node)
    objs = Objects(node)
    soon, later = str(int(time.time()) + 3), str(int(time.time()) + 3600)
    assert objs.put("moved-sooner", **{"X-Delete-At": later}) == 201
    assert objs.post("moved-sooner", **{"X-Delete-At": soon}) == 202
    assert objs.put("moved-later", **{"X-Delete-At": soon}) == 201
    assert objs.post("moved-later", **{"X-Delete-At": later}) == 202
    assert objs.put("cleared", **{"X-Delete-At": soon}) == 201
    assert objs.post("cleared") == 202  # a POST without X-Delete-At removes it
    assert objs.put("overwritten", b"v1", **{"X-Delete-At": soon}) == 201
    assert objs.put("overwritten", b"v2 lives") == 201

    stats = _stats_after_pass(objs, lambda s: s.get("expired_total", 0) >= 1 and s.get("stale_total", 0) >= 1)
    assert objs.tombstoned("moved-sooner") and objs.get("moved-sooner").status_code == 404
    assert objs.get("moved-later").status_code == 200
    assert objs.get("moved-later").headers["x-delete-at"] == later
    assert "x-delete-at" not in objs.get("cleared").headers
    assert objs.get("overwritten").content == b"v2 lives"
    # the POSTs moved their entries; only the overwrite left a stale one, dropped once due
    assert stats["expired_total"] == 1 and stats["stale_total"] == 1 and stats["examined_total"] == 2, stats
    assert stats["entries"] == 1  # moved-later, due in an hour


def test_lost_index_is_rebuilt_by_the_auditor(make_node):
    node = _ring_node(make_node, auditor_interval=1.0)
    objs = Objects(node)
    delete_at = int(time.time()) + 12
    assert objs.put("expiring", **{"X-Delete-At": str(delete_at)}) == 201
    assert objs.put("plain") == 201
    node.stop()
    index = node.devices_root / "d1" / "expiring.lmdb"
    assert index.is_dir()
    shutil.rmtree(index)  # the index is lost while the node is down
    restarted = time.time()
    node.start()

    stats = _stats_after_pass(objs, lambda s: s["last_pass"] > restarted and s.get("entries") == 1,
                              timeout=delete_at - time.time())
    assert stats["examined_total"] == 0  # rebuilt by the auditor, before anything was due
    _stats_after_pass(objs, lambda s: s.get("expired_total") == 1)
    assert objs.tombstoned("expiring")
    assert objs.get("plain").status_code == 200
