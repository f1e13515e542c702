"""SLO manifests whose segments are symlinks, end to end: Swift's SLO reads its segments through the
``symlink`` middleware, so a link segment counts as its target (at manifest PUT and on every read),
followed with the caller's authority; nesting stops at Swift's ``max_slo_recursion_depth``."""

from __future__ import annotations

import hashlib
import json
import uuid

import httpx
import pytest

MiB = 1024 * 1024


def link(http: httpx.Client, path: str, target: str, **headers: str) -> httpx.Response:
    return http.put(path, content=b"", headers={"X-Symlink-Target": target, **headers})


def put_manifest(http: httpx.Client, path: str, entries: list[dict]) -> httpx.Response:
    return http.put(path, params={"multipart-manifest": "put"}, content=json.dumps(entries))


@pytest.fixture()
def segments(http: httpx.Client) -> tuple[str, str]:
    """(links container, targets container): ``tgt/a`` (1 MiB of a), ``tgt/b`` (b) and links to them."""
    links, targets = "lnk-" + uuid.uuid4().hex[:8], "tgt-" + uuid.uuid4().hex[:8]
    for name in (links, targets):
        assert http.put(name).status_code in (201, 202)
    assert http.put(f"{targets}/a", content=b"a" * MiB).status_code == 201
    assert http.put(f"{targets}/b", content=b"b" * MiB).status_code == 201
    assert link(http, f"{links}/la", f"{targets}/a").status_code == 201
    assert link(http, f"{links}/lb", f"{targets}/b").status_code == 201
    return links, targets


def test_manifest_of_links_reads_the_targets(http, segments):
    links, targets = segments
    r = put_manifest(http, f"{links}/m", [{"path": f"/{links}/la"}, {"path": f"/{links}/lb"}])
    assert r.status_code == 201, r.text
    md5a, md5b = hashlib.md5(b"a" * MiB).hexdigest(), hashlib.md5(b"b" * MiB).hexdigest()
    slo_etag = hashlib.md5((md5a + md5b).encode()).hexdigest()
    assert r.headers["etag"] == f'"{slo_etag}"'
    # the manifest names the links, with their targets' ETags and sizes
    entries = http.get(f"{links}/m", params={"multipart-manifest": "get"}).json()
    assert [(e["name"], e["hash"], e["bytes"]) for e in entries] == [
        (f"/{links}/la", md5a, MiB), (f"/{links}/lb", md5b, MiB)]
    got = http.get(f"{links}/m")
    assert got.status_code == 200 and got.content == b"a" * MiB + b"b" * MiB
    ranged = http.get(f"{links}/m", headers={"Range": f"bytes={MiB - 2}-{MiB + 1}"})
    assert ranged.status_code == 206 and ranged.content == b"aabb"
    # a copy of the large object holds the targets' bytes
    assert http.put(f"{links}/copy", headers={"X-Copy-From": f"{links}/m"}).status_code == 201
    assert http.get(f"{links}/copy").content == b"a" * MiB + b"b" * MiB
    # a link retargeted after the PUT no longer matches the manifest's ETag: 409 before the body
    assert link(http, f"{links}/la", f"{targets}/b").status_code == 201
    assert http.get(f"{links}/m").status_code == 409


def test_link_loops_and_missing_targets_are_refused_at_put(http, segments):
    links, targets = segments
    assert link(http, f"{links}/x", f"{links}/y").status_code == 201
    assert link(http, f"{links}/y", f"{links}/x").status_code == 201
    assert link(http, f"{links}/dangling", f"{targets}/nothing").status_code == 201
    r = put_manifest(http, f"{links}/m", [{"path": f"/{links}/x"}, {"path": f"/{links}/dangling"}],)
    assert r.status_code == 400
    assert f"/{links}/x, 409 Conflict" in r.text and f"/{links}/dangling, 404 Not Found" in r.text
    # a static link's recorded ETag is checked: a matching one is fine
    etag = hashlib.md5(b"a" * MiB).hexdigest()
    assert link(http, f"{links}/static", f"{targets}/a", **{"X-Symlink-Target-Etag": etag}).status_code == 201
    r = put_manifest(http, f"{links}/m", [{"path": f"/{links}/static", "etag": etag}])
    assert r.status_code == 201, r.text
    assert http.get(f"{links}/m").content == b"a" * MiB


def test_links_to_manifests_nest_up_to_ten_manifests(http, segments):
    links, targets = segments
    previous = f"{targets}/a"
    for level in range(10):  # manifest -> link -> link -> manifest ... -> link -> link -> a
        assert link(http, f"{links}/l{level}-1", previous).status_code == 201
        assert link(http, f"{links}/l{level}-2", f"{links}/l{level}-1").status_code == 201
        r = put_manifest(http, f"{links}/m{level}", [{"path": f"/{links}/l{level}-2"}])
        assert r.status_code == 201, r.text
        previous = f"{links}/m{level}"
    got = http.get(f"{links}/m9")
    assert got.status_code == 200 and got.content == b"a" * MiB
    # an eleventh manifest is stored, but reading it is past Swift's max_slo_recursion_depth
    assert put_manifest(http, f"{links}/m10", [{"path": f"/{links}/m9"}]).status_code == 201
    assert http.get(f"{links}/m10").status_code == 409


def test_link_targets_are_read_with_the_callers_authority(cluster, http, segments):
    links, targets = segments
    assert put_manifest(http, f"{links}/m", [{"path": f"/{links}/la"}]).status_code == 201
    account = http.base_url.path.rstrip("/").rsplit("/", 1)[-1]
    _, token3 = cluster.auth("test:tester3", "testing3")
    url = f"{cluster.proxy_url}/v1/{account}/"
    with httpx.Client(base_url=url, headers={"X-Auth-Token": token3}, timeout=60) as other:
        assert http.post(links, headers={"X-Container-Read": "test:tester3"}).status_code == 204
        # the manifest and the link are readable, the link's target is not: refused before the body (Swift's 409)
        assert other.get(f"{links}/la", params={"symlink": "get"}).status_code == 200
        assert other.get(f"{links}/m").status_code == 409
        assert http.post(targets, headers={"X-Container-Read": "test:tester3"}).status_code == 204
        got = other.get(f"{links}/m")
        assert got.status_code == 200 and got.content == b"a" * MiB
        # a manifest naming a link is validated against the target as its writer
        assert http.post(targets, headers={"X-Remove-Container-Read": "x"}).status_code == 204
        assert http.post(links, headers={"X-Container-Write": "test:tester3"}).status_code == 204
        r = put_manifest(other, f"{links}/m3", [{"path": f"/{links}/la"}])
        assert r.status_code == 400 and f"/{links}/la, 403 Forbidden" in r.text
