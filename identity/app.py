"""The identity ASGI application: migrate, load keys, bootstrap, then serve the Keystone v3 API."""

from __future__ import annotations

import logging
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from identity.api import (
    app_creds,
    auth,
    catalog,
    credentials,
    discovery,
    groups,
    projects,
    roles,
    service_ext,
    users,
)
from identity.api.base import routes
from identity.bootstrap import bootstrap
from identity.clouds import write_clouds_yaml
from identity.errors import KeystoneError
from identity.service import IdentityService
from identity.settings import Settings
from stackstore.json_body import json_body_limit

log = logging.getLogger("stackstore.identity")

MODULES = (discovery, auth, projects, users, groups, roles, catalog, credentials, app_creds, service_ext)


def start_service(conf: Any) -> IdentityService:
    """Migrate, load keys, bootstrap; print first-start credentials once and write clouds.yaml."""
    logging.getLogger("alembic").setLevel(logging.WARNING)
    settings = Settings.from_conf(conf)
    svc = IdentityService(settings)
    svc.start()
    with svc.db.session() as db:
        result = bootstrap(db, settings)
    if result.passwords:
        path = settings.data_dir / "clouds.yaml"
        write_clouds_yaml(path, f"{settings.public_url}/v3", settings.region, result.passwords,
                          settings.admin_project)
        for name in result.passwords:
            # never the password itself: logs are read by more people, and kept longer, than clouds.yaml
            log.warning("identity bootstrap: user %r created with a generated password, in %s (owner-only)",
                        name, path)
    return svc


async def _not_found(request: Request, exc: Exception) -> Response:
    return KeystoneError(404, "The resource could not be found.").response()


async def _not_allowed(request: Request, exc: Exception) -> Response:
    return KeystoneError(405, "The method is not allowed for the requested URL.").response()


def create_app(conf: Any, svc: IdentityService | None = None) -> Starlette:
    svc = svc or start_service(conf)
    table = [entry for module in MODULES for entry in module.ROUTES]
    app = Starlette(routes=routes(svc, table), exception_handlers={404: _not_found, 405: _not_allowed})
    app.state.identity = svc
    app.state.max_json_body = json_body_limit(conf, "identity")
    return app
