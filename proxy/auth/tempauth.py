"""TempAuth v1.0: ``GET /auth/v1.0`` logins and self-validating ``AUTH_tk`` tokens.

Tokens are HMAC-signed (``AUTH_tk<payload>.<mac>``): any proxy worker or process sharing the cluster
secret accepts them without shared state. The MAC also covers the user's key, so changing a key
revokes its tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from collections.abc import Iterable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from proxy.auth.resellers import primary_prefix
from proxy.context import Identity
from proxy.http.errors import error_response
from stackstore.config import Config
from stackstore.secrets import ensure_secret

TOKEN_PREFIX = "tk"
VALID_TOKENS_KEPT = 10000  # tokens remembered as valid per process (TempAuth.validate_token)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def group_identity(user: str, groups: Iterable[str], reseller_prefix: str = "AUTH_") -> Identity:
    """The Identity of TempAuth-style ``user`` (``account:name``) in ``groups``: ``.admin`` owns the
    account, ``.reseller_admin`` owns every account, no group means container ACLs only."""
    groups = list(groups)
    return Identity(user=user, account=reseller_prefix + user.partition(":")[0], groups=groups,
                    is_admin=".admin" in groups or ".reseller_admin" in groups,
                    is_reseller=".reseller_admin" in groups)


class TempAuth:
    """Users from ``[tempauth].users``; implements the AuthBackend protocol."""

    def __init__(self, conf: Config, secret: bytes | None = None):
        section = conf.get("tempauth", {}) if hasattr(conf, "get") else {}
        self.users: dict[str, dict[str, Any]] = dict(section.get("users", {}))
        self.token_life = int(section.get("token_life", 86400))
        self.reseller_prefix = primary_prefix(conf)  # the first of a list (proxy/auth/resellers.py)
        self.token_start = self.reseller_prefix + TOKEN_PREFIX
        if secret is None:
            # the same key in every worker: configured, or the cloud's generated tempauth_token_key
            secret = ensure_secret(conf, "tempauth_token_key").encode()
        self._key = hmac.new(secret, b"stackstore-tempauth-token", hashlib.sha256).digest()
        # token -> (user, expires, the user's key it was checked with): a token is presented on every request;
        # its MAC, decoding and JSON are checked once (bounded: cleared when full)
        self._valid: dict[str, tuple[str, int, str]] = {}

    # -- tokens -----------------------------------------------------------------------------------
    def _mac(self, payload: bytes, user_key: str) -> str:
        return _b64(hmac.new(self._key, payload + b"\0" + user_key.encode(), hashlib.sha256).digest()[:20])

    def issue_token(self, user: str, now: float | None = None) -> tuple[str, int]:
        """A new token for ``user`` and its expiry (epoch seconds)."""
        expires = int((time.time() if now is None else now) + self.token_life)
        payload = json.dumps([user, expires, _b64(os.urandom(6))], separators=(",", ":")).encode()
        return f"{self.token_start}{_b64(payload)}.{self._mac(payload, self.users[user]['key'])}", expires

    def validate_token(self, token: str, now: float | None = None) -> tuple[str, int] | None:
        """(user, expires) of a valid unexpired token, else None. A token already found valid is
        answered from memory while the user's key is the one it was signed with and it has not expired."""
        known = self._valid.get(token)
        if known is not None:
            user, expires, user_key = known
            entry = self.users.get(user)
            if entry is not None and str(entry.get("key", "")) == user_key:
                return (user, expires) if expires > (time.time() if now is None else now) else None
            del self._valid[token]
        if not token.startswith(self.token_start):
            return None
        body, _, mac = token[len(self.token_start):].rpartition(".")
        try:
            payload = _unb64(body)
            user, expires, _nonce = json.loads(payload)
        except (ValueError, TypeError):
            return None
        entry = self.users.get(user) if isinstance(user, str) else None
        if entry is None or not isinstance(expires, int):
            return None
        user_key = str(entry.get("key", ""))
        if not hmac.compare_digest(mac, self._mac(payload, user_key)):
            return None
        if expires <= (time.time() if now is None else now):
            return None
        if len(self._valid) >= VALID_TOKENS_KEPT:
            self._valid.clear()
        self._valid[token] = (user, expires, user_key)
        return user, expires

    def identity(self, user: str) -> Identity:
        return group_identity(user, self.users[user].get("groups", []), self.reseller_prefix)

    # -- AuthBackend ------------------------------------------------------------------------------
    def owns_token(self, token: str) -> bool:
        return token.startswith(self.token_start)

    async def authenticate(self, request: Request) -> Identity | None:
        return await self.authenticate_token(
            request.headers.get("x-auth-token") or request.headers.get("x-storage-token") or "")

    async def authenticate_token(self, token: str) -> Identity | None:
        valid = self.validate_token(token)
        return self.identity(valid[0]) if valid else None

    # -- GET /auth/v1.0 ---------------------------------------------------------------------------
    async def handle_auth(self, request: Request) -> Response:
        """Log in with ``X-Auth-User``/``X-Auth-Key`` (or ``X-Storage-User``/``X-Storage-Pass``)."""
        if request.method not in ("GET", "HEAD"):
            return error_response(405, headers={"Allow": "GET, HEAD"})
        user = request.headers.get("x-auth-user") or request.headers.get("x-storage-user")
        key = request.headers.get("x-auth-key") or request.headers.get("x-storage-pass")
        entry = self.users.get(user or "")
        if not user or key is None or ":" not in user or entry is None \
                or not hmac.compare_digest(str(entry.get("key", "")).encode(), key.encode()):
            return error_response(401, headers={"Www-Authenticate": 'Swift realm="unknown"'})
        token, expires = self.issue_token(user)
        url = f"{request.url.scheme}://{request.headers.get('host') or request.url.netloc}" \
              f"/v1/{self.reseller_prefix}{user.split(':', 1)[0]}"
        body = json.dumps({"storage": {"default": "local", "local": url}})
        return Response(body, status_code=200, media_type="application/json", headers={
            "X-Storage-Url": url,
            "X-Auth-Token": token,
            "X-Storage-Token": token,
            "X-Auth-Token-Expires": str(max(0, int(expires - time.time()))),
        })
