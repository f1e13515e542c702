"""Object requests never touch the disk on the event loop: every listdir/open/read of a hash dir and
every quarantine-directory scan runs in the node's I/O threads (the app runs in-process here so the
thread doing each filesystem step can be seen)."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path

import httpx
import pytest

from stackstore.config import load_config
from stackstore.timestamp import Timestamp
from store import diskfile, layout, recon_routes
from store.server import create_app
from tests.harness import NodeAuth


def _on_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@pytest.fixture
def app_and_calls(tmp_path: Path, monkeypatch):
    """An in-process node whose disk readers record whether they ran on the event loop."""
    calls: list[tuple[str, bool]] = []
    lock = threading.Lock()

    def probe(name, fn):  # wraps the real function, behaviour unchanged
        def wrapped(*args, **kwargs):
            with lock:
                calls.append((name, _on_loop()))
            return fn(*args, **kwargs)
        return wrapped

    monkeypatch.setattr(diskfile.DiskFile, "state", probe("state", diskfile.DiskFile.state))
    monkeypatch.setattr(diskfile.DiskFile, "open", probe("open", diskfile.DiskFile.open))
    monkeypatch.setattr(diskfile.DiskFile, "quarantine", probe("quarantine", diskfile.DiskFile.quarantine))
    monkeypatch.setattr(recon_routes, "quarantined_counts",
                        probe("quarantined_counts", recon_routes.quarantined_counts))
    (tmp_path / "devices" / "d1").mkdir(parents=True)
    conf = load_config(environ={})
    conf["cluster"]["hash_path_suffix"] = "off-loop-tests"
    conf["cluster"]["data_dir"] = str(tmp_path / "data")
    conf["store"].update(block_size=4096, fsync=False)
    app = create_app(conf, tmp_path / "devices")
    yield app, calls
    app.state.node.close()


def test_object_requests_do_disk_work_in_io_threads(app_and_calls):
    app, calls = app_and_calls
    path = "/obj/d1/7/a/c/o"

    async def requests() -> None:  # no lifespan: no background tasks, only these requests
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://node",
                                     auth=NodeAuth(app.node_key)) as client:
            put = await client.put(path, content=b"x" * 100_000, headers={"X-Timestamp": _ts(0)})
            assert put.status_code == 201
            assert (await client.get(path)).status_code == 200
            post = await client.post(path, headers={"X-Timestamp": _ts(1), "X-Object-Meta-K": "v"})
            assert post.status_code == 202
            assert (await client.delete(path, headers={"X-Timestamp": _ts(2)})).status_code == 204
            assert (await client.delete(path, headers={"X-Timestamp": _ts(3)})).status_code == 404
            assert (await client.get("/recon/quarantined")).json() == {"objects": 0, "devices": {"d1": 0}}

    asyncio.run(requests())
    tombstones = [f for _, _, files in os.walk(layout.objects_path(os.path.join(app.state.node.devices_root, "d1")))
                  for f in files if f.endswith(".ts")]
    assert len(tombstones) == 1  # the newer tombstone replaced the first
    assert {name for name, _ in calls} >= {"state", "open", "quarantined_counts"}
    assert [name for name, on_loop in calls if on_loop] == []  # none of them ran on the event loop


def _ts(offset: float) -> str:
    return Timestamp(time.time() + offset).normal
