"""Container requests: ``/cont/<device>/<partition>/<account>/<container>[/<object>]``."""

from __future__ import annotations

import functools
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from stackstore import wire
from stackstore.storage_policies import POLICY_DEFAULT_HEADER, POLICY_INDEX_HEADER
from store import db_headers
from store.io_threads import run_blocking
from store.listings import ContainerStore, RowChange, container_key, is_deleted
from store.node import Node
from store.reqparse import (
    MAX_OBJECT,
    HasHeaders,
    HTTPError,
    StoragePath,
    checked_name,
    listing_params,
    timestamp_header,
)
from store.updates import RowHeaders, account_targets, row_change

ROW_BATCH_QUERY = wire.ROW_BATCH_QUERY.encode()

META_PREFIXES = ("x-container-meta-", "x-container-sysmeta-")
META_NAMES = frozenset({"x-container-read", "x-container-write", "x-versions-location",
                        "x-history-location", "x-container-sync-to", "x-container-sync-key"})
CONTAINER_COUNTS = {"X-Container-Object-Count": "count", "X-Container-Bytes-Used": "bytes"}


def metadata_updates(request: Request) -> dict[str, str]:
    """Container metadata headers of a PUT/POST (empty value = remove)."""
    return db_headers.metadata_updates(request, META_PREFIXES, META_NAMES)


def info_headers(rec: dict[str, Any]) -> dict[str, str]:
    return db_headers.info_headers(rec, CONTAINER_COUNTS)


def _not_found(rec: dict[str, Any] | None) -> HTTPError:
    if rec is None:
        return HTTPError(404)
    return HTTPError(404, "", {"X-Backend-Put-Timestamp": rec["put"], "X-Backend-Delete-Timestamp": rec["delete"],
                               "X-Backend-Timestamp": rec["created"]})


async def _report(node: Node, device: str, account: str, container: str) -> None:
    """Send the account row now (container created/deleted); failures are retried by the debouncer."""
    store = node.containers(device)
    ckey = container_key(account, container)
    if ckey in store.unreported:
        await node.updater.report_container(store, ckey)


def _policy_header(node: Node, request: Request, name: str) -> int | None:
    """A storage policy index header of a container PUT; 400 when it names no configured policy."""
    raw = request.headers.get(name)
    if raw is None:
        return None
    policy = node.policies.by_index(raw.strip())
    if policy is None:
        raise HTTPError(400, f"invalid {name} {raw!r}")
    return policy.index


async def put_container(node: Node, request: Request, sp: StoragePath) -> Response:
    ts = timestamp_header(request)
    policy = _policy_header(node, request, POLICY_INDEX_HEADER)
    default_policy = _policy_header(node, request, POLICY_DEFAULT_HEADER)
    acct_nodes, acct_part = account_targets(request.headers)
    store = node.containers(sp.device)
    outcome, rec = store.put_container(sp.account, sp.container_name, sp.partition, ts, metadata_updates(request),
                                       acct_nodes, acct_part, policy,
                                       node.policies.default.index if default_policy is None else default_policy)
    if outcome == "conflict":
        raise HTTPError(409, "container deleted more recently", {"X-Backend-Timestamp": rec["delete"]})
    if outcome == "policy_conflict":
        raise HTTPError(409, "container exists with another storage policy",
                        {POLICY_INDEX_HEADER: str(rec.get("policy", 0))})
    await _report(node, sp.device, sp.account, sp.container_name)
    return Response(status_code=201 if outcome == "created" else 202)


