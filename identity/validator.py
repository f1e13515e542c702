"""Local validation of identity tokens for other services (proxy, volumes, compute).

Fetches the identity service's key set (``/v3/OS-STACKSTORE/jwks``) and revocation list
(``/v3/OS-STACKSTORE/revocations``) and caches them; a token is accepted when its signature and
expiry check out and no revocation event matches. The revocation list is refreshed at most every
``revocation_interval`` seconds, so a revoked token stops working within that delay; when the list
cannot be refreshed for ``max_stale`` seconds every token is refused.

    validator = TokenValidator("http://127.0.0.1:5000")
    info = await validator.validate(token)        # TokenInfo or None
    info = validator.validate_sync(token)         # same, for threads / sync code
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

import httpx
import jwt

from identity.tokens import TokenInfo, decode, looks_like_jwt, revoked

log = logging.getLogger("stackstore.identity.validator")

JWKS_PATH = "/v3/OS-STACKSTORE/jwks"
REVOCATIONS_PATH = "/v3/OS-STACKSTORE/revocations"


class TokenValidator:
    """Validates identity JWTs offline, with cached keys and a periodically refreshed revocation list."""

    def __init__(self, identity_url: str, revocation_interval: float = 5.0, jwks_ttl: float = 300.0,
                 max_stale: float = 60.0, timeout: float = 5.0):
        self.url = identity_url.rstrip("/")
        if self.url.endswith("/v3"):
            self.url = self.url[:-3]
        self.revocation_interval = revocation_interval
        self.jwks_ttl = jwks_ttl
        self.max_stale = max_stale
        self.timeout = timeout
        self.keys: dict[str, Any] = {}
        self.events: list[dict[str, Any]] = []
        self.keys_at = 0.0  # monotonic time of the last successful fetch
        self.events_at = -1e18
        self._lock = asyncio.Lock()
        self._tlock = threading.Lock()

    # -- parsing fetched documents ---------------------------------------------------------------
    def _set_keys(self, doc: dict) -> None:
        keys = {}
        for jwk in doc.get("keys", []):
            try:
                keys[jwk["kid"]] = jwt.PyJWK(jwk).key
            except (jwt.PyJWTError, KeyError, ValueError, TypeError):
                continue
        self.keys = keys
        self.keys_at = time.monotonic()

    def _set_events(self, doc: dict) -> None:
        self.events = list(doc.get("revocations", []))
        self.events_at = time.monotonic()

    def _needs(self, kid: str | None) -> tuple[bool, bool]:
        now = time.monotonic()
        keys = not self.keys or now - self.keys_at > self.jwks_ttl or (kid is not None and kid not in self.keys
                                                                      and now - self.keys_at > 1.0)
        return keys, now - self.events_at > self.revocation_interval

    def _check(self, token: str) -> TokenInfo | None:
        if time.monotonic() - self.events_at > self.max_stale:
            return None  # no fresh revocation list: fail closed
        info = decode(token, self.keys)
        if info is None or revoked(info, self.events):
            return None
        return info

    @staticmethod
    def _kid(token: str) -> str | None:
        if not looks_like_jwt(token):
            return None
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            return None
        return kid if isinstance(kid, str) else ""

    # -- async -------------------------------------------------------------------------------------
    async def refresh(self, keys: bool = True, events: bool = True) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=self.timeout) as client:
            if keys:
                resp = await client.get(JWKS_PATH)
                resp.raise_for_status()
                self._set_keys(resp.json())
            if events:
                resp = await client.get(REVOCATIONS_PATH)
                resp.raise_for_status()
                self._set_events(resp.json())

    async def validate(self, token: str) -> TokenInfo | None:
        kid = self._kid(token)
        if kid is None:
            return None
        need_keys, need_events = self._needs(kid)
        if need_keys or need_events:
            async with self._lock:
                need_keys, need_events = self._needs(kid)
                if need_keys or need_events:
                    try:
                        await self.refresh(need_keys, need_events)
                    except (httpx.HTTPError, ValueError) as exc:
                        log.warning("identity refresh failed: %s", exc)
        return self._check(token)

    # -- sync --------------------------------------------------------------------------------------
    def refresh_sync(self, keys: bool = True, events: bool = True) -> None:
        with httpx.Client(base_url=self.url, timeout=self.timeout) as client:
            if keys:
                resp = client.get(JWKS_PATH)
                resp.raise_for_status()
                self._set_keys(resp.json())
            if events:
                resp = client.get(REVOCATIONS_PATH)
                resp.raise_for_status()
                self._set_events(resp.json())

    def validate_sync(self, token: str) -> TokenInfo | None:
        kid = self._kid(token)
        if kid is None:
            return None
        with self._tlock:
            need_keys, need_events = self._needs(kid)
            if need_keys or need_events:
                try:
                    self.refresh_sync(need_keys, need_events)
                except (httpx.HTTPError, ValueError) as exc:
                    log.warning("identity refresh failed: %s", exc)
        return self._check(token)
