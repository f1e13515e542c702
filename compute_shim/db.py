"""The compute database: schema creation, default flavors."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from apiservice.db import create_schema, make_engine, make_sessions
from compute_shim.models import Base, Flavor

# id, name, ram (MiB), vcpus, disk (GiB): the classic defaults
DEFAULT_FLAVORS = (("1", "m1.tiny", 512, 1, 1), ("2", "m1.small", 2048, 1, 20), ("3", "m1.medium", 4096, 2, 40),
                   ("4", "m1.large", 8192, 4, 80), ("5", "m1.xlarge", 16384, 8, 160))


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def seed_flavors(db: Session) -> None:
    """The default flavors, into a database that has none yet."""
    if db.scalar(select(Flavor).limit(1)) is not None:
        return
    for fid, name, ram, vcpus, disk in DEFAULT_FLAVORS:
        db.add(Flavor(id=fid, name=name, ram=ram, vcpus=vcpus, disk=disk, ephemeral=0, swap=0, rxtx_factor=1.0,
                      is_public=True, description=None, extra_specs={}, created_at=now()))


def open_db(url: str) -> sessionmaker:
    engine = make_engine(url)
    create_schema(engine, Base.metadata, "compute", seed_flavors)
    return make_sessions(engine)
