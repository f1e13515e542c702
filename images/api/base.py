"""Per-request context: the caller's token, the database, the data store; JSON helpers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request

from apiservice.identity import Validator, authenticate
from identity.tokens import TokenInfo
from images import policy
from images.errors import ApiError, not_found
from images.models import Image
from images.settings import Settings
from images.store import ImageStore
from stackstore import json_body as bounded


@dataclass
class State:
    settings: Settings
    sessions: sessionmaker
    validator: Validator
    store: ImageStore | None = None


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def state(request: Request) -> State:
    return request.app.state.images


async def caller(request: Request, operation: str) -> TokenInfo:
    """The request's token, once ``images.policy`` permits ``operation``; 401 / 403 otherwise."""
    info = await authenticate(state(request).validator, request)
    if info is None:
        raise ApiError(401, "The request you have made requires authentication.")
    policy.authorize(info, operation)
    return info


async def json_body(request: Request, limit: int | None = None) -> Any:
    """The request's JSON body, read within ``limit`` bytes (the app's ``max_json_body``)."""
    try:
        raw = await bounded.read_bounded(request, limit)
    except bounded.BodyTooLarge:
        raise ApiError(413, "Request body too large") from None
    except bounded.BodyTimeout:
        raise ApiError(408, "Request body not received in time") from None
    try:
        return bounded.loads(raw or b"null")
    except ValueError:
        raise ApiError(400, "Malformed JSON in request body.") from None


def can_see(img: Image, who: TokenInfo) -> bool:
    return (policy.allows(who, "cloud_reader") or img.owner == who.project_id
            or img.visibility in ("public", "community"))


def can_change(img: Image, who: TokenInfo) -> bool:
    return who.is_cloud_admin or img.owner == who.project_id


def visible_image(db: Session, image_id: str, who: TokenInfo) -> Image:
    """The image if the caller may see it; 404 otherwise (also for ids that are not UUIDs)."""
    img = db.get(Image, image_id) if len(image_id) <= 36 else None
    if img is None or not can_see(img, who):
        raise not_found(image_id)
    return img


def owned_image(db: Session, image_id: str, who: TokenInfo) -> Image:
    img = visible_image(db, image_id, who)
    if not can_change(img, who):
        raise ApiError(403, "You are not permitted to modify this image.")
    return img
