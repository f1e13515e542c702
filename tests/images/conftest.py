"""Image API fixtures: the cluster's image endpoint with admin and member (demo) tokens."""

from __future__ import annotations

import httpx
import pytest

from tests.compute.cloud import cloud_token, url


@pytest.fixture(scope="module")
def glance(cluster):
    """httpx client for the image service as the cloud admin."""
    with httpx.Client(base_url=url(cluster, "images"), timeout=60,
                      headers={"X-Auth-Token": cloud_token(cluster, "stackstore-admin")}) as client:
        yield client


@pytest.fixture(scope="module")
def glance_demo(cluster):
    """httpx client for the image service as demo (member of project demo)."""
    with httpx.Client(base_url=url(cluster, "images"), timeout=60,
                      headers={"X-Auth-Token": cloud_token(cluster, "stackstore")}) as client:
        yield client
