"""Per-request state shared by the Swift router, auth layers, controllers and features."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

if TYPE_CHECKING:
    from proxy.backend.client import StorageClient


@dataclass
class Identity:
    """Who made the request, as decided by an auth layer (tempauth token, tempurl, keystone later)."""

    user: str  # "test:tester"; "" for anonymous or temp URL access
    account: str  # storage account the credential belongs to, e.g. "AUTH_test"
    groups: list[str] = field(default_factory=list)  # tempauth groups: ".admin", ".reseller_admin", ...
    is_admin: bool = False  # owner/admin of `account`
    is_reseller: bool = False  # may act on any account, create/delete accounts

    @property
    def is_anonymous(self) -> bool:
        return not self.user


@dataclass
class ProxyState:
    """Long-lived objects of one proxy process (built once in proxy/app.py)."""

    conf: Any
    client: StorageClient
    extras: dict[str, Any] = field(default_factory=dict)  # caches and feature state


@dataclass
class SwiftRequest:
    """A parsed ``/v1/<account>[/<container>[/<object>]]`` request."""

    request: Request
    state: ProxyState
    account: str
    container: str | None
    obj: str | None
    query: dict[str, str]  # parsed query; parameters without value map to ""
    trans_id: str
    identity: Identity | None = None

    @property
    def method(self) -> str:
        return self.request.method

    @property
    def headers(self):
        return self.request.headers

    @property
    def client(self) -> StorageClient:
        return self.state.client
