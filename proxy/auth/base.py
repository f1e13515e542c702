"""The pluggable auth interface: each backend (TempAuth, Keystone) claims the tokens it issued."""

from __future__ import annotations

from typing import Protocol

from starlette.requests import Request

from proxy.context import Identity


class AuthBackend(Protocol):
    """Turns a request's credentials into an Identity."""

    def owns_token(self, token: str) -> bool:
        """True when this backend issued tokens of this shape (others are tried otherwise)."""
        ...

    async def authenticate(self, request: Request) -> Identity | None:
        """The caller's Identity, or None when the token is invalid or expired (→ 401)."""
        ...

    async def authenticate_token(self, token: str) -> Identity | None:
        """The Identity a token stands for (an ``X-Service-Token`` too), or None when invalid."""
        ...


def request_token(request: Request) -> str | None:
    """The auth token of a storage request (``X-Auth-Token``, or ``X-Storage-Token``)."""
    return request.headers.get("x-auth-token") or request.headers.get("x-storage-token") or None
