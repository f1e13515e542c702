"""The image service's Starlette app: routes, error handling, and the object-store client's lifetime."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from sqlalchemy.exc import DataError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from compute_shim.common.identity import Validator, make_validator
from compute_shim.glance.api import data, images, schemas, versions
from compute_shim.glance.api.base import State
from compute_shim.glance.db import open_db
from compute_shim.glance.errors import ApiError
from compute_shim.glance.settings import Settings
from compute_shim.glance.store import ImageStore

log = logging.getLogger("stackstore.images")


async def healthcheck(request: Request) -> PlainTextResponse:
    return PlainTextResponse("OK")


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _unstorable(request: Request, exc: Exception) -> JSONResponse:
    """A value the database refuses (PostgreSQL: NUL bytes, over-long strings, integers out of range)."""
    assert isinstance(exc, DataError)
    return ApiError(400, f"Invalid input: {str(exc.orig).splitlines()[0]}").response()


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return ApiError(500, "Internal server error").response()


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    status = getattr(exc, "status_code", 400)
    return ApiError(status, str(getattr(exc, "detail", "")) or "Request failed").response()


ROUTES = [
    Route("/", versions.root),
    Route("/versions", versions.versions),
    Route("/healthcheck", healthcheck, methods=["GET", "HEAD"]),
    Route("/v2/images", images.index, methods=["GET"]),
    Route("/v2/images", images.create, methods=["POST"]),
    Route("/v2/images/{image_id}", images.show, methods=["GET"]),
    Route("/v2/images/{image_id}", images.update, methods=["PATCH"]),
    Route("/v2/images/{image_id}", images.delete, methods=["DELETE"]),
    Route("/v2/images/{image_id}/file", data.upload, methods=["PUT"]),
    Route("/v2/images/{image_id}/file", data.download, methods=["GET"]),
    Route("/v2/images/{image_id}/tags/{tag}", images.add_tag, methods=["PUT"]),
    Route("/v2/images/{image_id}/tags/{tag}", images.delete_tag, methods=["DELETE"]),
    Route("/v2/schemas/image", schemas.image),
    Route("/v2/schemas/images", schemas.images),
]


def build_app(conf: Any, validator: Validator | None = None, client: Any = None) -> Starlette:
    """The app for ``conf``; tests may pass their own token validator and storage client."""
    settings = Settings.from_conf(conf)
    st = State(settings=settings, sessions=open_db(settings.database_url),
               validator=validator or make_validator(conf))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):  # noqa: ANN202
        own = client is None
        storage = client
        if own:
            from proxy.backend.client import StorageClient
            from proxy.backend.rings import Rings
            from stackstore.config import ensure_hash_path_suffix

            rings = Rings.load(conf["cluster"].get("ring_dir") or f"{settings.data_dir}/rings",
                               ensure_hash_path_suffix(conf))
            storage = StorageClient(conf, rings)
        st.store = ImageStore(storage, settings.account, settings.container, settings.max_image_size)
        try:
            yield
        finally:
            if own:
                await storage.close()

    app = Starlette(routes=ROUTES, lifespan=lifespan,
                    exception_handlers={ApiError: _api_error, DataError: _unstorable, Exception: _unexpected})
    from starlette.exceptions import HTTPException

    app.add_exception_handler(HTTPException, _http_error)
    app.state.images = st
    return app
