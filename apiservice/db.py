"""SQLAlchemy engines: SQLite (WAL, busy timeout) by default, any URL (PostgreSQL) when configured.

Handlers are async; every database call goes through ``in_db`` so it runs in a worker thread and never
holds up the event loop (a slow or locked query would stall every other request of the service).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import MetaData, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from stackstore.sql_engines import make_engine as make_engine  # re-exported: the shims import it from here

T = TypeVar("T")


def make_sessions(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)


def create_schema(engine: Engine, metadata: MetaData, name: str,
                  seed: Callable[[Session], None] | None = None) -> None:
    """Create the missing tables and ``seed`` defaults in one transaction.

    On PostgreSQL the transaction first takes an advisory lock named after the service, so processes that
    start at once on an empty database take turns: the later ones find the tables and the defaults there.
    """
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(select(func.pg_advisory_xact_lock(zlib.crc32(f"stackstore.{name}.schema".encode()))))
        metadata.create_all(conn)
        if seed is not None:
            with Session(bind=conn) as db:
                seed(db)
                db.flush()


def _in_session(sessions: sessionmaker, fn: Callable[..., T], *args: Any) -> T:
    with sessions() as db:
        return fn(db, *args)


async def in_db(sessions: sessionmaker, fn: Callable[..., T], *args: Any) -> T:
    """``fn(db, *args)`` with a new session, run in a worker thread (off the event loop)."""
    return await run_in_threadpool(_in_session, sessions, fn, *args)
