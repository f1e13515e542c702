"""Fixtures for the proxy tests against the real cloud (the session ``cluster`` fixture)."""

from __future__ import annotations

import uuid

import httpx
import pytest


@pytest.fixture(scope="module")
def account(cluster) -> tuple[str, str]:
    """(storage_url, token) of test:tester, the admin of AUTH_test."""
    return cluster.auth("test:tester", "testing")


@pytest.fixture(scope="module")
def http(account):
    """httpx client rooted at test:tester's storage URL, with its token."""
    storage_url, token = account
    with httpx.Client(base_url=storage_url + "/", headers={"X-Auth-Token": token}, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def anon(cluster):
    """httpx client without credentials, rooted at the proxy."""
    with httpx.Client(base_url=cluster.proxy_url, timeout=60) as client:
        yield client


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
