"""Request ids in Swift's format: ``tx<21 hex>-<10 hex epoch>``."""

from __future__ import annotations

import os
import time
from collections.abc import MutableMapping
from typing import Any

SCOPE_KEY = "stackstore.trans_id"


def new_trans_id(suffix: str = "") -> str:
    """A fresh id: 84 random bits (what Swift takes of a uuid4) read straight from the system's generator, not
    through ``uuid.UUID`` (~100 Python steps per request)."""
    return f"tx{os.urandom(11).hex()[:21]}-{int(time.time()):010x}{suffix}"


def trans_id_of(scope: MutableMapping[str, Any]) -> str:
    """The id the middleware assigned to this request (a fresh one outside the middleware)."""
    tid = scope.get(SCOPE_KEY)
    if tid is None:
        tid = scope[SCOPE_KEY] = new_trans_id()
    return tid
