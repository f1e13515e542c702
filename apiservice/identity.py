"""Identity tokens for the compute and image APIs, validated locally with ``identity.validator``."""

from __future__ import annotations

from typing import Any, Protocol

from starlette.requests import Request

from apiservice.urls import service_url
from identity.tokens import TokenInfo


class Validator(Protocol):
    async def validate(self, token: str) -> TokenInfo | None: ...


def make_validator(conf: Any) -> Validator:
    """A TokenValidator for the configured identity service."""
    from identity.validator import TokenValidator

    return TokenValidator(service_url(conf, "identity", 5000))


async def authenticate(validator: Validator, request: Request) -> TokenInfo | None:
    """The project- or system-scoped token of the request (``X-Auth-Token``), or None."""
    token = request.headers.get("x-auth-token", "")
    if not token or len(token) > 16384:
        return None
    info = await validator.validate(token)
    if info is None or not (info.project_id or info.system):
        return None
    return info
