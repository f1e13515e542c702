"""Per-request state shared by the Swift router, auth layers, controllers and features."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

if TYPE_CHECKING:
    from objclient.client import StorageClient


@dataclass
class Identity:
    """Who made the request, as decided by an auth layer (tempauth token, tempurl, keystone later)."""

    user: str  # "test:tester"; "" for anonymous or temp URL access
    account: str  # storage account the credential belongs to, e.g. "AUTH_test"
    groups: list[str] = field(default_factory=list)  # tempauth groups: ".admin", ".reseller_admin", ...
    is_admin: bool = False  # owner/admin of `account`
    is_reseller: bool = False  # may act on any account, create/delete accounts
    is_reader: bool = False  # may read (not write) `account` (keystone ``reader`` role)

    @property
    def is_anonymous(self) -> bool:
        return not self.user


@dataclass
class ProxyState:
    """Long-lived objects of one proxy process (built once in proxy/app.py)."""

    conf: Any
    client: StorageClient
    extras: dict[str, Any] = field(default_factory=dict)  # caches and feature state

    @property
    def info_cache(self):
        from proxy.swift.infocache import InfoCache

        cache = self.extras.get("info_cache")
        if cache is None:
            cache = self.extras["info_cache"] = InfoCache(self.client)
        return cache

    async def container_info(self, account: str, container: str) -> dict[str, Any]:
        """Cached Swift-style container info: ``status``, ``read_acl``, ``write_acl``, ``meta``,
        ``sysmeta``, ``cors``, ``object_count``, ``bytes``, ``headers`` (see proxy/swift/infocache.py)."""
        return await self.info_cache.container_info(account, container)

    async def account_info(self, account: str) -> dict[str, Any]:
        """Cached Swift-style account info: ``status``, ``container_count``, ``meta``, ``sysmeta``, ..."""
        return await self.info_cache.account_info(account)

    def invalidate_info(self, account: str, container: str | None = None) -> None:
        """Drop cached info after a write to the account or container metadata."""
        self.info_cache.invalidate(account, container)


class RequestAccessors:
    """Shortcuts shared by the Swift and S3 request contexts (``request`` and ``state`` attributes)."""

    request: Request
    state: ProxyState

    @property
    def method(self) -> str:
        return self.request.method

    @property
    def headers(self):
        return self.request.headers

    @property
    def client(self) -> StorageClient:
        return self.state.client


@dataclass
class SwiftRequest(RequestAccessors):
    """A parsed ``/v1/<account>[/<container>[/<object>]]`` request."""

    request: Request
    state: ProxyState
    account: str
    container: str | None
    obj: str | None
    query: dict[str, str]  # parsed query; parameters without value map to ""
    trans_id: str
    identity: Identity | None = None
    authorized_by: str = ""  # "tempurl" when a temp URL signature granted this one request
    timestamp: str = ""  # X-Timestamp the proxy assigned to this request (writes)


    @property
    def is_owner(self) -> bool:
        """The identity owns the account (``.admin`` of it, or a reseller admin)."""
        ident = self.identity
        return bool(ident and (ident.is_reseller or (ident.is_admin and ident.account == self.account)))

    @property
    def path(self) -> str:
        """``/v1/<account>[/<container>[/<object>]]`` decoded (as tempurl signs it)."""
        parts = ["", "v1", self.account]
        if self.container is not None:
            parts.append(self.container)
            if self.obj is not None:
                parts.append(self.obj)
        return "/".join(parts)
