"""The ASGI app: routes, authentication, microversion headers, Cinder error bodies, lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.exc import DataError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from stackstore.json_body import json_body_limit
from volumes import policy
from volumes.api import actions, attachments, backups, quota_sets, snapshots, types, versions
from volumes.api import volumes as vols
from volumes.errors import ApiError
from volumes.microversions import HEADER, negotiate
from volumes.service import Services

log = logging.getLogger(__name__)

# (path below /v3/{project_id}, methods, endpoint)
RESOURCE_ROUTES: list[tuple[str, list[str], Any]] = [
    ("/volumes", ["GET"], vols.index), ("/volumes", ["POST"], vols.create),
    ("/volumes/detail", ["GET"], vols.detail),
    ("/volumes/{volume_id}", ["GET"], vols.show), ("/volumes/{volume_id}", ["PUT"], vols.update),
    ("/volumes/{volume_id}", ["DELETE"], vols.delete),
    ("/volumes/{volume_id}/action", ["POST"], actions.dispatch),
    ("/volumes/{volume_id}/metadata", ["GET"], vols.metadata_show),
    ("/volumes/{volume_id}/metadata", ["POST"], vols.metadata_update),
    ("/volumes/{volume_id}/metadata", ["PUT"], vols.metadata_replace),
    ("/volumes/{volume_id}/metadata/{key}", ["DELETE"], vols.metadata_delete),
    ("/snapshots", ["GET"], snapshots.index), ("/snapshots", ["POST"], snapshots.create),
    ("/snapshots/detail", ["GET"], snapshots.detail),
    ("/snapshots/{snapshot_id}", ["GET"], snapshots.show), ("/snapshots/{snapshot_id}", ["PUT"], snapshots.update),
    ("/snapshots/{snapshot_id}", ["DELETE"], snapshots.delete),
    ("/snapshots/{snapshot_id}/metadata", ["GET"], snapshots.metadata_show),
    ("/snapshots/{snapshot_id}/metadata", ["POST", "PUT"], snapshots.metadata_update),
    ("/attachments", ["GET"], attachments.index), ("/attachments", ["POST"], attachments.create),
    ("/attachments/detail", ["GET"], attachments.detail),
    ("/attachments/{attachment_id}", ["GET"], attachments.show),
    ("/attachments/{attachment_id}", ["PUT"], attachments.update),
    ("/attachments/{attachment_id}", ["DELETE"], attachments.remove),
    ("/attachments/{attachment_id}/action", ["POST"], attachments.action),
    ("/backups", ["GET"], backups.index), ("/backups", ["POST"], backups.create),
    ("/backups/detail", ["GET"], backups.detail),
    ("/backups/{backup_id}", ["GET"], backups.show), ("/backups/{backup_id}", ["DELETE"], backups.delete),
    ("/backups/{backup_id}/restore", ["POST"], backups.restore),
    ("/types", ["GET"], types.index), ("/types", ["POST"], types.create),
    ("/types/{type_id}", ["GET"], types.show), ("/types/{type_id}", ["PUT"], types.update),
    ("/types/{type_id}", ["DELETE"], types.delete),
    ("/types/{type_id}/extra_specs", ["GET"], types.specs_show),
    ("/types/{type_id}/extra_specs", ["POST"], types.specs_update),
    ("/types/{type_id}/extra_specs/{key}", ["DELETE"], types.specs_delete),
    ("/os-quota-sets/{target_project}", ["GET"], quota_sets.show),
    ("/os-quota-sets/{target_project}", ["PUT"], quota_sets.update),
    ("/os-quota-sets/{target_project}", ["DELETE"], quota_sets.reset),
    ("/os-quota-sets/{target_project}/defaults", ["GET"], quota_sets.defaults),
    ("/limits", ["GET"], quota_sets.limits),
    ("/os-availability-zone", ["GET"], quota_sets.availability_zones),
]


async def healthcheck(request: Request) -> Response:
    return PlainTextResponse("OK")


def _routes() -> list[Route]:
    routes = [Route("/", versions.root, methods=["GET"]), Route("/healthcheck", healthcheck, methods=["GET"]),
              Route("/v3", versions.v3, methods=["GET"]), Route("/v3/", versions.v3, methods=["GET"])]
    for path, methods, ep in RESOURCE_ROUTES:
        for method in methods:
            guarded = _authorized(policy.ROUTE_OPERATIONS[(method, path)], ep)
            routes.append(Route("/v3/{project_id}" + path, guarded, methods=[method]))
            routes.append(Route("/v3" + path, guarded, methods=[method]))  # 3.67: project id optional
    return routes


def _authorized(operation: str, ep: Any) -> Any:
    """``ep`` behind the policy check of ``operation`` (403 with Cinder's body)."""

    async def guarded(request: Request) -> Response:
        policy.authorize(request.state.ctx, operation)
        return await ep(request)

    guarded.__name__ = getattr(ep, "__name__", "endpoint")
    return guarded


class VolumesApp:
    """Wraps the Starlette router: authentication, microversions and error bodies for every request."""

    def __init__(self, conf: Any, services: Services | None = None):
        self.conf = conf
        self.services = services
        self.router = Starlette(routes=_routes(), lifespan=self._lifespan)
        self.router.state.max_json_body = json_body_limit(conf, "volumes")
        self.router.add_exception_handler(ApiError, lambda req, exc: exc.response())
        self.router.add_exception_handler(HTTPException, _http_error)
        self.router.add_exception_handler(DataError, _unstorable)
        self.router.add_exception_handler(Exception, _internal_error)

    @asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        if self.services is None:
            self.services = await run_in_threadpool(Services.build, self.conf)
        app.state.svc = self.services
        self.services.start()  # on the main thread: tgtd's parent-death signal is tied to this thread
        try:
            yield
        finally:
            await run_in_threadpool(self.services.stop)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v3/") or scope["path"] == "/v3/":
            await self.router(scope, receive, send)
            return
        request = Request(scope)
        try:
            version = negotiate(request.headers.get(HEADER))
            ctx = await self.services.auth.authenticate(request.headers.get("x-auth-token"))
            ctx.version = version
            project = _url_project(scope["path"])
            if project and ctx.system:
                ctx.project_id = project  # a system-scoped token acts on the project the URL names
            if project and project != ctx.project_id and not ctx.is_admin:
                raise ApiError(400, f"Malformed request URL: URL's project_id '{project}' doesn't match "
                                    f"Context's project_id '{ctx.project_id}'")
        except ApiError as exc:
            await exc.response()(scope, receive, send)
            return
        scope.setdefault("state", {})["ctx"] = ctx

        async def send_with_version(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"openstack-api-version", f"volume {version}".encode()))
                headers.append((b"vary", b"OpenStack-API-Version"))
                message = {**message, "headers": headers}
            await send(message)

        await self.router(scope, receive, send_with_version)


COLLECTIONS = {"volumes", "snapshots", "attachments", "backups", "types", "os-quota-sets", "limits",
               "os-availability-zone"}


def _url_project(path: str) -> str | None:
    parts = path.split("/")
    if len(parts) > 2 and parts[2] and parts[2] not in COLLECTIONS:
        return parts[2]
    return None


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = "The resource could not be found." if exc.status_code == 404 else str(exc.detail)
    return ApiError(exc.status_code, message).response()


async def _unstorable(request: Request, exc: Exception) -> Response:
    """A value the database refuses (PostgreSQL: NUL bytes, over-long strings, integers out of range)."""
    assert isinstance(exc, DataError)
    return ApiError(400, f"Invalid input received: {str(exc.orig).splitlines()[0]}").response()


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return ApiError(500, "The server has either erred or is incapable of performing the requested "
                         "operation.").response()


def create_app(conf: Any) -> VolumesApp:
    return VolumesApp(conf)
