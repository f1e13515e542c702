"""Object requests never wait on the disk on the event loop: a hash dir's listdir/open/read runs on the loop only
as ``store.file_access.CACHE_ONLY`` calls (answered from the kernel's caches or declined), everything blocking
(those steps again after a miss, quarantines, quarantine-directory scans) in the node's I/O threads (the app
runs in-process here so the thread doing each filesystem step can be seen)."""

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
from store.file_access import CACHE_ONLY
from store.server import create_app
from tests.harness import NodeAuth
from tests.store.conftest import evict_pages


def _on_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@pytest.fixture
def app_and_calls(tmp_path: Path, monkeypatch):
    """An in-process node whose disk readers record whether they ran on the event loop, and whether as
    cache-only calls: (name, on_loop, cache_only)."""
    calls: list[tuple[str, bool, bool]] = []
    lock = threading.Lock()

    def probe(name, fn):  # wraps the real function, behaviour unchanged
        def wrapped(*args, **kwargs):
            cache_only = kwargs.get("files") is CACHE_ONLY or any(a is CACHE_ONLY for a in args)
            with lock:
                calls.append((name, _on_loop(), cache_only))
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


def test_object_requests_wait_on_the_disk_only_in_io_threads(app_and_calls):
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
    assert {name for name, _, _ in calls} >= {"state", "open", "quarantined_counts"}
    # on the loop only cache-only calls, which the kernel answers from memory or declines
    assert [name for name, on_loop, cache_only in calls if on_loop and not cache_only] == []
    assert ("open", True, True) in calls  # the GET and the PUT's checks were answered from the caches
    assert [name for name, on_loop, cache_only in calls if cache_only and not on_loop] == []


def test_a_body_not_in_the_page_cache_is_read_in_an_io_thread(app_and_calls):
    app, calls = app_and_calls
    path = "/obj/d1/7/a/c/cold"
    body = os.urandom(100_000)  # a file (above [store] inline_max_size): rows are not opened

    async def requests() -> list[bytes]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://node",
                                     auth=NodeAuth(app.node_key)) as client:
            put = await client.put(path, content=body, headers={"X-Timestamp": _ts(0)})
            assert put.status_code == 201
            for data_file in Path(app.state.node.devices_root, "d1").rglob("*.data"):
                evict_pages(data_file)
            calls.clear()
            got = [(await client.get(path)).content]
            got.append((await client.get(path)).content)  # cached again by the first GET's blocking read
            return got

    first, second = asyncio.run(requests())
    assert first == body and second == body
    opens = [(on_loop, cache_only) for name, on_loop, cache_only in calls if name == "open"]
    assert opens[:3] == [(True, True), (False, False), (True, True)]  # declined, read in a thread, then cached


def _ts(offset: float) -> str:
    return Timestamp(time.time() + offset).normal
