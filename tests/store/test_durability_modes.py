"""The node works the same in every durability mode; hash-dir resolution rules."""

from __future__ import annotations

import httpx
import pytest

from store.diskfile import scan_hash_dir
from tests.store.conftest import NODE_AUTH, next_ts


@pytest.mark.parametrize("conf", [{"sync_mode": "fsync"}, {"sync_mode": "syncfs"}, {"fsync": False}])
def test_object_roundtrip_in_each_mode(make_node, conf):
    n = make_node(**conf)
    with httpx.Client(base_url=n.url, timeout=10, auth=NODE_AUTH) as c:
        for size in (0, 10, 200_000, 3 * 1024 * 1024):
            body = bytes([size % 251]) * size
            path = f"/obj/d1/2/a/c/o{size}"
            assert c.put(path, content=body, headers={"X-Timestamp": next_ts()}).status_code == 201
            assert c.get(path).content == body
            assert c.post(path, headers={"X-Timestamp": next_ts(), "X-Object-Meta-K": "v"}).status_code == 202
            assert c.head(path).headers["x-object-meta-k"] == "v"
            assert c.delete(path, headers={"X-Timestamp": next_ts()}).status_code == 204
            assert c.get(path).status_code == 404
        assert not any((n.devices_root / "d1" / "tmp").iterdir())


def test_scan_hash_dir_rules():
    s = scan_hash_dir(["0000000001.00000.data", "0000000002.00000.data", "0000000003.00000.meta",
                       "0000000001.50000.meta"])
    assert s.data == "0000000002.00000.data" and s.meta == "0000000003.00000.meta"
    assert sorted(s.obsolete) == ["0000000001.00000.data", "0000000001.50000.meta"]
    s = scan_hash_dir(["0000000001.00000.data", "0000000002.00000.ts", "0000000001.50000.meta"])
    assert s.data is None and s.tombstone == "0000000002.00000.ts"
    assert sorted(s.obsolete) == ["0000000001.00000.data", "0000000001.50000.meta"]
    s = scan_hash_dir(["0000000003.00000.data", "0000000002.00000.meta"])
    assert s.meta is None and s.obsolete == ["0000000002.00000.meta"]
    s = scan_hash_dir(["0000000002.00000.data", "0000000002.00000.ts"])
    assert s.tombstone == "0000000002.00000.ts"  # a tombstone wins a tie
    assert scan_hash_dir([]).newest is None
