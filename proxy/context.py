"""Request identity and process state shared by both APIs (Swift and S3), the auth layers and features.

API-neutral: nothing here knows about Swift or S3 request shapes. ``ObjectRequest`` is what shared
code (the large-object package) needs of a request; ``proxy.swift.context.SwiftRequest`` and the S3
request context build on it.
"""

from __future__ import annotations

from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.datastructures import Headers
from starlette.requests import Request

from proxy.http.errors import HTTPError
from proxy.infocache import InfoCache
from stackstore.config import Config

if TYPE_CHECKING:
    from objclient.client import StorageClient
    from proxy.auth.resellers import Resellers


@dataclass
class Identity:
    """Who made the request, as decided by an auth layer (TempAuth or Keystone token, temp URL, S3 key)."""

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

    conf: Config
    client: StorageClient
    extras: dict[str, Any] = field(default_factory=dict)  # caches and feature state

    @property
    def info_cache(self) -> InfoCache:
        cache = self.extras.get("info_cache")
        if cache is None:
            cache = self.extras["info_cache"] = InfoCache(self.client)
        return cache

    @property
    def resellers(self) -> Resellers:
        """``conf``'s reseller prefixes, read once (the configuration does not change while the proxy runs;
        every authorization asks)."""
        found = self.extras.get("resellers")
        if found is None:
            from proxy.auth.resellers import resellers_of

            found = self.extras["resellers"] = resellers_of(self.conf)
        return found

    # the cache's own coroutines, handed out (not awaited in one more frame: asked ~8 times a request)
    def container_info(self, account: str, container: str) -> Coroutine[Any, Any, dict[str, Any]]:
        """Cached Swift-style container info (await it): ``status``, ``read_acl``, ``write_acl``, ``meta``,
        ``sysmeta``, ``cors``, ``object_count``, ``bytes``, ``headers`` (see proxy/infocache.py)."""
        return self.info_cache.container_info(account, container)

    def account_info(self, account: str) -> Coroutine[Any, Any, dict[str, Any]]:
        """Cached Swift-style account info (await it): ``status``, ``container_count``, ``meta``, ``sysmeta``, ..."""
        return self.info_cache.account_info(account)

    def invalidate_info(self, account: str, container: str | None = None) -> None:
        """Drop cached info after a write to the account or container metadata."""
        self.info_cache.invalidate(account, container)


class RequestAccessors:
    """Shortcuts shared by the Swift and S3 request contexts (``request`` and ``state`` attributes)."""

    request: Request
    state: ProxyState

    @property
    def method(self) -> str:
        method: str = self.request.scope["method"]  # as Request.method, without its cast (read ~20 times a request)
        return method

    @property
    def headers(self) -> Headers:
        return self.request.headers

    @property
    def client(self) -> StorageClient:
        return self.state.client


@dataclass
class ObjectRequest(RequestAccessors):
    """A request about one ``account[/container[/object]]`` of the cluster, whichever API it came by.

    What API-neutral code (large objects) reads; ``SwiftRequest`` adds what only the Swift API needs.
    """

    request: Request
    state: ProxyState
    account: str
    container: str | None
    obj: str | None
    query: dict[str, str]  # parsed query; parameters without value map to ""
    trans_id: str
    identity: Identity | None = None

    @property
    def container_name(self) -> str:
        """The container, for handlers of container and object paths (400 if the path has none)."""
        if self.container is None:
            raise HTTPError(400, "path needs a container")
        return self.container

    @property
    def object_name(self) -> str:
        """The object, for handlers of object paths (400 if the path has none)."""
        if self.obj is None:
            raise HTTPError(400, "path needs an object")
        return self.obj
