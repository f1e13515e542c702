"""The compute service's Starlette app: routes, microversion headers, errors, long-lived state."""

from __future__ import annotations

import logging
from typing import Any

from starlette.applications import Starlette
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from apiservice.handlers import exception_handlers
from apiservice.identity import Validator, make_validator
from compute_shim import policy
from compute_shim.api import actions, flavors, servers, versions, volume_attachments, zones
from compute_shim.api.base import State, context
from compute_shim.db import open_db
from compute_shim.driver import Driver, load_driver
from compute_shim.errors import ApiError
from compute_shim.images import ImageClient
from compute_shim.microversions import negotiate, response_headers
from compute_shim.settings import Settings
from compute_shim.volume import iscsi
from compute_shim.volume.attach import Attacher, Prober
from compute_shim.volume.cinder import Cinder
from compute_shim.volume.connector import connector, initiator_name
from stackstore.json_body import json_body_limit

log = logging.getLogger("stackstore.compute")
V = "/v2.1"


async def healthcheck(request: Request) -> PlainTextResponse:
    return PlainTextResponse("OK")


def _routes() -> list[Route]:
    s, va = "/servers/{server_id}", "/servers/{server_id}/os-volume_attachments"
    table: list[tuple[str, Any, list[str]]] = [
        ("/flavors", flavors.index, ["GET"]), ("/flavors", flavors.create, ["POST"]),
        ("/flavors/detail", flavors.detail, ["GET"]), ("/flavors/{flavor_id}", flavors.show, ["GET"]),
        ("/flavors/{flavor_id}", flavors.delete, ["DELETE"]),
        ("/flavors/{flavor_id}/os-extra_specs", flavors.extra_specs, ["GET"]),
        ("/flavors/{flavor_id}/os-extra_specs", flavors.set_extra_specs, ["POST"]),
        ("/flavors/{flavor_id}/os-extra_specs/{key}", flavors.delete_extra_spec, ["DELETE"]),
        ("/servers", servers.index, ["GET"]), ("/servers", servers.create, ["POST"]),
        ("/servers/detail", servers.detail, ["GET"]), (s, servers.show, ["GET"]), (s, servers.update, ["PUT"]),
        (s, servers.delete, ["DELETE"]), (s + "/action", actions.action, ["POST"]),
        (s + "/metadata", servers.metadata, ["GET"]), (s + "/metadata", servers.set_metadata, ["POST", "PUT"]),
        (s + "/metadata/{key}", servers.delete_metadata, ["DELETE"]),
        (va, volume_attachments.index, ["GET"]), (va, volume_attachments.create, ["POST"]),
        (va + "/{volume_id}", volume_attachments.show, ["GET"]),
        (va + "/{volume_id}", volume_attachments.update, ["PUT"]),
        (va + "/{volume_id}", volume_attachments.delete, ["DELETE"]),
        ("/os-availability-zone", zones.index, ["GET"]), ("/os-availability-zone/detail", zones.detail, ["GET"]),
    ]
    routes = [Route("/", versions.root, methods=["GET"]), Route("/healthcheck", healthcheck, methods=["GET", "HEAD"]),
              Route(V, versions.v21, methods=["GET"]), Route(V + "/", versions.v21, methods=["GET"])]
    for path, endpoint, methods in table:
        for method in methods:
            routes.append(Route(V + path, _authorized(policy.ROUTE_OPERATIONS[(method, path)], endpoint),
                                methods=[method]))
    return routes


def _authorized(operation: str, endpoint: Any) -> Any:
    """``endpoint`` behind the policy check of ``operation`` (401 / 403 with Nova's body); the handler's
    ``context`` reuses the token validated here."""

    async def guarded(request: Request) -> Response:
        ctx = await context(request)
        policy.authorize(ctx.who, operation)
        return await endpoint(request)

    guarded.__name__ = getattr(endpoint, "__name__", "endpoint")
    return guarded


class MicroversionMiddleware(BaseHTTPMiddleware):
    """Negotiate the version of every ``/v2.1/...`` request and echo it on the response."""

    async def dispatch(self, request: Request, call_next: Any) -> Response:
        if not request.url.path.startswith(V + "/") or request.url.path == V + "/":
            return await call_next(request)
        try:
            version = negotiate(request.headers)
        except ApiError as exc:
            return exc.response()
        request.state.version = version
        response = await call_next(request)
        response.headers.update(response_headers(version))
        return response


def build_app(conf: Any, validator: Validator | None = None, driver: Driver | None = None,
              prober: Prober | None = None) -> Starlette:
    """The app for ``conf``; tests may pass their own validator, driver and iSCSI prober."""
    settings = Settings.from_conf(conf)
    sessions = open_db(settings.database_url)
    state_dir = settings.data_dir / "compute"
    initiator = initiator_name(settings.initiator, state_dir)
    conn = connector(initiator, settings.my_ip, settings.host, state_dir)

    def cinder(project_id: str, token: str) -> Cinder:
        return Cinder(settings.volumes_url, project_id, token)

    st = State(settings=settings, sessions=sessions, validator=validator or make_validator(conf),
               driver=driver or load_driver(settings.driver, settings.build_delay),
               attacher=Attacher(sessions, cinder, conn, prober or iscsi.probe, settings.iscsi_timeout),
               images=ImageClient(settings.images_url))
    handlers = exception_handlers(ApiError, log, "Unexpected API Error. Please report this.",
                                  not_found="The resource could not be found.")
    app = Starlette(routes=_routes(), exception_handlers=handlers)
    app.add_middleware(MicroversionMiddleware)
    app.state.compute = st
    app.state.max_json_body = json_body_limit(conf, "compute")
    return app