async def head_or_get(node: Node, request: Request, sp: StoragePath, head: bool) -> Response:
    params = None if head else listing_params(request, with_path=True)  # 400/412 before the lookup, as Swift
    store = node.containers(sp.device)
    rec = store.get(sp.account, sp.container_name)
    if rec is None or is_deleted(rec, "count"):
        raise _not_found(rec)
    headers = info_headers(rec)
    headers[POLICY_INDEX_HEADER] = str(rec.get("policy", 0))
    if params is None:  # HEAD
        headers["Content-Type"] = "application/json; charset=utf-8"
        return Response(status_code=204, headers=headers)
    rows = await run_blocking(
        node.executor, functools.partial(store.list_objects, sp.account, sp.container_name, **params))
    body = json.dumps(rows, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(body, status_code=200, headers=headers, media_type="application/json")


async def post_container(node: Node, request: Request, sp: StoragePath) -> Response:
    ts = timestamp_header(request)
    store = node.containers(sp.device)
    rec = store.post_container(sp.account, sp.container_name, ts, metadata_updates(request))
    if rec is None:
        raise _not_found(store.get(sp.account, sp.container_name))
    return Response(status_code=204)


async def delete_container(node: Node, request: Request, sp: StoragePath) -> Response:
    ts = timestamp_header(request)
    store = node.containers(sp.device)
    outcome, rec = store.delete_container(sp.account, sp.container_name, ts)
    if outcome == "not_found" or rec is None:
        raise _not_found(rec)
    if outcome == "not_empty":
        raise HTTPError(409, "container not empty")
    if outcome == "conflict":
        raise HTTPError(409, "container put more recently", {"X-Backend-Timestamp": rec["put"]})
    await _report(node, sp.device, sp.account, sp.container_name)
    return Response(status_code=204)


def _row_status(applied: bool | None) -> int:
    """201 applied, 202 already newer, 404 when the container does not exist here."""
    if applied is None:
        return 404
    return 201 if applied else 202


def apply_row(store: ContainerStore, account: str, container: str, obj: str, method: str,
              update: HasHeaders) -> int:
    """Merge one object row PUT/DELETE (its headers in ``update``): 201 applied, 202 already newer; 404 when
    the container does not exist here, 400 for a bad header (raised as HTTPError)."""
    status = _row_status(store.update_rows(account, container, [row_change(obj, method, update)])[0])
    if status == 404:
        raise HTTPError(404)
    return status


# the two answers of a row update, built once (a Starlette Response is only read when sent)
_ROW_ANSWERS = {status: Response(status_code=status) for status in (201, 202)}


async def row_update(node: Node, request: Request, sp: StoragePath) -> Response:
    """Object row PUT/DELETE from an object node: 201 applied, 202 already newer, 404 no container."""
    status = apply_row(node.containers(sp.device), sp.account, sp.container_name, sp.object_name, request.method,
                       request)
    return _ROW_ANSWERS[status]


async def _batch_body(request: Request) -> list[Any]:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > wire.ROW_BATCH_MAX_BYTES:
            raise HTTPError(413, "row batch too large")
    try:
        rows = json.loads(body)
    except ValueError:
        raise HTTPError(400, "bad row batch") from None
    if not isinstance(rows, list) or not 0 < len(rows) <= wire.ROW_BATCH_MAX:
        raise HTTPError(400, "bad row batch")
    return rows


def _batched_row(row: Any) -> RowChange | int:
    """One row of a batch as the change it asks for, or its status (400) when malformed."""
    if not (isinstance(row, list) and len(row) == 3 and row[0] in ("PUT", "DELETE") and isinstance(row[1], str)
            and isinstance(row[2], dict) and all(isinstance(v, str) for v in row[2].values())):
        return 400
    method, obj, headers = row
    try:
        obj = checked_name(obj, "object", MAX_OBJECT, allow_slash=True, allow_reserved=True)
        return row_change(obj, method, RowHeaders({str(k).lower(): v for k, v in headers.items()}))
    except HTTPError as err:
        return err.status


async def row_batch(node: Node, request: Request, sp: StoragePath) -> Response:
    """``POST ...?row-batch`` (stackstore/wire.py): several object rows of this container at once, merged in
    one write transaction; 200 with each row's status in order (201, 202, 404, 400 as ``row_update``)."""
    rows = await _batch_body(request)
    parsed = [_batched_row(row) for row in rows]
    changes = [p for p in parsed if isinstance(p, RowChange)]
    applied = iter(node.containers(sp.device).update_rows(sp.account, sp.container_name, changes) if changes
                   else [])
    statuses = [p if isinstance(p, int) else _row_status(next(applied)) for p in parsed]
    return Response(json.dumps(statuses), status_code=200, media_type="application/json")


async def handle(node: Node, request: Request, sp: StoragePath) -> Response:
    method = request.method
    if sp.obj is not None:
        if method in ("PUT", "DELETE"):
            return await row_update(node, request, sp)
        raise HTTPError(405, headers={"Allow": "PUT, DELETE"})
    if method == "GET":
        return await head_or_get(node, request, sp, head=False)
    if method == "HEAD":
        return await head_or_get(node, request, sp, head=True)
    if method == "PUT":
        return await put_container(node, request, sp)
    if method == "POST":
        if request.scope["query_string"] == ROW_BATCH_QUERY:
            return await row_batch(node, request, sp)
        return await post_container(node, request, sp)
    if method == "DELETE":
        return await delete_container(node, request, sp)
    raise HTTPError(405, headers={"Allow": "GET, HEAD, PUT, POST, DELETE"})

