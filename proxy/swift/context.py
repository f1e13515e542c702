"""The Swift API's request: a parsed ``/v1/<account>[/<container>[/<object>]]`` call."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from starlette.types import Message

from proxy.context import ObjectRequest
from proxy.http.request import ProxyRequest
from proxy.versioning.guarded_write import GuardedWrite

if TYPE_CHECKING:

    from objclient.client import StorageClient
    from proxy.swift.features.tempurl import TempURLScope
    from proxy.swift.operations import Operation


# request headers a sub-request keeps (the identity is carried over as it is, not re-authenticated)
SUBREQUEST_HEADERS = ("x-auth-token", "x-storage-token", "host", "user-agent", "referer")


@dataclass
class SwiftRequest(ObjectRequest):
    """A parsed ``/v1/<account>[/<container>[/<object>]]`` request."""

    authorized_by: str = ""  # "tempurl" when a temp URL signature granted this one request
    tempurl_scope: TempURLScope | None = None  # what that temp URL's key reaches (its sub-requests too)
    timestamp: str = ""  # X-Timestamp the proxy assigned to this request (writes)
    operation: Operation | None = None  # the router table's entry for this request (proxy/swift/operations.py)
    sysmeta: dict[str, str] = field(default_factory=dict)  # sysmeta features add to an account write (quotas)
    account_acl_level: str | None = None  # what X-Account-Access-Control grants the identity here (access.check)
    open_expired: bool = False  # reads (and POSTs) reach expired, unreaped objects (features/open_expired.py)
    versioned: GuardedWrite = field(default_factory=GuardedWrite)  # proxy/versioning/guarded_write.py
    # ``/<container>/<object>`` as the caller named it, when a feature sent the request on to another stored
    # location (object versioning: a version's object in the hidden versions container); result bodies show it
    shown_as: str | None = None

    @property
    def client(self) -> StorageClient:
        """The storage client for this request: a view opening expired objects when ``open_expired``."""
        client = self.state.client
        return client.opening_expired() if self.open_expired else client

    @property
    def is_owner(self) -> bool:
        """The identity owns the account (``.admin`` of it, a reseller admin, or an account ACL ``admin``)."""
        ident = self.identity
        return bool(ident and (ident.is_reseller or self.state.resellers.administers(ident, self.account)
                               or self.account_acl_level == "admin"))

    @property
    def path(self) -> str:
        """``/v1/<account>[/<container>[/<object>]]`` decoded (as tempurl signs it)."""
        parts = ["", "v1", self.account]
        if self.container is not None:
            parts.append(self.container)
            if self.obj is not None:
                parts.append(self.obj)
        return "/".join(parts)

    def subrequest(self, method: str, account: str, container: str | None, obj: str | None = None,
                   query: dict[str, str] | None = None, headers: Mapping[str, str] | None = None,
                   body: bytes = b"") -> SwiftRequest:
        """A request by the same caller (identity, temp URL grant) for another path: body-less unless
        ``body`` is given (small, in memory), with ``headers`` added to the caller's forwarded ones.

        What a feature sends through the rest of the pipeline; ``proxy.swift.access.authorize``
        looks its operation up and checks it like any request (proxy/pipeline.py).
        """
        forwarded = {k: v for k, v in self.headers.items() if k.lower() in SUBREQUEST_HEADERS}
        forwarded.update(headers or {})
        if body:
            forwarded["Content-Length"] = str(len(body))
        raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in forwarded.items()]
        path = "/v1/" + quote(account, safe="")
        if container is not None:
            path += "/" + quote(container, safe="")
            if obj is not None:
                path += "/" + quote(obj)
        scope = dict(self.request.scope, method=method, headers=raw_headers, path=path, raw_path=path.encode(),
                     query_string=urlencode(query or {}).encode())

        async def receive() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        return SwiftRequest(request=ProxyRequest(scope, receive), state=self.state, account=account,
                            container=container, obj=obj, query=dict(query or {}), trans_id=self.trans_id,
                            identity=self.identity, authorized_by=self.authorized_by,
                            tempurl_scope=self.tempurl_scope,
                            open_expired=self.open_expired and method in ("GET", "HEAD"))
