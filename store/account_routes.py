"""Account requests: ``/acct/<device>/<partition>/<account>[/<container>]``."""

from __future__ import annotations

import functools
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from stackstore.storage_policies import POLICY_INDEX_HEADER, StoragePolicies
from stackstore.timestamp import Timestamp
from store import db_headers
from store.io_threads import run_blocking
from store.listings import ZERO_TS
from store.node import Node
from store.reqparse import HTTPError, StoragePath, int_header, listing_params, timestamp_header

META_PREFIXES = ("x-account-meta-", "x-account-sysmeta-")
META_NAMES = frozenset({"x-account-access-control"})
ACCOUNT_COUNTS = {"X-Account-Container-Count": "containers", "X-Account-Object-Count": "objects",
                  "X-Account-Bytes-Used": "bytes"}


def metadata_updates(request: Request) -> dict[str, str]:
    return db_headers.metadata_updates(request, META_PREFIXES, META_NAMES)


def info_headers(rec: dict[str, Any], policies: StoragePolicies | None = None) -> dict[str, str]:
    """HEAD/GET headers of an account record; with ``policies`` also Swift's per-policy counts
    (``X-Account-Storage-Policy-<name>-Container-Count`` / ``-Object-Count`` / ``-Bytes-Used``)."""
    headers = db_headers.info_headers(rec, ACCOUNT_COUNTS)
    for index, (containers, objects, nbytes) in sorted((rec.get("policy_stats") or {}).items()):
        policy = policies.by_index(index) if policies is not None else None
        if policy is None or containers <= 0:
            continue
        prefix = f"X-Account-Storage-Policy-{policy.name}-"
        headers[prefix + "Container-Count"] = str(containers)
        headers[prefix + "Object-Count"] = str(max(objects, 0))
        headers[prefix + "Bytes-Used"] = str(max(nbytes, 0))
    return headers


def _deleted(rec: dict[str, Any]) -> bool:
    return bool(rec["delete"] > rec["put"])


def _not_found(rec: dict[str, Any] | None) -> HTTPError:
    if rec is None:
        return HTTPError(404)
    return HTTPError(404, "", {"X-Account-Status": "Deleted", "X-Backend-Put-Timestamp": rec["put"],
                               "X-Backend-Delete-Timestamp": rec["delete"]})


async def put_account(node: Node, request: Request, sp: StoragePath) -> Response:
    ts = timestamp_header(request)
    outcome, rec = node.accounts(sp.device).put_account(sp.account, sp.partition, ts, metadata_updates(request))
    if outcome == "conflict":
        raise HTTPError(409, "account deleted more recently", {"X-Backend-Timestamp": rec["delete"]})
    return Response(status_code=201 if outcome == "created" else 202)


async def head_or_get(node: Node, request: Request, sp: StoragePath, head: bool) -> Response:
    params = None if head else listing_params(request)
    store = node.accounts(sp.device)
    rec = store.get(sp.account)
    if rec is None or _deleted(rec):
        raise _not_found(rec)
    headers = info_headers(rec, node.policies)
    if params is None:  # HEAD
        headers["Content-Type"] = "application/json; charset=utf-8"
        return Response(status_code=204, headers=headers)
    rows = await run_blocking(
        node.executor, functools.partial(store.list_containers, sp.account, **params,
                                         policy_names={p.index: p.name for p in node.policies}))
    body = json.dumps(rows, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(body, status_code=200, headers=headers, media_type="application/json")


async def post_account(node: Node, request: Request, sp: StoragePath) -> Response:
    ts = timestamp_header(request)
    store = node.accounts(sp.device)
    if store.post_account(sp.account, ts, metadata_updates(request)) is None:
        raise _not_found(store.get(sp.account))
    return Response(status_code=204)


async def delete_account(node: Node, request: Request, sp: StoragePath) -> Response:
    ts = timestamp_header(request)
    outcome, rec = node.accounts(sp.device).delete_account(sp.account, ts)
    if outcome == "not_found" or rec is None:
        raise _not_found(rec)
    if outcome == "conflict":
        raise HTTPError(409, "account put more recently", {"X-Backend-Timestamp": rec["put"]})
    return Response(status_code=204)


async def container_row(node: Node, request: Request, sp: StoragePath) -> Response:
    """Container row update from a container node; auto-creates the account."""
    put_ts = timestamp_header(request, "x-put-timestamp", required=False)
    delete_ts = timestamp_header(request, "x-delete-timestamp", required=False) or Timestamp(ZERO_TS)
    ts = timestamp_header(request, "x-timestamp", required=False)
    put_ts = put_ts or ts
    if put_ts is None:  # x-timestamp is required when x-put-timestamp is missing
        raise HTTPError(400, "missing x-timestamp")
    count = int_header(request, "x-object-count", 0)
    nbytes = int_header(request, "x-bytes-used", 0)
    policy = int_header(request, POLICY_INDEX_HEADER.lower(), 0)
    if not 0 <= policy < 1 << 16:
        raise HTTPError(400, f"bad {POLICY_INDEX_HEADER}")
    applied = node.accounts(sp.device).update_container_row(sp.account, sp.partition, sp.container_name, put_ts,
                                                            delete_ts, count, nbytes, policy)
    if applied is None:
        raise _not_found(node.accounts(sp.device).get(sp.account))
    return Response(status_code=201)


async def handle(node: Node, request: Request, sp: StoragePath) -> Response:
    method = request.method
    if sp.container is not None:
        if method == "PUT":
            return await container_row(node, request, sp)
        raise HTTPError(405, headers={"Allow": "PUT"})
    if method == "GET":
        return await head_or_get(node, request, sp, head=False)
    if method == "HEAD":
        return await head_or_get(node, request, sp, head=True)
    if method == "PUT":
        return await put_account(node, request, sp)
    if method == "POST":
        return await post_account(node, request, sp)
    if method == "DELETE":
        return await delete_account(node, request, sp)
    raise HTTPError(405, headers={"Allow": "GET, HEAD, PUT, POST, DELETE"})
