"""The Swift API's router table: (verb, path depth, distinguishing query/header) → operation.

Each operation names its handler and the access it needs; ``proxy.swift.access.authorize`` checks
that access once per request (sub-requests included) before any handler runs. Operations a
pipeline feature answers (bulk delete, SLO manifests) are claimed by name; their handler here only
answers when that feature is not in the pipeline.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from starlette.responses import Response

from proxy.http.errors import error_response

if TYPE_CHECKING:
    from proxy.swift.context import SwiftRequest

SwiftHandler = Callable[["SwiftRequest"], Awaitable[Response]]

# operation names the pipeline features claim
BULK_DELETE = "bulk_delete"
PUT_SLO_MANIFEST = "put_slo_manifest"
DELETE_SLO = "delete_slo"
EXTRACT_ARCHIVE = "extract_archive"

ACCOUNT, CONTAINER, OBJECT = "account", "container", "object"

# the table's operation names by the path depth they occur at: what pipeline features declare they act on
# (``proxy.pipeline.handles``); tests/unit/test_pipeline_handles.py checks them against the table
ACCOUNT_OPERATIONS = frozenset({"list_containers", "head_account", "post_account", "put_account", "delete_account"})
CONTAINER_OPERATIONS = frozenset({"list_objects", "head_container", "put_container", "post_container",
                                  "delete_container"})
OBJECT_OPERATIONS = frozenset({"get_object", "head_object", "copy_from", PUT_SLO_MANIFEST, "put_object", "post_object",
                               DELETE_SLO, "delete_object", "copy_object"})
ANY_DEPTH_OPERATIONS = frozenset({BULK_DELETE, EXTRACT_ARCHIVE, "options", "method_not_allowed"})
ALLOWED = {
    ACCOUNT: ("GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS"),
    CONTAINER: ("GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS"),
    OBJECT: ("GET", "HEAD", "PUT", "POST", "DELETE", "COPY", "OPTIONS"),
}


class Access(StrEnum):
    """What the identity must be allowed on the request's path (see ``proxy.auth.authorize.check_access``)."""

    PUBLIC = "public"  # nothing checked here: the feature or handler authorizes what it touches
    READ = "read"  # GET/HEAD rights: owner, reader role, container read ACL (objects, listings)
    WRITE = "write"  # owner; container write ACL for objects; the account's admin for account metadata
    RESELLER = "reseller"  # create or delete accounts


@dataclass(frozen=True)
class Operation:
    """One row of the table."""

    name: str
    access: Access
    handler: SwiftHandler


@dataclass(frozen=True)
class Route:
    """``method`` on a path of ``depth``, when ``query`` (a parameter, ``name=value`` for an exact
    value) and ``header`` are present."""

    method: str
    depth: str
    operation: Operation
    query: str | None = None
    header: str | None = None

    def matches(self, req: SwiftRequest, depth: str) -> bool:
        if self.method != req.method or self.depth != depth:
            return False
        if self.header is not None and self.header not in req.headers:
            return False
        if self.query is None:
            return True
        name, sep, value = self.query.partition("=")
        return name in req.query and (not sep or req.query[name] == value)


def depth_of(req: SwiftRequest) -> str:
    """``account``, ``container`` or ``object``."""
    if req.obj is not None:
        return OBJECT
    return CONTAINER if req.container is not None else ACCOUNT


async def allow_options(req: SwiftRequest) -> Response:
    """``OPTIONS`` that is no CORS preflight: 200 with ``Allow``."""
    return Response(b"", status_code=200, headers={"Allow": ", ".join(ALLOWED[depth_of(req)])})


async def method_not_allowed(req: SwiftRequest) -> Response:
    """Swift's 405 for a verb the path does not support, with ``Allow``."""
    return error_response(405, headers={"Allow": ", ".join(ALLOWED[depth_of(req)])})


async def feature_missing(req: SwiftRequest) -> Response:
    """A feature operation whose feature is not in the pipeline."""
    return error_response(501)


