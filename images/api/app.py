"""The image service's Starlette app: routes, error handling, and the object-store client's lifetime."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from apiservice.handlers import exception_handlers
from apiservice.identity import Validator, make_validator
from images.api import data, images, schemas, versions
from images.api.base import State
from images.db import open_db
from images.errors import ApiError
from images.settings import Settings
from images.store import ImageStore
from objclient.crypto.client import encrypting_client
from stackstore.json_body import json_body_limit

log = logging.getLogger("stackstore.images")


async def healthcheck(request: Request) -> PlainTextResponse:
    return PlainTextResponse("OK")


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
    async def lifespan(app: Starlette):
        own = client is None
        storage = client
        if own:
            storage = encrypting_client(conf)  # [proxy] encryption covers image data too
        st.store = ImageStore(storage, settings.account, settings.container, settings.max_image_size)
        try:
            yield
        finally:
            if own:
                await storage.close()

    app = Starlette(routes=ROUTES, lifespan=lifespan,
                    exception_handlers=exception_handlers(ApiError, log, "Internal server error"))
    app.state.images = st
    app.state.max_json_body = json_body_limit(conf, "images")
    return app
