"""Per-request context (caller, microversion, database) and shared lookups."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request

from apiservice.identity import Validator, authenticate
from compute_shim.driver import Driver
from compute_shim.errors import ApiError, bad_request, not_found
from compute_shim.microversions import Version, negotiate
from compute_shim.models import Server, VolumeAttachment
from compute_shim.settings import Settings
from identity.tokens import TokenInfo
from stackstore import json_body as bounded
from stackstore.numbers import parse_int


@dataclass
class State:
    settings: Settings
    sessions: sessionmaker
    validator: Validator
    driver: Driver
    attacher: Any = None  # compute_shim.volume.attach.Attacher
    images: Any = None  # compute_shim.images.ImageClient
    tasks: set = field(default_factory=set)


@dataclass
class Ctx:
    request: Request
    state: State
    who: TokenInfo
    version: Version

    @property
    def base(self) -> str:
        return self.state.settings.public_url

    @property
    def token(self) -> str:
        return self.request.headers.get("x-auth-token", "")


def state_of(request: Request) -> State:
    return request.app.state.compute


async def context(request: Request) -> Ctx:
    """The request's caller (validated once per request) and microversion; 401 without a valid token."""
    version = getattr(request.state, "version", None) or negotiate(request.headers)
    st = state_of(request)
    who = getattr(request.state, "who", None) or await authenticate(st.validator, request)
    if who is None:
        raise ApiError(401, "The request you have made requires authentication.")
    request.state.who = who
    return Ctx(request, st, who, version)


async def json_body(request: Request, key: str | None = None, limit: int | None = None) -> Any:
    """The request's JSON body (``body[key]`` when ``key`` is given), read within ``limit`` bytes."""
    try:
        raw = await bounded.read_bounded(request, limit)
    except bounded.BodyTooLarge:
        raise ApiError(413, "Request body too large") from None
    except bounded.BodyTimeout:
        raise ApiError(408, "Request body not received in time") from None
    try:
        body = bounded.loads(raw or b"null")
    except ValueError:
        raise bad_request("Malformed request body") from None
    if key is not None:
        if not isinstance(body, dict) or not isinstance(body.get(key), dict):
            raise bad_request(f"Invalid input for field/attribute {key}.")
        return body[key]
    return body


UUID = re.compile(r"[0-9a-fA-F]{8}(-?[0-9a-fA-F]{4}){3}-?[0-9a-fA-F]{12}")


def is_uuid(value: Any) -> bool:
    """A UUID, with or without dashes, as Nova requires of image and volume ids (also safe in a URL path)."""
    return isinstance(value, str) and UUID.fullmatch(value) is not None


def page_by_marker(rows: list[Any], query: Mapping[str, str]) -> list[Any]:
    """The rows after the ``marker`` id (400 if it is not among them), cut to ``limit``."""
    if query.get("marker"):
        ids = [r.id for r in rows]
        if query["marker"] not in ids:
            raise bad_request(f"marker [{query['marker']}] not found")
        rows = rows[ids.index(query["marker"]) + 1:]
    if query.get("limit"):
        limit = parse_int(query["limit"])
        if limit is None:
            raise bad_request("limit param must be an integer")
        rows = rows[:max(0, limit)]
    return rows


def get_server(db: Session, ctx: Ctx, server_id: str) -> Server:
    """A live server the caller may see (admins: any project); 404 otherwise."""
    srv = db.get(Server, server_id) if len(server_id) <= 36 else None
    if srv is None or srv.deleted or (srv.project_id != ctx.who.project_id and not ctx.who.is_cloud_admin):
        raise not_found(f"Instance {server_id} could not be found.")
    return srv


def add_row(db: Session, row: Any) -> None:
    db.add(row)
    db.commit()


def attachments_of(db: Session, server_id: str, statuses: tuple[str, ...] = ("attached",)) -> list[VolumeAttachment]:
    stmt = select(VolumeAttachment).where(VolumeAttachment.server_id == server_id,
                                          VolumeAttachment.status.in_(statuses))
    return list(db.scalars(stmt.order_by(VolumeAttachment.device)))
