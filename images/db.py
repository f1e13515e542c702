"""The image database: schema creation and the session factory."""

from __future__ import annotations

from sqlalchemy.orm import sessionmaker

from compute_shim.common.db import make_engine, make_sessions
from images.models import Base


def open_db(url: str) -> sessionmaker:
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    return make_sessions(engine)
