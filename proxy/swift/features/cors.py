"""CORS from container metadata (``X-Container-Meta-Access-Control-Allow-Origin``, ``-Max-Age``,
``-Expose-Headers``): preflight ``OPTIONS`` answers and headers on actual responses, as Swift.

The outermost stage of the Swift pipeline (proxy/pipeline.py), so every answer below it is decorated.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response

from proxy.http.errors import error_response
from proxy.pipeline import Handler, handles
from proxy.swift.context import SwiftRequest
from proxy.swift.operations import ANY_DEPTH_OPERATIONS, CONTAINER_OPERATIONS, OBJECT_OPERATIONS

OBJECT_METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS", "COPY")
CONTAINER_METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS")
ACCOUNT_METHODS = ("GET", "HEAD", "POST", "OPTIONS")
BASE_EXPOSE = ("cache-control", "content-language", "content-type", "expires", "last-modified", "pragma",
               "etag", "x-timestamp", "x-trans-id", "x-openstack-request-id")


# every OPTIONS (preflights) and every container or object answer; account answers get no CORS headers
@handles(operations=CONTAINER_OPERATIONS | OBJECT_OPERATIONS | ANY_DEPTH_OPERATIONS)
async def feature(req: SwiftRequest, call_next: Handler) -> Response:
    """The pipeline stage: answer ``OPTIONS`` here; add CORS headers to a container's or object's answers."""
    if req.method == "OPTIONS":
        return await preflight(req)
    response = await call_next(req)
    if req.container is not None and req.headers.get("origin"):
        info = await req.state.container_info(req.account, req.container)
        if 200 <= info["status"] < 300:
            decorate(req, response, info["meta"])
    return response


def allowed_methods(req: SwiftRequest) -> tuple[str, ...]:
    if req.obj is not None:
        return OBJECT_METHODS
    return CONTAINER_METHODS if req.container is not None else ACCOUNT_METHODS


def cors_rules(container_meta: Mapping[str, str]) -> dict[str, str | None]:
    """``allow_origin``/``expose_headers``/``max_age`` from container info's ``cors``, its ``meta``
    (``access-control-*`` keys) or raw headers (``x-container-meta-access-control-*``)."""
    low = {k.lower(): v for k, v in container_meta.items()}
    rules = {}
    for key in ("allow_origin", "expose_headers", "max_age"):
        name = "access-control-" + key.replace("_", "-")
        rules[key] = low.get(key) or low.get(name) or low.get("x-container-meta-" + name)
    return rules


def origin_allowed(rules: Mapping[str, str | None], origin: str) -> bool:
    allowed = set((rules.get("allow_origin") or "").split())
    return "*" in allowed or origin in allowed


def _allow_origin_value(rules: Mapping[str, str | None], origin: str) -> str:
    return "*" if (rules.get("allow_origin") or "").strip() == "*" else origin


async def preflight(req: SwiftRequest) -> Response:
    """``OPTIONS``: 200 with ``Allow`` without an ``Origin`` (or on an account); a container's or an
    object's preflight is 200 with the allow headers, or 401 when the origin or the
    ``Access-Control-Request-Method`` (missing included) is not allowed, as Swift."""
    methods = allowed_methods(req)
    origin = req.headers.get("origin")
    wanted = req.headers.get("access-control-request-method") or ""
    if not origin or req.container is None:
        return Response(b"", status_code=200, headers={"Allow": ", ".join(methods)})
    rules: Mapping[str, str | None] = {}
    info = await req.state.container_info(req.account, req.container)
    if 200 <= info["status"] < 300:
        rules = info.get("cors") or cors_rules(info.get("headers", {}))
    if not origin_allowed(rules, origin) or wanted.upper() not in methods:
        return error_response(401)
    headers = {
        "Allow": ", ".join(methods),
        "Access-Control-Allow-Origin": _allow_origin_value(rules, origin),
        "Access-Control-Allow-Methods": ", ".join(methods),
    }
    if headers["Access-Control-Allow-Origin"] != "*":
        headers["Vary"] = "Origin"
    if rules.get("max_age"):
        headers["Access-Control-Max-Age"] = str(rules["max_age"])
    if req.headers.get("access-control-request-headers"):
        headers["Access-Control-Allow-Headers"] = req.headers["access-control-request-headers"]
    return Response(b"", status_code=200, headers=headers)


def decorate(req: SwiftRequest, response: Response, container_meta: Mapping[str, str]) -> None:
    """Add ``Access-Control-Allow-Origin``/``-Expose-Headers`` to an actual response when allowed."""
    origin = req.headers.get("origin")
    if not origin:
        return
    rules = cors_rules(container_meta)
    if not origin_allowed(rules, origin):
        return
    expose = list(BASE_EXPOSE)
    for name in response.headers.keys():
        low = name.lower()
        if low.startswith(("x-container-meta-", "x-object-meta-")) and low not in expose:
            expose.append(low)
    for name in (rules.get("expose_headers") or "").split():
        if name.lower() not in expose:
            expose.append(name.lower())
    response.headers["Access-Control-Expose-Headers"] = ", ".join(expose)
    if "access-control-allow-origin" not in response.headers:
        value = _allow_origin_value(rules, origin)
        response.headers["Access-Control-Allow-Origin"] = value
        if value != "*":
            vary = response.headers.get("vary")
            response.headers["Vary"] = f"{vary}, Origin" if vary else "Origin"
