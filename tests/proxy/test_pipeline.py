"""The Swift router table, the feature pipeline's composition, and the proxy's import layering."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import pytest
from starlette.requests import Request
from starlette.responses import Response

from proxy.context import Identity, ProxyState
from proxy.http.errors import HTTPError
from proxy.pipeline import build, swift_features
from proxy.swift import operations
from proxy.swift.access import Authenticate, authorize
from proxy.swift.context import SwiftRequest
from proxy.swift.features import (
    account_quotas,
    bulk,
    container_quotas,
    container_sync,
    cors,
    dlo,
    etag_quoter,
    extract_archive,
    formpost,
    object_versioning,
    open_expired,
    slo,
    staticweb,
    symlink,
    tempurl_stage,
    versioned_writes,
)
from proxy.swift.operations import Access

PROXY = Path(__file__).resolve().parents[2] / "proxy"


def _request(method: str, account: str = "AUTH_a", container: str | None = None, obj: str | None = None,
             query: dict[str, str] | None = None, headers: dict[str, str] | None = None,
             state: ProxyState | None = None) -> SwiftRequest:
    scope = {"type": "http", "method": method, "path": "/v1/x", "raw_path": b"/v1/x", "query_string": b"",
             "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]}
    return SwiftRequest(Request(scope), state or ProxyState(conf={}, client=None), account, container, obj,  # type: ignore[arg-type]
                        query or {}, "tx")


@pytest.mark.parametrize("method, depth, query, headers, name, access", [
    ("GET", "account", {}, {}, "list_containers", Access.READ),
    ("POST", "account", {"bulk-delete": ""}, {}, operations.BULK_DELETE, Access.PUBLIC),
    ("DELETE", "account", {"bulk-delete": ""}, {}, operations.BULK_DELETE, Access.PUBLIC),
    ("GET", "account", {"bulk-delete": ""}, {}, "list_containers", Access.READ),
    ("PUT", "account", {}, {}, "put_account", Access.RESELLER),
    ("DELETE", "account", {}, {}, "delete_account", Access.RESELLER),
    ("POST", "account", {}, {}, "post_account", Access.WRITE),
    ("PUT", "container", {}, {}, "put_container", Access.WRITE),
    ("HEAD", "container", {}, {}, "head_container", Access.READ),
    ("GET", "object", {"multipart-manifest": "get"}, {}, "get_object", Access.READ),
    ("PUT", "object", {"multipart-manifest": "put"}, {}, operations.PUT_SLO_MANIFEST, Access.WRITE),
    ("PUT", "object", {"multipart-manifest": "get"}, {}, "put_object", Access.WRITE),
    ("PUT", "object", {"multipart-manifest": "put"}, {"X-Copy-From": "/c/o"}, "copy_from", Access.WRITE),
    ("DELETE", "object", {"multipart-manifest": "delete"}, {}, operations.DELETE_SLO, Access.WRITE),
    ("DELETE", "object", {}, {}, "delete_object", Access.WRITE),
    ("COPY", "object", {}, {"Destination": "/c/o2"}, "copy_object", Access.READ),
    ("OPTIONS", "object", {}, {}, "options", Access.PUBLIC),
    ("PATCH", "object", {}, {}, "method_not_allowed", Access.WRITE),
    ("COPY", "container", {}, {}, "method_not_allowed", Access.WRITE),
])
def test_router_table(method, depth, query, headers, name, access):
    container = None if depth == "account" else "c"
    obj = "o" if depth == "object" else None
    op = operations.lookup(_request(method, container=container, obj=obj, query=query, headers=headers))
    assert (op.name, op.access) == (name, access)


def test_unknown_verb_answers_405_with_allow():
    req = _request("PATCH", container="c", obj="o")
    resp = asyncio.run(operations.lookup(req).handler(req))
    assert resp.status_code == 405
    assert resp.headers["Allow"] == "GET, HEAD, PUT, POST, DELETE, COPY, OPTIONS"


def test_swift_pipeline_order():
    features = swift_features([])
    assert features[:4] == [cors.feature, etag_quoter.feature, tempurl_stage.feature, formpost.feature]
    assert isinstance(features[4], Authenticate)
    assert features[5:8] == [open_expired.feature, container_sync.feature, staticweb.feature]
    assert features[8] is authorize and features[9] is container_sync.settings
    assert features[10:] == [bulk.feature, extract_archive.feature, container_quotas.feature,
                            account_quotas.feature, object_versioning.feature, versioned_writes.feature,
                            symlink.feature, slo.feature, dlo.feature]


def test_build_nests_features_in_order_and_answers_errors():
    calls: list[str] = []

    def tracing(label: str):
        async def feature(req, call_next):
            calls.append(f"{label}>")
            resp = await call_next(req)
            calls.append(f"<{label}:{resp.status_code}")
            return resp
        return feature

    async def failing(req):
        calls.append("endpoint")
        raise HTTPError(412, "nope")

    handler = build([tracing("a"), tracing("b")], failing)
    resp = asyncio.run(handler(object()))
    assert resp.status_code == 412
    assert calls == ["a>", "b>", "endpoint", "<b:412", "<a:412"]

    async def not_implemented(req):
        raise NotImplementedError

    assert asyncio.run(build([], not_implemented)(object())).status_code == 501


def test_requests_pass_only_the_features_that_act_on_their_operation():
    """``handles``: a feature declaring operations/verbs is skipped by other requests; a sub-request sent
    into the rest of the pipeline passes the features below that act on its own operation."""
    from types import SimpleNamespace

    from proxy.pipeline import handles

    calls: list[str] = []

    def tracing(label: str, sub: object | None = None):
        async def feature(req, call_next):
            calls.append(f"{label}:{req.operation.name}")
            if sub is not None and req.operation.name == "bulk_delete":
                await call_next(sub)
            return await call_next(req)
        return feature

    def request(name: str, method: str):
        return SimpleNamespace(operation=SimpleNamespace(name=name), method=method)

    async def endpoint(req):
        calls.append(f"end:{req.operation.name}")
        return Response(b"", 204)

    delete = request("delete_object", "DELETE")
    features = [tracing("all"), handles(operations={"bulk_delete"})(tracing("bulk", sub=delete)),
                handles(methods={"GET", "HEAD"})(tracing("reads")), handles(methods={"DELETE"})(tracing("deletes"))]
    handler = build(features, endpoint)
    for _ in range(2):  # the second time from the cached positions
        calls.clear()
        assert asyncio.run(handler(request("get_object", "GET"))).status_code == 204
        assert calls == ["all:get_object", "reads:get_object", "end:get_object"]
    calls.clear()
    asyncio.run(handler(request("bulk_delete", "POST")))
    assert calls == ["all:bulk_delete", "bulk:bulk_delete", "deletes:delete_object", "end:delete_object",
                     "end:bulk_delete"]


class _Info:
    """Enough of StorageClient for container_info: every container exists, no ACLs."""

    async def head_container(self, account, container, headers=None):
        from objclient.response import BackendResponse
        return BackendResponse.simple(204, {})

    async def head_account(self, account, headers=None):
        from objclient.response import BackendResponse
        return BackendResponse.simple(204, {})


def test_authorize_checks_the_table_entry_once_per_request_and_subrequest():
    state = ProxyState(conf={}, client=_Info())  # type: ignore[arg-type]
    reached: list[str] = []

    async def endpoint(req):
        reached.append(req.operation.name)
        return Response(b"", status_code=204)

    stranger = Identity(user="o:u", account="AUTH_o")
    owner = Identity(user="a:admin", account="AUTH_a", is_admin=True)

    async def scenario():
        req = _request("DELETE", container="c", obj="o", state=state)
        req.identity = stranger
        denied = await authorize(req, endpoint)
        req.identity = owner
        allowed = await authorize(req, endpoint)
        # a sub-request has no operation yet: authorize looks it up and checks it as the caller
        sub = req.subrequest("PUT", "AUTH_a", None)
        reseller_only = await authorize(sub, endpoint)
        listing = await authorize(req.subrequest("GET", "AUTH_a", "c"), endpoint)
        return denied, allowed, reseller_only, listing, sub

    denied, allowed, reseller_only, listing, sub = asyncio.run(scenario())
    assert denied.status_code == 403 and allowed.status_code == 204 and reseller_only.status_code == 403
    assert listing.status_code == 204
    assert sub.identity is owner and sub.operation.name == "put_account"
    assert reached == ["delete_object", "list_objects"]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("package", ["s3", "large_objects", "auth", "http"])
def test_shared_layers_do_not_import_the_swift_api(package):
    offenders = {str(p.relative_to(PROXY)): sorted(m for m in _imports(p) if m.startswith("proxy.swift"))
                 for p in (PROXY / package).rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}
    for module in ("context.py", "infocache.py"):
        assert not [m for m in _imports(PROXY / module) if m.startswith(("proxy.swift", "proxy.s3"))]


@pytest.mark.parametrize("package", ["store", "objclient", "ring", "stackstore", "volumes", "compute_shim",
                                     "identity", "images"])
def test_nothing_outside_the_proxy_imports_it(package):
    """The layers under and beside the proxy (storage nodes, the internal client, the block, compute, image
    and identity services) reach the cluster through objclient, never through the proxy package."""
    root = PROXY.parent / package
    offenders = {str(p.relative_to(root.parent)): sorted(m for m in _imports(p) if m == "proxy" or
                                                          m.startswith("proxy."))
                 for p in root.rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}
