"""Image records: create, list, show, update (JSON-patch), delete, tags."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from apiservice.db import in_db
from identity.tokens import TokenInfo
from images import attrs, patch, policy
from images.api.base import caller, json_body, now, owned_image, state, visible_image
from images.errors import ApiError
from images.models import Image
from images.views import image_view
from stackstore.numbers import parse_int

SORT_KEYS = ("name", "status", "container_format", "disk_format", "size", "id", "created_at", "updated_at",
             "visibility", "owner", "min_disk", "min_ram")
FILTERS = ("name", "status", "owner", "disk_format", "container_format", "id")


def _add(db: Session, img: Image) -> None:
    if db.get(Image, img.id) is not None:
        raise ApiError(409, f"Image with identifier {img.id} already exists!")
    db.add(img)
    db.commit()


async def create(request: Request) -> Response:
    who = await caller(request, "add_image")
    body = await json_body(request)
    if not isinstance(body, dict):
        raise ApiError(400, "Image creation body must be a JSON object.")
    ts = now()
    img = Image(id=str(uuid.uuid4()), owner=who.project_id, status="queued", visibility="shared",
                min_disk=0, min_ram=0, protected=False, os_hidden=False, properties={}, tags=[],
                created_at=ts, updated_at=ts)
    props: dict[str, str] = {}
    for key, value in body.items():
        if key == "id":
            img.id = attrs.check_id(value)
        elif key in attrs.READ_ONLY:
            raise attrs.read_only(key)
        elif key in attrs.CORE:
            setattr(img, key, attrs.check_core(key, value, policy.allows(who, "publicize_image")))
        else:
            props[key] = attrs.check_extra(key, value)
    img.properties = props
    await in_db(state(request).sessions, _add, img)
    return JSONResponse(image_view(img), 201, headers={"Location": f"/v2/images/{img.id}"})


def _int(value: str | None, name: str, default: int) -> int:
    if value is None:
        return default
    number = parse_int(value)
    if number is None:
        raise ApiError(400, f"{name} param must be an integer")
    if number < 0:
        raise ApiError(400, f"{name} param must be positive")
    return number


def _or_empty(value: Any) -> Any:
    return "" if value is None else value


def _sort(q: Any) -> list[tuple[str, str]]:
    keys: list[tuple[str, str]] = []
    if q.get("sort"):
        for part in q["sort"].split(","):
            key, _, direction = part.strip().partition(":")
            keys.append((key, direction or "desc"))
    else:
        dirs = q.getlist("sort_dir") or ["desc"]
        for i, key in enumerate(q.getlist("sort_key") or ["created_at"]):
            keys.append((key, dirs[min(i, len(dirs) - 1)]))
    for key, direction in keys:
        if key not in SORT_KEYS or direction not in ("asc", "desc"):
            raise ApiError(400, f"Invalid sort: {key}:{direction}")
    if all(k != "id" for k, _ in keys):
        keys.append(("id", keys[0][1] if keys else "desc"))
    return keys


def _selected(db: Session, stmt: Select, q: Any) -> list[Image]:
    """The images of ``stmt`` with every ``tag``, sorted, after the ``marker``."""
    rows = list(db.scalars(stmt))
    tags = q.getlist("tag")
    rows = [r for r in rows if all(t in (r.tags or []) for t in tags)]
    for key, direction in reversed(_sort(q)):
        rows.sort(key=lambda r, k=key: (getattr(r, k) is not None, _or_empty(getattr(r, k))),
                  reverse=direction == "desc")
    if q.get("marker"):
        ids = [r.id for r in rows]
        if q["marker"] not in ids:
            raise ApiError(400, f"Invalid marker. Image {q['marker']} could not be found.")
        rows = rows[ids.index(q["marker"]) + 1:]
    return rows


async def index(request: Request) -> JSONResponse:
    who = await caller(request, "get_images")
    q = request.query_params
    limit = min(_int(q.get("limit"), "limit", 25), 1000)
    stmt = select(Image)
    for key in FILTERS:
        value = q.get(key)
        if value is not None and value.startswith("in:"):
            stmt = stmt.where(getattr(Image, key).in_([v.strip('"') for v in value[3:].split(",")][:1000]))
        elif value is not None:
            stmt = stmt.where(getattr(Image, key) == value)
    vis = q.get("visibility")
    if vis is not None and vis not in (*attrs.VISIBILITIES, "all"):
        raise ApiError(400, f"Invalid visibility value: {vis}")
    if vis and vis != "all":
        stmt = stmt.where(Image.visibility == vis)
    if not policy.allows(who, "cloud_reader"):
        seen = [Image.owner == who.project_id, Image.visibility == "public"]
        if vis in ("community", "all"):
            seen.append(Image.visibility == "community")
        stmt = stmt.where(or_(*seen))
    elif vis is None:
        stmt = stmt.where(or_(Image.owner == who.project_id, Image.visibility != "community"))
    hidden = q.get("os_hidden", "false").lower()
    if hidden not in ("true", "false"):
        raise ApiError(400, "os_hidden must be true or false")
    stmt = stmt.where(Image.os_hidden.is_(hidden == "true"))
    rows = await in_db(state(request).sessions, _selected, stmt, q)
    page = rows[:limit]
    doc: dict[str, Any] = {"images": [image_view(r) for r in page], "first": "/v2/images",
                           "schema": "/v2/schemas/images"}
    if len(rows) > limit and page:
        params = [(k, v) for k, v in q.multi_items() if k != "marker"] + [("marker", page[-1].id)]
        doc["next"] = "/v2/images?" + urlencode(params)
    return JSONResponse(doc)


async def show(request: Request) -> JSONResponse:
    who = await caller(request, "get_image")
    img = await in_db(state(request).sessions, visible_image, request.path_params["image_id"], who)
    return JSONResponse(image_view(img))


def _patched(db: Session, image_id: str, who: TokenInfo, ops: Any) -> Image:
    img = owned_image(db, image_id, who)
    patch.apply(img, ops, policy.allows(who, "publicize_image"))
    img.updated_at = now()
    db.commit()
    return img


async def update(request: Request) -> JSONResponse:
    who = await caller(request, "modify_image")
    ctype = request.headers.get("content-type", "").split(";")[0].strip()
    if ctype != patch.MEDIA_TYPE:
        raise ApiError(415, f"Unsupported Content-Type: use {patch.MEDIA_TYPE}")
    ops = await json_body(request)
    img = await in_db(state(request).sessions, _patched, request.path_params["image_id"], who, ops)
    return JSONResponse(image_view(img))


def _deleted(db: Session, image_id: str, who: TokenInfo) -> Image:
    """The image, removed from the database (its data, if any, is still to delete)."""
    img = owned_image(db, image_id, who)
    if img.protected:
        raise ApiError(403, f"Image {img.id} is protected and cannot be deleted.")
    if img.status == "saving":
        raise ApiError(409, f"Image {img.id} is being uploaded and cannot be deleted now.")
    db.delete(img)
    db.commit()
    return img


async def delete(request: Request) -> Response:
    who = await caller(request, "delete_image")
    st = state(request)
    img = await in_db(st.sessions, _deleted, request.path_params["image_id"], who)
    if img.status == "active" and st.store is not None:
        await st.store.delete(img.id)
    return Response(status_code=204)


def _tag(db: Session, image_id: str, who: TokenInfo, tag: str) -> None:
    img = owned_image(db, image_id, who)
    if tag not in (img.tags or []):
        img.tags = [*(img.tags or []), tag]
        img.updated_at = now()
        db.commit()


async def add_tag(request: Request) -> Response:
    who = await caller(request, "modify_image")
    tag = request.path_params["tag"]
    attrs.check_core("tags", [tag], policy.allows(who, "publicize_image"))
    await in_db(state(request).sessions, _tag, request.path_params["image_id"], who, tag)
    return Response(status_code=204)


def _untag(db: Session, image_id: str, who: TokenInfo, tag: str) -> None:
    img = owned_image(db, image_id, who)
    if tag not in (img.tags or []):
        raise ApiError(404, f"Tag {tag} not found")
    img.tags = [t for t in img.tags if t != tag]
    img.updated_at = now()
    db.commit()


async def delete_tag(request: Request) -> Response:
    who = await caller(request, "modify_image")
    await in_db(state(request).sessions, _untag, request.path_params["image_id"], who,
                request.path_params["tag"])
    return Response(status_code=204)

