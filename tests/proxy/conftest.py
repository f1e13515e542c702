"""Fixtures for the proxy tests against the real cloud (the session ``cluster`` fixture)."""

from __future__ import annotations

import uuid

import httpx
import pytest


@pytest.fixture()
def container(http) -> str:
    """A fresh, empty container of AUTH_test."""
    name = "px-" + uuid.uuid4().hex[:10]
    assert http.put(name).status_code == 201
    return name


def user_client(cluster, user: str, key: str) -> httpx.Client:
    """httpx client for another TempAuth user, rooted at the proxy."""
    _, token = cluster.auth(user, key)
    return httpx.Client(base_url=cluster.proxy_url, headers={"X-Auth-Token": token}, timeout=60)
