"""How a symlink is stored, shared by every layer that reads objects (the Swift API's symlink feature,
large-object segments): its sysmeta, ``StoredLink`` and how many links one read follows.

A symlink is a zero-byte object whose ``X-Object-Sysmeta-Symlink-*`` headers name its target (a
quoted ``container/object``, and the account when given). The Swift-specific parts (client headers,
listing rows, the object controller's ``LinkResponse``) are proxy/swift/links.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from proxy.http.headers import lookup

SYSMETA_TARGET = "X-Object-Sysmeta-Symlink-Target"
SYSMETA_ACCOUNT = "X-Object-Sysmeta-Symlink-Target-Account"
SYSMETA_ETAG = "X-Object-Sysmeta-Symlink-Target-Etag"
SYSMETA_BYTES = "X-Object-Sysmeta-Symlink-Target-Bytes"

DEFAULT_SYMLOOP_MAX = 2


@dataclass(frozen=True)
class StoredLink:
    """What a symlink object's sysmeta says: ``target`` is the quoted ``container/object``;
    ``account`` the quoted account (None: the link's own); ``etag`` is set for a static link."""

    target: str
    account: str | None = None
    etag: str | None = None
    size: str | None = None

    def resolve(self, own_account: str) -> tuple[str, str, str]:
        """(account, container, object) of the target, unquoted; ``own_account``: the link's account."""
        account = unquote(self.account) if self.account else own_account
        container, _, obj = unquote(self.target).partition("/")
        return account, container, obj


def stored_link(backend_headers: Mapping[str, str]) -> StoredLink | None:
    """The link an object's stored headers describe, or None for an ordinary object."""
    target = lookup(backend_headers, SYSMETA_TARGET)
    if not target:
        return None
    return StoredLink(target, lookup(backend_headers, SYSMETA_ACCOUNT) or None,
                      lookup(backend_headers, SYSMETA_ETAG) or None, lookup(backend_headers, SYSMETA_BYTES))


def symloop_max(conf: Any) -> int:
    """How many links one read follows (``[symlink] symloop_max``, 2 when unset or below 1)."""
    section = conf.get("symlink", {}) if hasattr(conf, "get") else {}
    try:
        value = int(section.get("symloop_max", DEFAULT_SYMLOOP_MAX))
    except (TypeError, ValueError):
        value = DEFAULT_SYMLOOP_MAX
    return value if value >= 1 else DEFAULT_SYMLOOP_MAX
