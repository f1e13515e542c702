"""Object versions and delete markers under replication: a node is down while versions and markers
are written and a version is deleted; after it returns, every primary holds every version (and the
deletion), the listings agree, and nothing deleted reappears."""

from __future__ import annotations

import hashlib
import os
import signal
from urllib.parse import quote

from stackstore.versioning_names import version_object, versions_container
from tests.durability.test_replication_support import Client, Layout, replication_cluster, wait_until

RECOVERY_TIMEOUT = 90.0
NAMES = [f"obj-{i}" for i in range(6)]


def md5(body: bytes) -> str:
    return hashlib.md5(body).hexdigest()


def test_versions_and_markers_replicate_and_deletions_stick(tmp_path):
    cluster = replication_cluster(tmp_path / "cloud")
    try:
        client = Client(cluster)
        client.http.put(f"{client.url}/vers", headers={"X-Versions-Enabled": "true"}).raise_for_status()
        current: dict[str, str | None] = {}
        archived: dict[str, str | None] = {}
        first: dict[str, str] = {}

        def put(name: str, body: bytes) -> str:
            r = client.http.put(f"{client.url}/vers/{quote(name)}", content=body)
            assert r.status_code == 201, r.text
            return r.headers["x-object-version-id"]

        for name in NAMES:  # two versions of each before the node goes down
            first[name] = put(name, f"{name} one".encode())
            put(name, f"{name} two".encode())
            archived[version_object(name, first[name])] = md5(f"{name} one".encode())

        cluster.stop_node(2, signal.SIGKILL)
        for name in NAMES:
            # the old version is deleted for good while a replica of it sits on the stopped node
            r = client.http.delete(f"{client.url}/vers/{quote(name)}", params={"version-id": first[name]})
            assert r.status_code == 204, r.text
            archived[version_object(name, first[name])] = None
        for name in NAMES[:3]:  # a third version, then a delete marker
            second = client.http.head(f"{client.url}/vers/{quote(name)}").headers["x-object-version-id"]
            third = put(name, f"{name} three".encode())
            archived[version_object(name, second)] = md5(f"{name} two".encode())
            archived[version_object(name, third)] = md5(f"{name} three".encode())  # kept by the delete
            r = client.http.delete(f"{client.url}/vers/{quote(name)}")
            assert r.status_code == 204
            third_marker = r.headers["x-object-version-id"]
            current[name] = None
            archived[version_object(name, third_marker)] = md5(b"")
        for name in NAMES[3:]:
            current[name] = md5(f"{name} two".encode())
        cluster.start_node(2)

        layout = Layout(cluster)
        account, hidden = client.account, versions_container("vers")

        def problems() -> list[str]:
            out = layout.misplaced_objects(account, "vers", current)
            out += layout.misplaced_objects(account, hidden, archived)
            if not out:
                out += layout.listing_diff(account, hidden, {n for n, v in archived.items() if v is not None})
            return out

        took = wait_until(problems, RECOVERY_TIMEOUT)
        print(f"versions converged {took:.1f}s after the node returned")
        for name in NAMES:  # the version deleted while the node was down stays deleted
            r = client.http.get(f"{client.url}/vers/{quote(name)}", params={"version-id": first[name]})
            assert r.status_code == 404
        rows = client.http.get(f"{client.url}/vers", params={"versions": "", "format": "json"}).json()
        # deleted names: two versions and a marker each; the others: their current version only
        assert len(rows) == 3 * len(NAMES[:3]) + len(NAMES[3:]), rows
        assert not {first[name] for name in NAMES} & {r["version_id"] for r in rows}
    finally:
        for i in range(1, cluster.cloud.node_count + 1):
            proc = cluster.cloud.services[f"node{i}"].proc
            if proc is not None and proc.poll() is None:
                os.kill(proc.pid, signal.SIGCONT)
        cluster.stop()
