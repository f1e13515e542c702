"""Version discovery (``/`` and ``/v3``), health check, and the key set / revocation list for validators."""

from __future__ import annotations

from starlette.responses import JSONResponse, PlainTextResponse, Response

from identity import revocation
from identity.api.base import Ctx

UPDATED = "2024-01-01T00:00:00Z"


def version_entry(base: str) -> dict:
    return {"id": "v3.14", "status": "stable", "updated": UPDATED,
            "links": [{"rel": "self", "href": f"{base}/v3/"}],
            "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}]}


def root(ctx: Ctx) -> Response:
    return JSONResponse({"versions": {"values": [version_entry(ctx.base)]}}, status_code=300)


def v3(ctx: Ctx):
    return 200, {"version": version_entry(ctx.base)}


def healthcheck(ctx: Ctx) -> Response:
    return PlainTextResponse("OK")


def jwks(ctx: Ctx):
    return 200, ctx.svc.keys.jwks()


def revocations(ctx: Ctx):
    return 200, {"revocations": revocation.active_events(ctx.db)}


ROUTES = [
    ("/", "GET,HEAD", root, False),
    ("/v3", "GET,HEAD", v3, False),
    ("/v3/", "GET,HEAD", v3, False),
    ("/healthcheck", "GET,HEAD", healthcheck, False),
    ("/v3/OS-STACKSTORE/jwks", "GET,HEAD", jwks, False),
    ("/v3/OS-STACKSTORE/revocations", "GET,HEAD", revocations, False),
]
