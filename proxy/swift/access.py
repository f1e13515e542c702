"""The Swift API's authentication and authorization stages of the feature pipeline.

``Authenticate`` turns a token into ``req.identity``; ``authorize`` checks the access the router
table's entry (proxy/swift/operations.py) names, once per request. A feature that issues a
sub-request as the caller sends it through ``authorize(sub, call_next)`` so it is checked the same way;
a handler that touches a second path (a copy's source or destination) asks ``check`` about the
sub-request that path amounts to. Large objects read their segments with ``segment_access``: each
segment (or DLO listing) is checked as the caller's GET sub-request of it.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.responses import Response

from proxy.auth import account_acl
from proxy.auth.authorize import check_access, denied_response
from proxy.auth.base import AuthBackend, request_token
from proxy.auth.resellers import resellers_of, with_service_groups
from proxy.context import Identity
from proxy.large_objects.access import SegmentAccess
from proxy.pipeline import Handler
from proxy.swift import operations
from proxy.swift.context import SwiftRequest
from proxy.swift.operations import Access
from proxy.symlinks import symloop_max

# the verb whose rules ``check_access`` applies for each access level
ACCESS_VERB = {Access.READ: "GET", Access.WRITE: "POST", Access.RESELLER: "PUT"}


class Authenticate:
    """Pipeline stage: ``req.identity`` from a token one of the backends (TempAuth, Keystone) issued.

    No token: anonymous (authorization decides). A token no backend accepts: 401. Requests a temp URL
    already authorized pass untouched.
    """

    def __init__(self, backends: Sequence[AuthBackend]):
        self.backends = list(backends)

    async def __call__(self, req: SwiftRequest, call_next: Handler) -> Response:
        if req.authorized_by != "tempurl":
            token = request_token(req.request)
            if token is not None:
                backend = next((b for b in self.backends if b.owns_token(token)), None)
                identity = await backend.authenticate(req.request) if backend is not None else None
                if identity is None:
                    return denied_response(401, req.account)
                req.identity = with_service_groups(identity, await self.service_identity(req))
        return await call_next(req)

    async def service_identity(self, req: SwiftRequest) -> Identity | None:
        """The identity of a valid ``X-Service-Token`` (its groups join the caller's), else None:
        an invalid service token adds nothing, as in Swift."""
        token = req.headers.get("x-service-token")
        if not token:
            return None
        backend = next((b for b in self.backends if b.owns_token(token)), None)
        if backend is None:
            return None
        return await backend.authenticate_token(token)


async def check(req: SwiftRequest) -> Response | None:
    """None when the identity has the access ``req.operation`` needs, else the 401/403 answer.

    Looks the operation up in the router table when the request has none yet (a sub-request)."""
    if req.operation is None:
        req.operation = operations.lookup(req)
    access = req.operation.access
    if req.authorized_by in ("tempurl", "container_sync"):  # a signature's scope (container sync: its container)
        return tempurl_check(req)
    # a signed form (formpost's uploads) authorized exactly this request
    if access is Access.PUBLIC or req.authorized_by == "formpost":
        return None
    status = await check_access(req.state, req.identity, req.account, req.container, req.obj,
                                ACCESS_VERB[access], req.headers.get("referer"), resellers_of(req.state.conf))
    if status is not None:
        return denied_response(status, req.account)
    if not req.is_owner:  # an account ACL "admin" is an owner (sees and sets ACLs, temp URL keys)
        req.account_acl_level = await account_acl.account_level(req.state, req.identity, req.account,
                                                                resellers_of(req.state.conf).primary)
    return None


def tempurl_check(req: SwiftRequest) -> Response | None:
    """A temp URL's request or sub-request: None inside the signing key's scope (``req.tempurl_scope``),
    else 401, as Swift's ``authorize_same_account`` / ``authorize_same_container`` answer."""
    scope = req.tempurl_scope
    if scope is not None and scope.allows(req.account, req.container):
        return None
    return denied_response(401, req.account)


async def authorize(req: SwiftRequest, call_next: Handler) -> Response:
    """Pipeline stage: 401/403 unless the identity has the access ``req.operation`` needs (``check``)."""
    return await check(req) or await call_next(req)


def segment_access(req: SwiftRequest) -> SegmentAccess:
    """The caller's read rights on segments in ``req.account``, each asked as a GET sub-request by the
    caller (``check``): container read ACLs, referrer ACLs (``.rlistings`` for a DLO's listing) and temp
    URL grants (within the signing key's scope) count as they do for the caller's own GETs, as in
    Swift's SLO/DLO middlewares. A segment that is a symlink is followed (``symloop_max`` links), its
    target checked the same way in the target's account."""

    async def may_read(account: str, container: str, obj: str | None) -> int | None:
        denied = await check(req.subrequest("GET", account, container, obj))
        return None if denied is None else denied.status_code

    return SegmentAccess(may_read, req.account, link_hops=symloop_max(req.state.conf))
