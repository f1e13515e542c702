"""Auditor: a corrupt copy is never served, gets quarantined, and replication restores it."""

from __future__ import annotations

import os
import uuid

import httpx
import pytest

from tests.durability.bg_helpers import Layout, Swift, start_cluster, wait_for

BODY = os.urandom(200_000)  # four 64 KiB checksum blocks


@pytest.fixture(scope="module")
def cl(tmp_path_factory):
    c = start_cluster(tmp_path_factory.mktemp("audit"), replicator_interval=1.0)
    yield c
    c.stop()


def _flip(path, offset: int) -> None:
    with open(path, "r+b") as fh:
        fh.seek(offset)
        byte = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([byte[0] ^ 0xFF]))


def _corrupt_one_copy(cl, swift: Swift, container: str, obj: str, offset: int):
    """PUT ``obj`` and flip a body byte of one primary's copy; returns (layout, device, hash dir)."""
    assert swift.put(container, obj, BODY).status_code == 201
    layout = Layout(cl)
    dev = layout.object.get_nodes(swift.account, container, obj)[1][1]
    hdir = layout.hash_dir(dev, swift.account, container, obj)
    (data,) = list(hdir.glob("*.data"))
    _flip(data, offset)
    return layout, dev, hdir


def _quarantined(layout: Layout, dev, hdir) -> bool:
    qdir = layout.cluster.node_devices_root(layout.node_index(dev)) / dev.device / "quarantined" / "objects"
    return any(p.name.startswith(hdir.name) for p in qdir.glob("*")) if qdir.exists() else False


def test_corrupt_copy_never_served(cl):
    swift = Swift(cl)
    container = "audit-" + uuid.uuid4().hex[:6]
    assert swift.put(container).status_code in (201, 202)
    for offset in (10, 150_000):  # first block (found before headers) and a later one (mid-body)
        obj = f"served-{offset}"
        layout, dev, hdir = _corrupt_one_copy(cl, swift, container, obj, offset)
        for _ in range(6):
            resp = swift.get(container, obj)
            assert resp.status_code == 200 and resp.content == BODY
        # the corrupt node itself never hands out the bad bytes either
        with httpx.Client(timeout=10, auth=layout.cluster.node_auth) as http:
            try:
                direct = http.get(layout.object_url(dev, swift.account, container, obj))
                assert direct.status_code == 404 or direct.content == BODY
            except httpx.HTTPError:
                pass  # connection dropped mid-body: the bad block was not sent
        wait_for(lambda layout=layout, dev=dev, hdir=hdir: _quarantined(layout, dev, hdir))


def test_auditor_quarantines_unread_corrupt_copy(cl):
    swift = Swift(cl)
    container = "audit-" + uuid.uuid4().hex[:6]
    assert swift.put(container).status_code in (201, 202)
    layout = Layout(cl)
    index = layout.node_index(layout.object.get_nodes(swift.account, container, "unread")[1][1])
    before = layout.recon(index)["auditor"]["quarantined"]  # read before the corruption exists
    layout, dev, hdir = _corrupt_one_copy(cl, swift, container, "unread", 100_000)
    assert layout.node_index(dev) == index
    wait_for(lambda: _quarantined(layout, dev, hdir))  # nobody read it: the auditor found it
    wait_for(lambda: layout.recon(index)["auditor"]["quarantined"] > before)
    doc = layout.recon(index)
    assert doc["quarantined"] >= 1
    assert doc["devices"][dev.device]["auditor"]["objects_checked"] >= 1
    assert doc["devices"][dev.device]["auditor"]["listing_problems"] == 0
    assert swift.get(container, "unread").content == BODY
    url = layout.object_url(dev, swift.account, container, "unread")
    wait_for(lambda: httpx.get(url, timeout=10, auth=layout.cluster.node_auth).status_code == 200, timeout=90)
    restored = httpx.get(url, timeout=10, auth=layout.cluster.node_auth)
    assert restored.content == BODY
    assert restored.headers["etag"] == swift.get(container, "unread").headers["etag"].strip('"')
