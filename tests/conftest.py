"""Shared fixtures: one real cloud per test worker process."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.cluster import Cluster


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    """A running cloud (4 storage nodes, 3 replicas, proxy) shared by the tests of one worker.

    Tests that stop nodes must start them again before they finish.
    """
    c = Cluster(tmp_path_factory.mktemp("cloud"))
    try:
        c.start()
    except Exception:
        c.stop()
        raise
    yield c
    c.stop()


def require_tool(name: str) -> str:
    """Path of an external tool; a missing tool skips locally but fails in CI (CI=true)."""
    path = shutil.which(name)
    if path:
        return path
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{name} is required in CI but is not installed")
    pytest.skip(f"{name} not installed")