def _table() -> list[Route]:
    from proxy.swift import account, container, copy, obj, obj_get

    def op(name: str, access: Access, handler: SwiftHandler) -> Operation:
        return Operation(name, access, handler)

    options = op("options", Access.PUBLIC, allow_options)
    return [
        # first match wins: special forms before the plain verb
        Route("POST", ACCOUNT, op(BULK_DELETE, Access.PUBLIC, feature_missing), query="bulk-delete"),
        Route("DELETE", ACCOUNT, op(BULK_DELETE, Access.PUBLIC, feature_missing), query="bulk-delete"),
        Route("GET", ACCOUNT, op("list_containers", Access.READ, account.get)),
        Route("HEAD", ACCOUNT, op("head_account", Access.READ, account.head)),
        Route("POST", ACCOUNT, op("post_account", Access.WRITE, account.post)),
        # ?extract-archive: every container and file is checked as a sub-request by the caller
        Route("PUT", ACCOUNT, op(EXTRACT_ARCHIVE, Access.PUBLIC, feature_missing), query="extract-archive"),
        Route("PUT", ACCOUNT, op("put_account", Access.RESELLER, account.put)),
        Route("DELETE", ACCOUNT, op("delete_account", Access.RESELLER, account.delete)),
        Route("OPTIONS", ACCOUNT, options),
        Route("GET", CONTAINER, op("list_objects", Access.READ, container.get)),
        Route("HEAD", CONTAINER, op("head_container", Access.READ, container.head)),
        # ?bulk-delete at any depth, as Swift's bulk middleware: the body names the paths, each checked
        Route("POST", CONTAINER, op(BULK_DELETE, Access.PUBLIC, feature_missing), query="bulk-delete"),
        Route("DELETE", CONTAINER, op(BULK_DELETE, Access.PUBLIC, feature_missing), query="bulk-delete"),
        Route("PUT", CONTAINER, op(EXTRACT_ARCHIVE, Access.PUBLIC, feature_missing), query="extract-archive"),
        Route("PUT", CONTAINER, op("put_container", Access.WRITE, container.put)),
        Route("POST", CONTAINER, op("post_container", Access.WRITE, container.post)),
        Route("DELETE", CONTAINER, op("delete_container", Access.WRITE, container.delete)),
        Route("OPTIONS", CONTAINER, options),
        Route("GET", OBJECT, op("get_object", Access.READ, obj_get.get_or_head)),
        Route("HEAD", OBJECT, op("head_object", Access.READ, obj_get.get_or_head)),
        Route("POST", OBJECT, op(BULK_DELETE, Access.PUBLIC, feature_missing), query="bulk-delete"),
        Route("DELETE", OBJECT, op(BULK_DELETE, Access.PUBLIC, feature_missing), query="bulk-delete"),
        Route("PUT", OBJECT, op(EXTRACT_ARCHIVE, Access.PUBLIC, feature_missing), query="extract-archive"),
        Route("PUT", OBJECT, op("copy_from", Access.WRITE, copy.copy_from), header="x-copy-from"),
        Route("PUT", OBJECT, op(PUT_SLO_MANIFEST, Access.WRITE, feature_missing), query="multipart-manifest=put"),
        Route("PUT", OBJECT, op("put_object", Access.WRITE, obj.put)),
        Route("POST", OBJECT, op("post_object", Access.WRITE, obj.post)),
        Route("DELETE", OBJECT, op(DELETE_SLO, Access.WRITE, feature_missing), query="multipart-manifest=delete"),
        Route("DELETE", OBJECT, op("delete_object", Access.WRITE, obj.delete)),
        # COPY reads its source here; copy_verb checks the destination as a PUT sub-request
        Route("COPY", OBJECT, op("copy_object", Access.READ, copy.copy_verb)),
        Route("OPTIONS", OBJECT, options),
    ]


_TABLE: dict[tuple[str, str], list[Route]] | None = None  # (method, depth) -> its routes, in table order
NOT_ALLOWED = Operation("method_not_allowed", Access.WRITE, method_not_allowed)


def _indexed() -> dict[tuple[str, str], list[Route]]:
    index: dict[tuple[str, str], list[Route]] = {}
    for route in _table():
        index.setdefault((route.method, route.depth), []).append(route)
    return index


def lookup(req: SwiftRequest) -> Operation:
    """The operation ``req`` asks for; an unknown verb gets Swift's 405 (checked as a write first).
    Only the routes of the request's verb and depth are tried, in table order (first match wins)."""
    global _TABLE
    if _TABLE is None:
        _TABLE = _indexed()
    depth = depth_of(req)
    for route in _TABLE.get((req.method, depth), ()):
        if route.matches(req, depth):
            return route.operation
    return NOT_ALLOWED
