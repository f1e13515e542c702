"""Quotas hold across volumes API processes that share one PostgreSQL database.

Two ``python -m volumes`` processes start at once on a fresh database (both create the schema and the
default volume type) and then take concurrent creates for several projects with a small volume quota.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from stackstore.launcher import wait_healthy
from tests.harness import ServiceProcess, free_port_block, make_config

QUOTA = 1
PROJECTS = [f"quota-project-{i}" for i in range(12)]
CREATES_PER_PROJECT = 4


def _api(tmp: Path, url: str, port: int) -> ServiceProcess:
    """A volumes API process (the harness's) on ``port`` with the shared database and a small quota."""
    conf = make_config(tmp, volumes={"host": "127.0.0.1", "port": port, "database_url": url,
                                     "auth_strategy": "noauth", "start_tgtd": False,
                                     "quotas": {"volumes": QUOTA}})
    return ServiceProcess(conf, "volumes", name=f"volumes-{port}")


@pytest.fixture(scope="module")
def two_apis(postgres, tmp_path_factory) -> Iterator[tuple[str, list[int]]]:
    """(database URL, ports) of two volumes API processes started at once on one fresh database."""
    tmp = tmp_path_factory.mktemp("volumes-two")
    url = postgres.new_database("volumes2")
    base = free_port_block(2)
    ports = [base + 1, base + 2]
    apis = [_api(tmp, url, port) for port in ports]
    for api in apis:  # both start before either is waited for: they race to create the schema
        api.service.start()
    try:
        wait_healthy([api.service for api in apis], timeout=60)
        yield url, ports
    finally:
        for api in apis:
            api.stop()


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
