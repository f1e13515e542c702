"""Revocation events in the database: written on token delete and on user/credential/role changes."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from identity.models import Revocation

# Events outlive every token they could match: the longest token lifetime plus a margin.
MARGIN = 300


def revoke(db: Session, lifetime: int, *, audit_id: str | None = None, user_id: str | None = None,
           project_id: str | None = None, app_cred_id: str | None = None) -> None:
    now = time.time()
    db.add(Revocation(audit_id=audit_id, user_id=user_id, project_id=project_id, app_cred_id=app_cred_id,
                      issued_before=now, expires_at=now + lifetime + MARGIN))


def active_events(db: Session) -> list[dict[str, Any]]:
    """Unexpired events as plain dicts (also the published revocation list); prunes expired ones."""
    now = time.time()
    db.execute(delete(Revocation).where(Revocation.expires_at < now))
    rows = db.scalars(select(Revocation).order_by(Revocation.id)).all()
    out = []
    for r in rows:
        ev: dict[str, Any] = {"issued_before": r.issued_before}
        for name in ("audit_id", "user_id", "project_id", "app_cred_id"):
            if getattr(r, name):
                ev[name] = getattr(r, name)
        out.append(ev)
    return out
