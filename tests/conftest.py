"""Shared fixtures: one real cloud per test worker process."""

from __future__ import annotations

import os
import shutil

import httpx
import pytest

from tests.harness import Cluster


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    """A running cloud (4 storage nodes, 3 replicas, proxy) shared by the tests of one worker.

    Tests that stop nodes must start them again before they finish.
    """
    c = Cluster(tmp_path_factory.mktemp("cloud")).start()
    yield c
    c.stop()


@pytest.fixture(scope="module")
def account(cluster) -> tuple[str, str]:
    """(storage_url, token) of test:tester, the admin of AUTH_test."""
    return cluster.auth("test:tester", "testing")


@pytest.fixture(scope="module")
def http(account):
    """An httpx client rooted at test:tester's storage URL, with its token."""
    storage_url, token = account
    with httpx.Client(base_url=storage_url + "/", headers={"X-Auth-Token": token}, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def swift_conn(cluster):
    """A python-swiftclient Connection of test:tester (TempAuth), without retries."""
    from swiftclient import client as swift_client

    conn = swift_client.Connection(authurl=f"{cluster.proxy_url}/auth/v1.0", user="test:tester", key="testing",
                                   retries=0)
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def anon(cluster):
    """An httpx client without credentials, rooted at the proxy."""
    with httpx.Client(base_url=cluster.proxy_url, timeout=60) as client:
        yield client


@pytest.fixture(scope="session")
def postgres(tmp_path_factory):
    """A throwaway PostgreSQL server (initdb + pg_ctl as user postgres); fails in CI when missing."""
    from tests.pg import PostgresServer  # tests.pg imports this module

    server = PostgresServer.create(tmp_path_factory.mktemp("pg"))
    yield server
    server.stop()


def missing_prerequisite(reason: str) -> None:
    """Something a test needs is absent: skip locally, fail in CI (CI=true), where `make test` installs it."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def require_tool(name: str) -> str:
    """Path of an external tool; a missing tool skips locally but fails in CI (CI=true)."""
    path = shutil.which(name)
    if not path:
        missing_prerequisite(f"{name} not installed")
    return path
