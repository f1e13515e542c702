"""Image data: ``PUT /v2/images/{id}/file`` (queued → saving → active) and ``GET`` (streamed, ranges)."""

from __future__ import annotations

import logging

from sqlalchemy import update
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from apiservice.db import in_db
from identity.tokens import TokenInfo
from images.api.base import State, caller, now, owned_image, state, visible_image
from images.errors import ApiError
from images.models import Image
from images.store import StoreError, TooLarge

log = logging.getLogger("stackstore.images")


async def _set_status(st: State, image_id: str, old: str, new: str, **values: object) -> bool:
    """Compare-and-set the status; False when the image is gone or in another status."""
    return await in_db(st.sessions, _cas_status, image_id, old, new, values)


def _cas_status(db: Session, image_id: str, old: str, new: str, values: dict[str, object]) -> bool:
    res = db.execute(update(Image).where(Image.id == image_id, Image.status == old)
                     .values(status=new, updated_at=now(), **values))
    db.commit()
    return res.rowcount == 1


def _upload_target(db: Session, image_id: str, who: TokenInfo) -> Image:
    """The caller's image, once its formats are set (400 before)."""
    img = owned_image(db, image_id, who)
    if not img.disk_format or not img.container_format:
        raise ApiError(400, "Properties disk_format, container_format must be set prior to saving data.")
    return img


async def upload(request: Request) -> Response:
    who = await caller(request, "upload_image")
    st = state(request)
    image_id = request.path_params["image_id"]
    ctype = request.headers.get("content-type", "application/octet-stream").split(";")[0].strip()
    if ctype != "application/octet-stream":
        raise ApiError(415, "Image data must be sent as application/octet-stream")
    img = await in_db(st.sessions, _upload_target, image_id, who)
    if img.status != "queued":
        raise ApiError(409, f"Image status transition from {img.status} to saving is not allowed")
    length = request.headers.get("content-length")
    try:
        size = int(length) if length is not None else None
    except ValueError:
        raise ApiError(400, "Invalid Content-Length") from None
    if not await _set_status(st, image_id, "queued", "saving"):
        raise ApiError(409, "Image status transition to saving is not allowed: another upload is running")
    try:
        stored = await st.store.put(image_id, request.stream(), size)
    except TooLarge:
        await _rollback(st, image_id)
        raise ApiError(413, f"Image exceeds the storage quota of {st.store.max_size} bytes") from None
    except (StoreError, OSError) as exc:
        log.warning("upload of image %s failed: %s", image_id, exc)
        await _rollback(st, image_id)
        raise ApiError(503 if isinstance(exc, StoreError) else 400, f"Image upload failed: {exc}") from None
    except BaseException:
        await _rollback(st, image_id)
        raise
    if not await _set_status(st, image_id, "saving", "active", size=stored.size, checksum=stored.md5,
                       os_hash_algo="sha512", os_hash_value=stored.sha512,
                       virtual_size=stored.size if img.disk_format == "raw" else None):
        await st.store.delete(image_id)  # deleted while uploading
        raise ApiError(410, f"Image {image_id} was deleted during the upload")
    return Response(status_code=204)


async def _rollback(st: State, image_id: str) -> None:
    try:
        await st.store.delete(image_id)
    except Exception as exc:
        log.warning("could not remove partial data of image %s: %s", image_id, exc)
    await _set_status(st, image_id, "saving", "queued")


async def download(request: Request) -> Response:
    who = await caller(request, "download_image")
    st = state(request)
    img = await in_db(st.sessions, visible_image, request.path_params["image_id"], who)
    if img.status != "active":
        return Response(status_code=204)
    headers = {}
    if request.headers.get("range"):
        headers["Range"] = request.headers["range"]
    resp = await st.store.get(img.id, headers)
    if resp.status not in (200, 206):
        await resp.close()
        if resp.status == 416:
            raise ApiError(416, "Requested range not satisfiable")
        raise ApiError(503, f"Image data unavailable (object store answered {resp.status})")
    out = {"Content-Type": "application/octet-stream", "Content-MD5": img.checksum or ""}
    for name in ("content-length", "content-range"):
        if name in resp.headers:
            out[name.title()] = resp.headers[name]
    return StreamingResponse(resp.body, resp.status, headers=out)
