"""The image database: schema creation and the session factory."""

from __future__ import annotations

from sqlalchemy.orm import sessionmaker

from apiservice.db import create_schema, make_engine, make_sessions
from images.models import Base


def open_db(url: str) -> sessionmaker:
    engine = make_engine(url)
    create_schema(engine, Base.metadata, "images")
    return make_sessions(engine)
