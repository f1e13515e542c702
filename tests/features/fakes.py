"""An in-memory stand-in for StorageClient and a tiny app: the real Swift feature pipeline over a
fake object controller.

Lets the feature modules be tested without storage nodes or the real proxy app; the cluster
tests in this folder check the same behaviour end to end.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator, Mapping
from urllib.parse import parse_qsl, unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from objclient.response import BackendResponse
from proxy.context import Identity, ProxyState
from proxy.large_objects.response import ManifestResponse
from proxy.pipeline import Handler, build, swift_features
from proxy.swift import operations
from proxy.swift.access import Authenticate
from proxy.swift.context import SwiftRequest
from stackstore.timestamp import Timestamp

PERSIST = ("content-type", "x-object-manifest", "x-static-large-object", "content-disposition")


class FakeStorage:
    """Objects, containers and accounts in dicts; enough of StorageClient for the features."""

    def __init__(self):
        self.objects: dict[tuple[str, str, str], tuple[bytes, dict[str, str]]] = {}
        self.containers: dict[tuple[str, str], dict[str, str]] = {}
        self.accounts: dict[str, dict[str, str]] = {}
        self.deleted: list[tuple[str, str, str]] = []

    def put(self, account: str, container: str, obj: str, data: bytes, **headers: str) -> str:
        self.containers.setdefault((account, container), {})
        ts = Timestamp.now()
        meta = {"Etag": hashlib.md5(data).hexdigest(), "X-Timestamp": ts.normal,
                "Last-Modified": ts.http_date, "Content-Type": "application/octet-stream"}
        meta.update({k.replace("_", "-"): v for k, v in headers.items()})
        self.objects[(account, container, obj)] = (data, meta)
        return meta["Etag"]

    # -- objects
    async def head_object(self, account, container, obj, headers=None):
        found = self.objects.get((account, container, obj))
        if found is None:
            return BackendResponse.simple(404)
        data, meta = found
        return BackendResponse.simple(200, {**meta, "Content-Length": str(len(data))})

    async def get_object(self, account, container, obj, headers=None):
        found = self.objects.get((account, container, obj))
        if found is None:
            return BackendResponse.simple(404)
        data, meta = found
        rng = (headers or {}).get("Range")
        if rng:
            first, _, last = rng.split("=", 1)[1].partition("-")
            lo, hi = int(first), min(int(last), len(data) - 1)
            if lo >= len(data):
                return BackendResponse.simple(416, {"Content-Range": f"bytes */{len(data)}"})
            return BackendResponse(206, {**meta, "Content-Length": str(hi - lo + 1)}, _chunks(data[lo:hi + 1]))
        return BackendResponse(200, {**meta, "Content-Length": str(len(data))}, _chunks(data))

    async def put_object(self, account, container, obj, headers, body, content_length=None, condition=None):
        if (account, container) not in self.containers:
            return BackendResponse.simple(404)
        if condition and (account, container, obj) in self.objects:
            return BackendResponse.simple(412)
        data = b"".join([c async for c in body])
        keep = {k: v for k, v in headers.items()
                if k.lower() in PERSIST or k.lower().startswith(("x-object-meta-", "x-object-sysmeta-"))}
        etag = self.put(account, container, obj, data, **keep)
        return BackendResponse.simple(201, {"Etag": etag, "Last-Modified": "x"})

    async def delete_object(self, account, container, obj, headers=None):
        self.deleted.append((account, container, obj))
        if self.objects.pop((account, container, obj), None) is None:
            return BackendResponse.simple(404)
        return BackendResponse.simple(204)

    # -- containers and accounts
    async def head_container(self, account, container, headers=None):
        meta = self.containers.get((account, container))
        return BackendResponse.simple(404) if meta is None else BackendResponse.simple(204, meta)

    async def delete_container(self, account, container, headers=None):
        if (account, container) not in self.containers:
            return BackendResponse.simple(404)
        if any(k[:2] == (account, container) for k in self.objects):
            return BackendResponse.simple(409)
        del self.containers[(account, container)]
        return BackendResponse.simple(204)

    async def list_container(self, account, container, *, prefix=None, delimiter=None, marker=None,
                             end_marker=None, limit=10000, reverse=False):
        if (account, container) not in self.containers:
            return BackendResponse.simple(404), []
        rows = []
        for (a, c, o), (data, meta) in sorted(self.objects.items()):
            if (a, c) == (account, container) and o.startswith(prefix or "") and (not marker or o > marker):
                rows.append({"name": o, "bytes": len(data), "hash": meta["Etag"],
                             "content_type": meta["Content-Type"], "last_modified": ""})
        return BackendResponse.simple(200), rows[:limit]

    async def head_account(self, account, headers=None):
        return BackendResponse.simple(204, self.accounts.get(account, {}))


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for i in range(0, len(data), 7):  # small odd chunks to exercise boundaries
        yield data[i:i + 7]


TRUSTED = Identity(user="fake:reseller", account="", is_reseller=True)  # allowed everywhere


def make_app(storage: FakeStorage, identity: Identity | None = None) -> Starlette:
    """Route ``/v1/<acct>/<cont>/<obj>`` through the Swift feature pipeline to a fake object controller.

    Requests act as ``identity`` (default: allowed everywhere) instead of presenting a token.
    """
    state = ProxyState(conf={}, client=storage)  # type: ignore[arg-type]
    features = [_acting_as(identity or TRUSTED) if isinstance(f, Authenticate) else f for f in swift_features([])]
    pipeline = build(features, _controller(storage))

    async def endpoint(request: Request) -> Response:
        raw = request.scope["raw_path"].decode().split("?", 1)[0]
        parts = unquote(raw).split("/", 4)[2:]
        account, container, obj = (parts + [None, None])[:3]
        query = dict(parse_qsl(request.url.query, keep_blank_values=True))
        req = SwiftRequest(request, state, account, container, obj, query, "tx-test")
        req.operation = operations.lookup(req)
        return await pipeline(req)

    return Starlette(routes=[Route("/v1/{path:path}", endpoint,
                                   methods=["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS"])])


def _acting_as(identity: Identity):
    """Stands in for the authenticate stage: every request (bar temp URLs) acts as ``identity``."""

    async def stage(req: SwiftRequest, call_next: Handler) -> Response:
        if req.authorized_by != "tempurl":
            req.identity = identity
        return await call_next(req)

    return stage


def _controller(storage: FakeStorage) -> Handler:
    """The controllers' part the features rely on: plain GET/HEAD/PUT/DELETE, manifests handed on."""

    async def controller(req: SwiftRequest) -> Response:
        method = req.method
        if method in ("GET", "HEAD"):
            getter = storage.get_object if method == "GET" else storage.head_object
            resp = await getter(req.account, req.container, req.obj, dict(req.headers))
            large = resp.headers.get("x-static-large-object") or resp.headers.get("x-object-manifest")
            if large and (req.query.get("multipart-manifest") != "get" or resp.headers.get("x-static-large-object")):
                return ManifestResponse(resp, _plain(resp.headers), method == "HEAD")
            body = await resp.read()
            return Response(body if method == "GET" else b"", status_code=resp.status,
                            headers=_plain(resp.headers))
        if method == "PUT":
            data = await req.request.body()
            resp = await storage.put_object(req.account, req.container, req.obj, dict(req.headers), _once(data))
            return Response(b"", status_code=resp.status, headers={"Etag": resp.headers.get("etag", "")})
        if method == "DELETE":
            if req.obj is None:
                resp = await storage.delete_container(req.account, req.container)
            else:
                resp = await storage.delete_object(req.account, req.container, req.obj)
            return Response(b"", status_code=resp.status)
        return Response(b"", status_code=405)

    return controller


def _plain(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() not in ("content-length",)}


async def _once(data: bytes):
    yield data


def now() -> int:
    return int(time.time())
