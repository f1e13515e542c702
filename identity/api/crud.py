"""Helpers for the resource APIs: query filters, unique-name conflicts, body field checks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from identity.api.base import Ctx
from identity.errors import bad_request, conflict
from identity.models import DEFAULT_DOMAIN, Domain


def listing(ctx: Ctx, model: Any, filters: tuple[str, ...] = ("name", "domain_id")) -> list:
    """Rows of ``model`` matching ``?name=`` etc. (``enabled`` as a boolean)."""
    stmt = select(model)
    for name in filters:
        value = ctx.query.get(name)
        if value is not None:
            stmt = stmt.where(getattr(model, name) == value)
    enabled = ctx.query.get("enabled")
    if enabled is not None and hasattr(model, "enabled"):
        stmt = stmt.where(model.enabled.is_(enabled.lower() not in ("0", "false", "no")))
    return list(ctx.db.scalars(stmt))


def flush(ctx: Ctx, what: str) -> None:
    """Flush pending rows; a unique constraint violation becomes 409."""
    try:
        ctx.db.flush()
    except IntegrityError:
        ctx.db.rollback()
        raise conflict(what) from None


def text(data: dict, key: str, required: bool = False, default: Any = None) -> Any:
    value = data.get(key, default)
    if value is None and not required:
        return default
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > 255:
        raise bad_request(f"Invalid input for field '{key}'.")
    return value


def flag(data: dict, key: str, default: bool = True) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise bad_request(f"Invalid input for field '{key}': expected a boolean.")
    return value


def domain_id(ctx: Ctx, data: dict) -> str:
    """The ``domain_id`` of a create body (default: the default domain); 404 unknown."""
    ident = data.get("domain_id") or ctx.query.get("domain_id") or DEFAULT_DOMAIN
    dom = ctx.db.get(Domain, ident) if isinstance(ident, str) else None
    if dom is None:
        raise bad_request(f"Could not find domain: {ident}.")
    return dom.id
