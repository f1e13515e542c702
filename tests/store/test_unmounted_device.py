"""A device that disappears while its node runs (an unmounted disk) is never recreated by a write."""

from __future__ import annotations

import time
import uuid

import httpx

from tests.store.conftest import NODE_AUTH, next_ts


def test_writes_to_a_vanished_device_get_507_and_do_not_recreate_it(make_node):
    node = make_node(devices=("d1", "d2"))
    account = "AUTH_" + uuid.uuid4().hex[:8]
    with httpx.Client(base_url=node.url, timeout=10, auth=NODE_AUTH) as c:
        assert c.put(f"/obj/d2/1/{account}/c/o", content=b"x", headers={"X-Timestamp": next_ts(),
                     "Content-Type": "text/plain"}).status_code == 201  # the node has seen d2
        device = node.devices_root / "d2"
        device.rename(node.devices_root / "d2.failed")
        # at once: within the node's device-check interval, so only the write paths stand in the way
        writes = [c.delete(f"/obj/d2/1/{account}/c/o", headers={"X-Timestamp": next_ts()}),
                  c.put(f"/obj/d2/1/{account}/c/o2", content=b"y",
                        headers={"X-Timestamp": next_ts(), "Content-Type": "text/plain"}),
                  c.put(f"/cont/d2/1/{account}/c", headers={"X-Timestamp": next_ts()})]
        assert [r.status_code for r in writes] == [507, 507, 507]
        assert not device.exists()
        time.sleep(1.1)  # past the device-check interval every request sees the device missing
        assert c.get(f"/obj/d2/1/{account}/c/o").status_code == 507
