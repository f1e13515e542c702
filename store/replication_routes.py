"""Replication endpoints of a storage node (peer to peer, never through the proxy).

| path | body -> answer |
|---|---|
| ``POST /replicate/obj/{device}`` | ``{"partitions": [...]}`` -> ``{partition: {suffix: hash}}`` |
| ``POST /replicate/obj/{device}/{partition}`` | ``{"recalc": [suffix...]}`` -> ``{suffix: hash}`` |
| ``POST /replicate/obj/{device}/{partition}/check`` | ``{hash: [files]}`` -> ``{hash: [wanted files]}`` |
| ``POST /replicate/obj/{device}/{partition}/sync`` | framed file stream -> ``{"written", "skipped"}`` |
| ``POST /replicate/db/{kind}/{device}/{partition}`` | ``{}`` -> ``{key hex: digest}`` |
| same | ``{"senders": {key hex: [uid, seq, digest]}}`` -> ``{"digests": {...}, "points": {key hex: seq}}`` |
| ``POST /replicate/db/{kind}/{device}/{partition}/merge`` | ``{"items": [...]}`` -> ``{"merged": rows}`` |
| ``GET /replicate/partitions`` | -> ``{device: {partition: {suffix: hash}}}`` of local object devices |
| ``GET /replicate/stats`` | -> replicator pass statistics |
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from stackstore.storage_policies import object_ring_name
from store.io_threads import run_blocking
from store.layout import device_path, list_partitions, partition_path
from store.listing_changes import UID_LEN
from store.listing_reclaim import cutoff_ticks
from store.listings import HASH_LEN
from store.node import Node
from store.replication import db_sync, receiver
from store.replication.framing import FrameReader, StreamTruncated
from store.replication.service import replication_for
from store.replication.suffix_hashes import get_hashes
from store.reqparse import DEVICE_RE, HTTPError

T = TypeVar("T")
log = logging.getLogger("store.replication")


def _target(request: Request) -> tuple[str, int]:
    device, part = request.path_params["device"], request.path_params["partition"]
    if not DEVICE_RE.match(device) or device in (".", "..") or not part.isdigit() or len(part) > 10:
        raise HTTPError(400, "bad device or partition")
    return device, int(part)


def _policy(node: Node, request: Request) -> int:
    """The storage policy of an object replication request (``?policy=<N>``, default 0); 400 if unknown."""
    raw = request.query_params.get("policy")
    if raw is None:
        return 0
    policy = node.policies.by_index(raw)
    if policy is None:
        raise HTTPError(400, "unknown storage policy")
    return policy.index


async def _json(request: Request) -> Any:
    try:
        body = await request.body()
        return json.loads(body) if body else {}
    except (ValueError, ClientDisconnect):
        raise HTTPError(400, "bad JSON body") from None


def _handler(fn: Callable[[Node, Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """Wraps a route so HTTPError becomes its response."""
    @functools.wraps(fn)
    async def wrapper(request: Request) -> Response:
        try:
            node: Node = request.app.state.node
            return await fn(node, request)
        except HTTPError as exc:
            return exc.response()
    return wrapper


async def _in_thread(node: Node, fn: Callable[..., T], *args: Any) -> T:
    return await run_blocking(node.executor, fn, *args)


@_handler
async def obj_hashes(node: Node, request: Request) -> Response:
    device, part = _target(request)
    body = await _json(request)
    recalc = [s for s in body.get("recalc", []) if isinstance(s, str) and len(s) == 3] if isinstance(body, dict) else []
    reclaim = replication_for(node).settings.reclaim_age
    return JSONResponse(await receiver.suffix_hashes(node, device, part, recalc, reclaim, _policy(node, request)))


def _bulk_hashes(node: Node, device: str, parts: list[int], reclaim_age: float,
                 policy: int = 0) -> dict[str, dict[str, str]]:
    path = node.device_path(device)
    return {str(p): get_hashes(partition_path(path, p, policy), reclaim_age) for p in parts}


@_handler
async def obj_bulk_hashes(node: Node, request: Request) -> Response:
    device = request.path_params["device"]
    if not DEVICE_RE.match(device) or device in (".", ".."):
        raise HTTPError(400, "bad device")
    body = await _json(request)
    parts = body.get("partitions") if isinstance(body, dict) else None
    if not isinstance(parts, list) or not all(isinstance(p, int) and 0 <= p < 2**32 for p in parts):
        raise HTTPError(400, "bad partitions")
    reclaim = replication_for(node).settings.reclaim_age
    return JSONResponse(await _in_thread(node, _bulk_hashes, node, device, parts, reclaim, _policy(node, request)))


@_handler
async def obj_check(node: Node, request: Request) -> Response:
    device, part = _target(request)
    offers = await _json(request)
    if not isinstance(offers, dict):
        raise HTTPError(400, "bad offer")
    return JSONResponse(await _in_thread(node, receiver.check_offers, node, device, part, offers,
                                         _policy(node, request)))


@_handler
async def obj_sync(node: Node, request: Request) -> Response:
    device, part = _target(request)
    policy = _policy(node, request)
    try:
        result = await receiver.receive_stream(node, device, part, FrameReader(aiter(request.stream())),
                                               policy=policy)
    except (StreamTruncated, ClientDisconnect) as exc:
        log.warning("replication stream to %s/%s truncated: %r", device, part, exc)
        raise HTTPError(499, "stream truncated") from None
    except (ValueError, KeyError) as exc:
        log.warning("bad replication stream to %s/%s: %r", device, part, exc)
        raise HTTPError(400, "bad stream") from None
    except OSError as exc:
        log.warning("replication stream to %s/%s failed: %r", device, part, exc)
        raise HTTPError(507, "device write failed") from exc
    return JSONResponse(result)


def _kind(request: Request) -> db_sync.DBKind:
    kind = db_sync.KINDS.get(request.path_params["kind"])
    if kind is None:
        raise HTTPError(400, "bad kind")
    return kind


def _senders(body: Any) -> dict[str, list] | None:
    """``{key hex: [sender uid hex, seq, digest]}`` of a digest request (None: an old-style request)."""
    senders = body.get("senders") if isinstance(body, dict) else None
    if senders is None:
        return None
    if isinstance(senders, dict) and all(_sender_ok(k, v) for k, v in senders.items()):
        return senders
    raise HTTPError(400, "bad senders")


def _sender_ok(key_hex: Any, value: Any) -> bool:
    try:
        uid_hex, seq, digest = value
        return (len(bytes.fromhex(key_hex)) == HASH_LEN and len(bytes.fromhex(uid_hex)) == UID_LEN
                and isinstance(seq, int) and seq >= 0 and isinstance(digest, str))
    except (TypeError, ValueError):
        return False


@_handler
async def db_digests(node: Node, request: Request) -> Response:
    kind, (device, part) = _kind(request), _target(request)
    senders = _senders(await _json(request))
    store = kind.store(node, device)
    if senders is None:
        return JSONResponse(await _in_thread(node, db_sync.digests, store, part))
    return JSONResponse(await _in_thread(node, db_sync.peer_view, store, part, senders))


@_handler
async def db_merge(node: Node, request: Request) -> Response:
    kind, (device, part) = _kind(request), _target(request)
    body = await _json(request)
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise HTTPError(400, "bad items")
    store = kind.store(node, device)
    cutoff = cutoff_ticks(replication_for(node).settings.reclaim_age)
    merged = 0
    try:
        for item in items:
            merged += await _in_thread(node, db_sync.merge, kind, store, part, item, cutoff)
    except (KeyError, TypeError, ValueError, IndexError):
        raise HTTPError(400, "bad item") from None
    return JSONResponse({"merged": merged})


def _all_partition_hashes(node: Node, policy: int = 0) -> dict[str, dict[str, dict[str, str]]]:
    svc = replication_for(node)
    out: dict[str, dict[str, dict[str, str]]] = {}
    for dev in svc.view.local_devices(object_ring_name(policy)):
        path = device_path(node.devices_root, dev.device)
        out[dev.device] = {str(p): get_hashes(partition_path(path, p, policy), svc.settings.reclaim_age)
                           for p in list_partitions(path, policy)}
    return out


@_handler
async def partitions(node: Node, request: Request) -> Response:
    return JSONResponse(await _in_thread(node, _all_partition_hashes, node, _policy(node, request)))


@_handler
async def stats(node: Node, request: Request) -> Response:
    return JSONResponse(replication_for(node).stats())


routes = [
    Route("/replicate/obj/{device}", obj_bulk_hashes, methods=["POST"]),
    Route("/replicate/obj/{device}/{partition}", obj_hashes, methods=["POST"]),
    Route("/replicate/obj/{device}/{partition}/check", obj_check, methods=["POST"]),
    Route("/replicate/obj/{device}/{partition}/sync", obj_sync, methods=["POST"]),
    Route("/replicate/db/{kind}/{device}/{partition}", db_digests, methods=["POST"]),
    Route("/replicate/db/{kind}/{device}/{partition}/merge", db_merge, methods=["POST"]),
    Route("/replicate/partitions", partitions, methods=["GET"]),
    Route("/replicate/stats", stats, methods=["GET"]),
]
