"""Fixtures for the feature tests against the real cloud (the session ``cluster`` fixture)."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest

from tests.clients.helpers import run
from tests.conftest import require_tool


@pytest.fixture(scope="module")
def swift(cluster):
    """Run python-swiftclient's ``swift`` command as test:tester."""
    venv_swift = Path(sys.executable).parent / "swift"
    exe = str(venv_swift) if venv_swift.exists() else require_tool("swift")

    def call(*args: str, check: bool = True):
        return run([exe, "-A", f"{cluster.proxy_url}/auth/v1.0", "-U", "test:tester", "-K", "testing", *args],
                   check=check)

    return call


@pytest.fixture()
def container(http) -> str:
    """A fresh, empty container name (created)."""
    name = "feat-" + uuid.uuid4().hex[:10]
    assert http.put(name).status_code in (201, 202)
    return name
