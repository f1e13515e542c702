"""The service catalog of a token: enabled services with their endpoints, URLs templated per project."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from identity.models import Endpoint, Service


def _render(url: str, project_id: str | None) -> str | None:
    for pattern in ("%(project_id)s", "%(tenant_id)s", "$(project_id)s", "$(tenant_id)s"):
        if pattern in url:
            if project_id is None:
                return None
            url = url.replace(pattern, project_id)
    return url


def build_catalog(db: Session, project_id: str | None) -> list[dict]:
    services = db.scalars(select(Service).where(Service.enabled.is_(True)).order_by(Service.type)).all()
    endpoints = db.scalars(select(Endpoint).where(Endpoint.enabled.is_(True))).all()
    catalog = []
    for svc in services:
        eps = []
        for ep in endpoints:
            url = _render(ep.url, project_id) if ep.service_id == svc.id else None
            if url is not None:
                eps.append({"id": ep.id, "interface": ep.interface, "region": ep.region_id,
                            "region_id": ep.region_id, "url": url})
        catalog.append({"id": svc.id, "type": svc.type, "name": svc.name, "endpoints": eps})
    return catalog
