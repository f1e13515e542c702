"""SQLAlchemy engines for the services' databases (identity, volumes, compute, images): a SQLite file by
default, any URL (PostgreSQL) when configured.

SQLite runs in WAL mode (readers never block the writer) with a busy timeout (a writer waits for another
instead of failing) and its default ``synchronous=FULL`` (a committed transaction survives a power loss:
a service acknowledges a change only once it is durable). PostgreSQL URLs use the psycopg 3 driver and
pooled connections are checked before use (a database restart leaves dead ones).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

BUSY_TIMEOUT_MS = 30_000


def with_psycopg(url: str) -> str:
    """``postgresql://`` with the psycopg (3) driver we depend on; SQLAlchemy 2.0 would pick psycopg2."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def make_engine(url: str, *, foreign_keys: bool = False) -> Engine:
    """An engine for ``url`` (``foreign_keys``: SQLite enforces them, as PostgreSQL always does)."""
    if not url.startswith("sqlite"):
        return create_engine(with_psycopg(url), pool_pre_ping=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if foreign_keys:
            cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    return engine
