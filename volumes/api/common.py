"""Handler plumbing: JSON bodies, the per-request context, project scoping, paging and sorting."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from stackstore import json_body
from stackstore.numbers import parse_int
from volumes.context import Context
from volumes.errors import ApiError, bad_request, over_limit


@dataclass
class Req:
    """What a handler sees: caller, path parameters, query, parsed body and the service state."""

    ctx: Context
    params: dict[str, str]
    query: Any  # starlette QueryParams
    body: Any
    svc: Any  # volumes.api.app.Services
    base_url: str

    def member(self, key: str) -> dict[str, Any]:
        """``body[key]`` as a dict, else 400 as Cinder's schema validation answers."""
        if not isinstance(self.body, dict) or not isinstance(self.body.get(key), dict):
            raise bad_request(f"Missing required element '{key}' in request body.")
        return self.body[key]

    def flag(self, name: str) -> bool:
        return str(self.query.get(name, "")).lower() in ("1", "true", "yes", "on")


Handler = Callable[[Req], Any]


def endpoint(fn: Handler) -> Callable[[Request], Any]:
    """Wrap a sync handler ``fn(req) -> (status, body)`` for Starlette (run in a worker thread)."""

    async def handle(request: Request) -> Response:
        body = None
        if request.method in ("POST", "PUT"):
            try:
                raw = await json_body.read_bounded(request)
            except json_body.BodyTooLarge:
                raise over_limit("Request is too large.") from None
            except json_body.BodyTimeout:
                raise ApiError(408, "Request body not received in time.") from None
            if raw.strip():
                try:
                    body = json_body.loads(raw)
                except ValueError:
                    raise bad_request("Malformed request body") from None
        svc = request.app.state.svc
        base = svc.settings.public_endpoint.rstrip("/") or str(request.base_url).rstrip("/")
        req = Req(request.state.ctx, dict(request.path_params), request.query_params, body, svc, base)
        result = await run_in_threadpool(fn, req)
        if isinstance(result, Response):
            return result
        status, payload = result
        if payload is None:
            return Response(status_code=status)
        return JSONResponse(payload, status)

    handle.__name__ = fn.__name__
    return handle


def check_project(req: Req, project_id: str) -> None:
    """Non-admins see only their own project's resources."""
    if project_id != req.ctx.project_id and not req.ctx.is_admin:
        raise ApiError(403, "Policy doesn't allow this operation for another project.")


def all_tenants(req: Req) -> bool:
    return req.ctx.is_admin and req.flag("all_tenants")


def tenant_filtered(req: Req, stmt: Select, model: type, filters: dict[str, str]) -> Select:
    """Restrict ``stmt`` to the caller's project (unless ``all_tenants``) and, for each ``query key -> column``
    of ``filters`` whose query parameter is set and non-empty, to rows whose column equals it."""
    if not all_tenants(req):
        stmt = stmt.where(model.project_id == req.ctx.project_id)
    for key, column in filters.items():
        if req.query.get(key):
            stmt = stmt.where(getattr(model, column) == req.query[key])
    return stmt


def int_param(req: Req, name: str, minimum: int = 0) -> int | None:
    raw = req.query.get(name)
    if raw is None:
        return None
    value = parse_int(raw)
    if value is None:
        raise bad_request(f"{name} param must be an integer")
    if value < minimum:
        raise bad_request(f"{name} param must be >= {minimum}")
    return value


def sorted_paged(req: Req, stmt: Select, model: type, sortable: tuple[str, ...]) -> Select:
    """Apply ``sort=key:dir[,…]`` (or sort_key/sort_dir), ``marker`` and ``limit``."""
    keys: list[tuple[str, str]] = []
    if req.query.get("sort"):
        for item in str(req.query["sort"]).split(","):
            key, _, direction = item.strip().partition(":")
            keys.append((key, direction or "desc"))
    elif req.query.get("sort_key"):
        keys.append((req.query["sort_key"], req.query.get("sort_dir", "desc")))
    keys = keys or [("created_at", "desc")]
    order = []
    for key, direction in keys:
        if key not in sortable:
            raise bad_request(f"Invalid sort key {key!r}")
        if direction not in ("asc", "desc"):
            raise bad_request(f"Invalid sort direction {direction!r}")
        col = getattr(model, key)
        # NULL sorts as the smallest value, as on SQLite (PostgreSQL would put it last)
        order.append(col.asc().nulls_first() if direction == "asc" else col.desc().nulls_last())
    order.append(model.id.asc() if keys[-1][1] == "asc" else model.id.desc())
    return stmt.order_by(*order)


def apply_marker(rows: list[Any], marker: str | None, limit: int | None) -> list[Any]:
    """Rows after the one with id ``marker`` (400 if unknown), at most ``limit``."""
    if marker:
        ids = [r.id for r in rows]
        if marker not in ids:
            raise bad_request(f"Marker {marker} could not be found.")
        rows = rows[ids.index(marker) + 1:]
    return rows[:limit] if limit is not None else rows


def next_link(req: Req, kind: str, rows: list[Any], limit: int | None, more: bool) -> list[dict[str, str]]:
    if not more or not rows or limit is None:
        return []
    href = f"{req.base_url}/v3/{req.ctx.project_id}/{kind}?limit={limit}&marker={rows[-1].id}"
    return [{"rel": "next", "href": href}]


def text_field(data: dict[str, Any], key: str, maxlen: int = 255) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > maxlen:
        raise bad_request(f"Invalid input for field/attribute {key}.")
    return value


def metadata_field(data: dict[str, Any], key: str = "metadata") -> dict[str, str] | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) and len(k) <= 255
                                              and len(v) <= 255 and k for k, v in value.items()):
        raise bad_request("Invalid metadata: keys and values must be non-empty strings of at most 255 chars.")
    return value


async def run(fn: Callable[..., Any], *args: Any) -> Any:
    return await run_in_threadpool(fn, *args)
