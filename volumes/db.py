"""Engine, sessions and the compare-and-swap status update every state change goes through."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from stackstore.sql_engines import make_engine
from volumes.models import Base, VolumeType, utcnow

DEFAULT_TYPE = "__DEFAULT__"
SCHEMA_LOCK = zlib.crc32(b"stackstore.volumes.schema")  # PostgreSQL advisory lock key


class Database:
    """One engine and session factory for the service (SQLite file by default, any SQLAlchemy URL)."""

    def __init__(self, url: str):
        self.engine: Engine = make_engine(url)  # stackstore/sql_engines.py
        self._create_schema()
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed on success, rolled back on error."""
        with self.sessions() as s, s.begin():
            yield s

    def _create_schema(self) -> None:
        """Missing tables and the default volume type, in one transaction; on PostgreSQL under an advisory
        lock, so processes starting at once on an empty database take turns instead of colliding."""
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(select(func.pg_advisory_xact_lock(SCHEMA_LOCK)))
            Base.metadata.create_all(conn)
            with Session(bind=conn) as s:
                if s.scalar(select(VolumeType).where(VolumeType.name == DEFAULT_TYPE)) is None:
                    s.add(VolumeType(name=DEFAULT_TYPE, description="Default Volume Type"))
                    s.flush()


def cas(s: Session, model: type, ident: str, expected: tuple[str, ...] | None, **values: Any) -> bool:
    """Set ``values`` on row ``ident`` only while its status is one of ``expected`` (atomic)."""
    stmt = update(model).where(model.id == ident)
    if expected is not None:
        stmt = stmt.where(model.status.in_(expected))
    values.setdefault("updated_at", utcnow())
    return s.execute(stmt.values(**values).execution_options(synchronize_session=False)).rowcount == 1
