"""Request ids in Swift's format: ``tx<21 hex>-<10 hex epoch>``."""

from __future__ import annotations

import time
import uuid
from collections.abc import MutableMapping
from typing import Any

SCOPE_KEY = "stackstore.trans_id"


def new_trans_id(suffix: str = "") -> str:
    return f"tx{uuid.uuid4().hex[:21]}-{int(time.time()):010x}{suffix}"


def trans_id_of(scope: MutableMapping[str, Any]) -> str:
    """The id the middleware assigned to this request (a fresh one outside the middleware)."""
    tid = scope.get(SCOPE_KEY)
    if tid is None:
        tid = scope[SCOPE_KEY] = new_trans_id()
    return tid
