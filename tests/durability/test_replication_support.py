"""Helpers for the replication durability tests (no tests here): clusters, load, on-disk checks."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx

from ring import Ring, hash_path
from stackstore.config import ensure_hash_path_suffix
from tests import ondisk
from tests.harness import Cluster

FAST = {
    "store": {"replicator_interval": 1.0, "fsync": True, "updater_interval": 1.0, "auditor_interval": 0,
              "expirer_interval": 0},
    "proxy": {"node_timeout": 3.0},
    # only the object store is exercised here
    "identity": {"enabled": False}, "volumes": {"enabled": False}, "compute": {"enabled": False},
}


def replication_cluster(tmp: Path, nodes: int = 4, **extra: dict) -> Cluster:
    overrides = {k: dict(v) for k, v in FAST.items()}
    for section, values in extra.items():
        overrides.setdefault(section, {}).update(values)
    c = Cluster(tmp, nodes=nodes, **overrides)
    try:
        c.start()
    except Exception:
        c.stop()
        raise
    return c


def wait_until(problems: Callable[[], object], timeout: float, interval: float = 0.5) -> float:
    """Poll ``problems`` until it returns something empty/falsy; seconds taken. AssertionError with
    the last answer on timeout."""
    start = time.monotonic()
    while True:
        last = problems()
        if not last:
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not reached within {timeout}s: {str(last)[:2000]}")
        time.sleep(interval)


class Client:
    """Swift client over httpx for one account."""

    def __init__(self, cluster: Cluster):
        self.url, token = cluster.auth()
        self.account = self.url.rstrip("/").rsplit("/", 1)[1]
        self.http = httpx.Client(headers={"X-Auth-Token": token}, timeout=30.0)

    def put(self, container: str, obj: str, body: bytes) -> int:
        return self.http.put(f"{self.url}/{container}/{quote(obj)}", content=body).status_code

    def delete(self, container: str, obj: str) -> int:
        return self.http.delete(f"{self.url}/{container}/{quote(obj)}").status_code

    def get(self, container: str, obj: str) -> httpx.Response:
        return self.http.get(f"{self.url}/{container}/{quote(obj)}")

    def create_container(self, container: str) -> None:
        self.http.put(f"{self.url}/{container}").raise_for_status()


@dataclass
class Load:
    """Writer threads PUTting fresh objects; remembers every acknowledged one (name -> md5)."""

    cluster: Cluster
    container: str
    threads: int = 4
    size: int = 2048
    acked: dict[str, str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    attempts: int = 0

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers: list[threading.Thread] = []

    def _run(self, n: int) -> None:
        client = Client(self.cluster)
        i = 0
        while not self._stop.is_set():
            name = f"load-{n}-{i}"
            body = os.urandom(self.size + i % 97)
            try:
                status = client.put(self.container, name, body)
            except httpx.HTTPError as exc:
                status = repr(exc)
            with self._lock:
                self.attempts += 1
                if status == 201:
                    self.acked[name] = hashlib.md5(body).hexdigest()
                else:
                    self.failures.append(f"{name}: {status}")
            i += 1

    def start(self) -> Load:
        self._workers = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(self.threads)]
        for w in self._workers:
            w.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for w in self._workers:
            w.join(60)

    def count(self) -> int:
        with self._lock:
            return len(self.acked)


def put_objects(client: Client, container: str, names: range, base_size: int) -> dict[str, str | None]:
    """PUT ``obj-<i>`` for i in ``names`` (random bodies of ``base_size + i`` bytes, 503s retried);
    name → md5 of what was stored."""
    stored: dict[str, str | None] = {}
    for i in names:
        body = os.urandom(base_size + i)
        for _ in range(3):  # a 503 acknowledged nothing: the client retries
            status = client.put(container, f"obj-{i}", body)
            if status != 503:
                break
        assert status == 201, f"obj-{i}: {status}"
        stored[f"obj-{i}"] = hashlib.md5(body).hexdigest()
    return stored


class Layout:
    """Where replicas live: rings plus node device roots, for direct on-disk and node checks."""

    def __init__(self, cluster: Cluster, extra_roots: dict[int, Path] | None = None):
        self.cluster = cluster
        conf = cluster.conf
        self.suffix = ensure_hash_path_suffix(conf)
        self.rings = {k: Ring(conf.ring_dir / f"{k}.ring", self.suffix, reload_interval=0.0)
                      for k in ("object", "container", "account")}
        self.roots: dict[int, Path] = {cluster.cloud.node_port(i): cluster.node_devices_root(i)
                                       for i in range(1, cluster.cloud.node_count + 1)}
        self.roots.update(extra_roots or {})

    def object_states(self, account: str, container: str, obj: str,
                      handoffs: bool = False) -> list[tuple[str, str | None]]:
        """(winner file name or "", etag of the .data) on each primary device (then on each handoff device
        with ``handoffs``: where a write goes while the proxy error-limits a primary)."""
        ring = self.rings["object"]
        part, primaries = ring.get_nodes(account, container, obj)
        h = hash_path(self.suffix, account, container, obj).hex()
        devices = list(primaries) + (list(ring.handoffs(part)) if handoffs else [])
        out = []
        for dev in devices:
            out.append(ondisk.newest(self.roots[dev.port] / dev.device / "objects" / str(part) / h[-3:] / h))
        return out

    def misplaced_objects(self, account: str, container: str, expected: dict[str, str | None]) -> list[str]:
        """Objects whose primaries do not all hold the expected version (md5, or None = deleted)."""
        bad = []
        for name, md5 in expected.items():
            states = self.object_states(account, container, name)
            names = {s[0] for s in states}
            if md5 is None:
                ok = all(s[0].endswith(".ts") for s in states)
            else:
                ok = all(s[0].endswith(".data") and s[1] == md5 for s in states)
            if not ok or len(names) != 1:
                bad.append(f"{name}: {states}")
        return bad

    def under_replicated(self, account: str, container: str, expected: dict[str, str], copies: int = 3
                         ) -> list[str]:
        """Objects with fewer than ``copies`` intact replicas on any mounted device (primary or handoff)."""
        ring = self.rings["object"]
        bad = []
        for name, md5 in expected.items():
            part = ring.partition(account, container, name)
            h = hash_path(self.suffix, account, container, name).hex()
            found = 0
            for root in self.roots.values():
                for device in os.listdir(root):
                    if not (root / device).is_dir():
                        continue
                    name, etag = ondisk.newest(root / device / "objects" / str(part) / h[-3:] / h)
                    found += name.endswith(".data") and etag == md5
            if found < copies:
                bad.append(f"{name}: {found} copies")
        return bad

    def handoff_leftovers(self) -> list[str]:
        """Object partition dirs with files on devices that are not primaries for them."""
        ring = self.rings["object"]
        by_name = {(d.port, d.device): d for d in ring.devices}
        out = []
        for port, root in self.roots.items():
            for device in os.listdir(root):
                dev = by_name.get((port, device))
                if dev is None:
                    continue
                by_part: dict[int, int] = {}
                for part, _, _ in ondisk.object_files(root / device):
                    if dev.id not in {d.id for d in ring.primaries(part)}:
                        by_part[part] = by_part.get(part, 0) + 1
                for part, count in sorted(by_part.items()):
                    out.append(f"{device}/objects/{part}: {count} files")
        return out

    def container_listings(self, account: str, container: str) -> list[set[str] | None]:
        """Object names listed by every container primary, asked directly (None if unreachable)."""
        ring = self.rings["container"]
        part, primaries = ring.get_nodes(account, container)
        out: list[set[str] | None] = []
        for dev in primaries:
            names: set[str] = set()
            marker = ""
            try:
                while True:
                    r = httpx.get(f"http://{dev.ip}:{dev.port}/cont/{dev.device}/{part}/{quote(account, safe='')}"
                                  f"/{quote(container, safe='')}", params={"marker": marker, "format": "json"},
                                  timeout=10, auth=self.cluster.node_auth)
                    if r.status_code != 200:
                        out.append(None)
                        break
                    rows = r.json()
                    names.update(row["name"] for row in rows)
                    if len(rows) < 10000:
                        out.append(names)
                        break
                    marker = rows[-1]["name"]
            except httpx.HTTPError:
                out.append(None)
        return out

    def listing_diff(self, account: str, container: str, expected: set[str]) -> list[str]:
        """How each container replica's listing differs from ``expected`` (empty when converged)."""
        out = []
        for i, names in enumerate(self.container_listings(account, container)):
            if names is None:
                out.append(f"replica {i}: unreachable")
            elif names != expected:
                out.append(f"replica {i}: missing {sorted(expected - names)[:5]} extra {sorted(names - expected)[:5]}")
        return out


def read_back(client: Client, container: str, expected: dict[str, str]) -> list[str]:
    """Objects whose GET through the proxy is missing or has different content."""
    bad = []
    for name, md5 in expected.items():
        r = client.get(container, name)
        if r.status_code != 200 or hashlib.md5(r.content).hexdigest() != md5:
            bad.append(f"{name}: {r.status_code}")
    return bad
