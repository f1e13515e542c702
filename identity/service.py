"""The identity service's long-lived state: settings, database, signing keys; token issue and check."""

from __future__ import annotations

import time

from sqlalchemy.orm import Session

from identity import revocation, tokens
from identity.db import Database, migrate
from identity.keys import KeySet
from identity.models import User
from identity.settings import Settings
from identity.throttle import LoginThrottle
from identity.tokens import TokenInfo


class IdentityService:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.db = Database(settings.database_url)
        self.keys = KeySet(settings.key_dir, settings.key_rotation, settings.max_keys)
        self.login_throttle = LoginThrottle(settings.auth_max_failures, settings.auth_failure_window)

    def start(self) -> None:
        """Migrate the schema, load (and rotate if due) the signing keys."""
        migrate(self.db.engine)
        self.keys.load().rotate_if_due()

    @property
    def public_keys(self) -> dict:
        return {k.kid: k.public for k in self.keys.keys}

    def issue(self, info: TokenInfo) -> str:
        self.keys.rotate_if_due()
        return tokens.encode(info, self.keys)

    def new_info(self, **kwargs) -> TokenInfo:
        now = time.time()
        expires = min(kwargs.pop("expires_at", None) or now + self.settings.token_expiration,
                      now + self.settings.token_expiration)
        return TokenInfo(issued_at=now, expires_at=expires, audit_id=tokens.new_audit_id(), **kwargs)

    def verify(self, db: Session, token: str) -> TokenInfo | None:
        """A valid, unexpired, unrevoked token of an existing enabled user; else None."""
        if not isinstance(token, str) or not tokens.looks_like_jwt(token):
            return None
        info = tokens.decode(token, self.public_keys)
        if info is None or tokens.revoked(info, revocation.active_events(db)):
            return None
        user = db.get(User, info.user_id)
        if user is None or not user.enabled:
            return None
        return info

    def revoke(self, db: Session, **match: str | None) -> None:
        revocation.revoke(db, self.settings.token_expiration, **match)
