"""Compute fixtures: API clients (admin, demo) at the newest microversion, a bootable image."""

from __future__ import annotations

import httpx
import pytest

from tests.compute.cloud import cloud_token, url

MAX = "2.89"


def _client(cluster, cloud: str, version: str = MAX) -> httpx.Client:
    return httpx.Client(base_url=url(cluster, "compute") + "/v2.1", timeout=120,
                        headers={"X-Auth-Token": cloud_token(cluster, cloud),
                                 "OpenStack-API-Version": f"compute {version}"})


@pytest.fixture(scope="module")
def nova(cluster):
    with _client(cluster, "stackstore-admin") as client:
        yield client


@pytest.fixture(scope="module")
def nova_demo(cluster):
    with _client(cluster, "stackstore") as client:
        yield client


@pytest.fixture(scope="module")
def image_id(cluster):
    """A small public raw image, uploaded once per module."""
    headers = {"X-Auth-Token": cloud_token(cluster, "stackstore-admin")}
    with httpx.Client(base_url=url(cluster, "images"), headers=headers, timeout=60) as glance:
        img = glance.post("/v2/images", json={"name": "tiny", "disk_format": "raw", "container_format": "bare",
                                              "visibility": "public"}).json()
        resp = glance.put(f"/v2/images/{img['id']}/file", content=b"\0" * 4096,
                          headers={"Content-Type": "application/octet-stream"})
        assert resp.status_code == 204
        yield img["id"]
        glance.delete(f"/v2/images/{img['id']}")
