"""The namespace harness leaves nothing behind: namespaces, veth pairs and processes go, on failure too."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import missing_prerequisite, require_tool
from tests.multihost.netns import Client, Network


def _namespaces(prefix: str) -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(prefix)]


def test_destroy_removes_namespaces_links_and_processes(tmp_path) -> None:
    if os.geteuid() != 0:
        missing_prerequisite("network namespaces need root")
    require_tool("ip")
    prefix = f"ss{os.getpid()}xt"
    net = Network(prefix, subnet="10.212.0")
    try:
        net.add_host("a", 1)
        net.add_host("b", 2)
        proc = net.spawn("b", [sys.executable, "-m", "http.server", "--bind", "10.212.0.2", "8000"],
                         tmp_path / "b.log")
        client = Client(net.ns("a"))
        try:
            def fetch() -> int:
                for _ in range(50):
                    try:
                        return httpx.get("http://10.212.0.2:8000/", timeout=1).status_code
                    except httpx.HTTPError:
                        time.sleep(0.1)
                return 0

            assert client.run(fetch) == 200  # host a reaches host b over the switch
            net.unplug("b")
            with pytest.raises(httpx.HTTPError):
                client.run(lambda: httpx.get("http://10.212.0.2:8000/", timeout=1))
        finally:
            client.close()
        assert sorted(_namespaces(prefix)) == sorted([net.ns("a"), net.ns("b"), net.switch])
    finally:
        net.destroy()
    assert _namespaces(prefix) == []
    assert proc.poll() is not None
    links = subprocess.run(["ip", "link"], capture_output=True, text=True, check=True).stdout
    assert prefix not in links
