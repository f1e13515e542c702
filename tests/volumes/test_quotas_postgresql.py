"""Quotas hold across volumes API processes that share one PostgreSQL database.

Two ``python -m volumes`` processes start at once on a fresh database (both create the schema and the
default volume type) and then take concurrent creates for several projects with a small volume quota.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.cluster import free_port_block

QUOTA = 1
PROJECTS = [f"quota-project-{i}" for i in range(12)]
CREATES_PER_PROJECT = 4


def _start(tmp: Path, url: str, port: int) -> subprocess.Popen:
    config = tmp / f"volumes-{port}.toml"
    config.write_text(f'[cluster]\ndata_dir = "{tmp}"\n'
                      f'[volumes]\nport = {port}\ndatabase_url = "{url}"\nauth_strategy = "noauth"\n'
                      f'start_tgtd = false\nquotas = {{ volumes = {QUOTA} }}\n')
    log = open(tmp / f"volumes-{port}.log", "wb")  # the process writes it until stopped
    return subprocess.Popen([sys.executable, "-m", "volumes", "--config", str(config)], stdout=log,
                            stderr=subprocess.STDOUT)


def _wait_healthy(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"volumes on port {port} exited with {proc.returncode}"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthcheck", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"volumes on port {port} not healthy after {timeout}s")


@pytest.fixture(scope="module")
def two_apis(postgres, tmp_path_factory) -> Iterator[tuple[str, list[int]]]:
    """(database URL, ports) of two volumes API processes started at once on one fresh database."""
    tmp = tmp_path_factory.mktemp("volumes-two")
    url = postgres.new_database("volumes2")
    base = free_port_block(2)
    ports = [base + 1, base + 2]
    procs = [_start(tmp, url, port) for port in ports]
    try:
        for port, proc in zip(ports, procs, strict=True):
            _wait_healthy(port, proc)
        yield url, ports
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _count(url: str, sql: str, **params: str) -> list[tuple]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params))
    finally:
        engine.dispose()


def test_both_processes_started_and_seeded_the_default_type_once(two_apis):
    url, _ = two_apis
    assert _count(url, "select count(*) from volume_types where name = '__DEFAULT__'") == [(1,)]


def test_concurrent_creates_through_two_processes_never_exceed_the_quota(two_apis):
    """Each project's creates leave together, half to each process: only one may fit in the quota."""
    url, ports = two_apis

    def create(project: str, port: int, start: threading.Barrier) -> int:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/v3/{project}", timeout=60,
                          headers={"X-Auth-Token": f"user:{project}"}) as client:
            start.wait()
            return client.post("/volumes", json={"volume": {"size": 1}}).status_code

    answers = {}
    with ThreadPoolExecutor(CREATES_PER_PROJECT) as pool:
        for project in PROJECTS:
            start = threading.Barrier(CREATES_PER_PROJECT)
            answers[project] = sorted(pool.map(lambda k, p=project, b=start: create(p, ports[k % 2], b),
                                               range(CREATES_PER_PROJECT)))
    assert answers == dict.fromkeys(PROJECTS, [202] * QUOTA + [413] * (CREATES_PER_PROJECT - QUOTA))
    stored = dict(_count(url, "select project_id, count(*) from volumes group by project_id"))
    assert stored == dict.fromkeys(PROJECTS, QUOTA)
