"""The internal client: every proxy feature reaches the storage nodes only through StorageClient.

Mutations get one ``X-Timestamp`` (unless the caller passes one), go to every replica at once (handoffs
replace failing primaries) and are answered by quorum as Swift's proxy answers. Reads go to one replica
at a time (primaries in random order, then handoffs) and GET bodies resume on another replica if their
node fails mid-body. See docs/internal-api.md.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterable, Awaitable, Callable, Mapping, Sequence
from typing import Any

from objclient import paths
from objclient.fanout import NodeIO, NodeResult, best_status, paired_with_slots, quorum_size, slot_update_headers
from objclient.headers import HeaderDict, strip_hop_by_hop
from objclient.http import HttpError, Pool
from objclient.nodes import Device, ErrorLimiter, read_nodes
from objclient.putter import Footer, put_buffered, put_streamed
from objclient.reader import BodyError, ReadResult, ResumingBody, read_first, read_newest
from objclient.response import BackendResponse
from objclient.rings import Ring, RingSet
from objclient.settings import ClientSettings
from stackstore import wire
from stackstore.storage_policies import POLICY_INDEX_HEADER
from stackstore.timestamp import Timestamp
from stackstore.wire import BUFFERED_PUT_MAX

__all__ = ["BackendResponse", "BodyError", "StorageClient"]

PathFn = Callable[[Device], str]
PolicyResolver = Callable[[str, str], Awaitable[int]]  # (account, container) -> storage policy index


def _invalid(headers: Mapping[str, str] | None) -> BackendResponse | None:
    """400 for header names/values that cannot be sent on (CR/LF injection)."""
    for name, value in (headers or {}).items():
        if "\r" in name or "\n" in name or ":" in name or "\r" in str(value) or "\n" in str(value):
            return BackendResponse.simple(400, data=b"invalid header")
    return None


def with_policy(headers: Mapping[str, str] | None, policy: int) -> Mapping[str, str] | None:
    """``headers`` plus the storage policy index for the object node (policy 0: unchanged)."""
    if policy == 0:
        return headers
    return {**(headers or {}), POLICY_INDEX_HEADER: str(policy)}


def _no_policy(policy: int) -> BackendResponse:
    """503: the container's storage policy has no object ring in this process."""
    return BackendResponse.simple(503, data=f"no object ring for storage policy {policy}".encode())


def _is_true(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on", "t", "y")


class StorageClient:
    """Ring-aware client for the storage nodes, shared by all proxy controllers."""

    opens_expired: bool = False  # a view whose object reads and POSTs reach expired, unreaped objects

    def __init__(self, conf: ClientSettings | Mapping[str, Any], rings: RingSet):
        """``conf``: :class:`ClientSettings`, or a config mapping it is read from (``[proxy]``)."""
        settings = conf if isinstance(conf, ClientSettings) else ClientSettings.from_conf(conf)
        self.settings = settings
        self.rings = rings
        self.pool = Pool(conn_timeout=settings.conn_timeout, node_timeout=settings.node_timeout,
                         signing_key=settings.node_key, ssl_context=settings.ssl_context,
                         local_sockets=settings.local_sockets)
        self.limiter = ErrorLimiter(settings.error_suppression_interval, settings.error_suppression_limit)
        self.nio = NodeIO(self.pool, self.limiter)
        # A read node that has not answered after this long gets a parallel request to the next node
        # (Swift's concurrency_timeout); None disables.
        self.hedge_after: float | None = settings.concurrency_timeout
        # Finds the storage policy index of a container for object calls given no ``policy`` (the proxy
        # sets its container info cache); without one, such calls use policy 0.
        self.policy_resolver: PolicyResolver | None = None

    @property
    def policy_indexes(self) -> frozenset[int]:
        """The storage policies this client has an object ring for."""
        return frozenset((0, *getattr(self.rings, "policy_rings", {})))

    async def container_policy(self, account: str, container: str, policy: int | None = None) -> int:
        """``policy`` when given, else the container's policy as the resolver reports it (0 without one)."""
        if policy is not None:
            return policy
        if self.policy_resolver is None:
            return 0
        return await self.policy_resolver(account, container)

    async def close(self) -> None:
        await self.pool.close()

    def opening_expired(self) -> StorageClient:
        """A view of this client (same pools and rings) whose object GET/HEAD/POST also reach an object past
        its X-Delete-At that the expirer has not deleted yet (``wire.OPEN_EXPIRED``; Swift's
        ``allow_open_expired``). The proxy hands it only to requests that may ask for that."""
        view = copy.copy(self)
        view.opens_expired = True
        return view

    def _expiry_headers(self, headers: Mapping[str, str] | None) -> Mapping[str, str] | None:
        """``headers`` plus ``wire.OPEN_EXPIRED`` for a view that opens expired objects."""
        if not self.opens_expired:
            return headers
        return {**(headers or {}), wire.OPEN_EXPIRED: "true"}

    # -- shared machinery -----------------------------------------------------------------------
    def _read_nodes(self, ring: Ring, part: int) -> list[Device]:
        return read_nodes(
            ring,
            part,
            self.limiter,
            handoff_count=ring.replica_count,
        )

    async def _read(
        self, ring: Ring, part: int, method: str, path_fn: PathFn, headers: Mapping[str, str] | None
    ) -> ReadResult:
        req = strip_hop_by_hop(headers)
        nodes = self._read_nodes(ring, part)
        if _is_true(req.get(wire.NEWEST)):
            return await read_newest(self.nio, method, nodes, len(ring.primaries(part)), path_fn, req,
                                     self.hedge_after)
        return await read_first(self.nio, method, nodes, path_fn, req, self.hedge_after)

    async def _read_response(
        self, ring: Ring, part: int, method: str, path_fn: PathFn, headers: Mapping[str, str] | None
    ) -> BackendResponse:
        if bad := _invalid(headers):
            return bad
        result = await self._read(ring, part, method, path_fn, headers)
        node = f"{result.dev.ip}:{result.dev.port}/{result.dev.device}" if result.dev else None
        if result.resp is None:
            resp = BackendResponse.simple(result.status, result.headers, result.body)
        elif method == "HEAD" or result.resp.done:
            result.resp.close()
            resp = BackendResponse(result.status, result.headers)
        else:
            body = ResumingBody(self.nio, result, path_fn, strip_hop_by_hop(headers))
            resp = BackendResponse(result.status, result.headers, body)
        resp.node = node
        return resp

    async def _read_small(
        self, ring: Ring, part: int, path_fn: PathFn, headers: Mapping[str, str] | None = None
    ) -> tuple[int, HeaderDict, bytes]:
        """GET a small body (listing) with fallback, also when a body breaks mid-way."""
        req = strip_hop_by_hop(headers)
        nodes = self._read_nodes(ring, part)
        while True:
            result = await read_first(self.nio, "GET", nodes, path_fn, req, self.hedge_after)
            if result.resp is None:
                return result.status, result.headers, result.body
            try:
                return result.status, result.headers, await result.resp.read()
            except HttpError:
                if result.dev is not None:
                    self.limiter.error(result.dev)
                nodes = result.rest

    def _mutation_headers(self, headers: Mapping[str, str] | None) -> tuple[HeaderDict, Timestamp]:
        req = strip_hop_by_hop(headers)
        ts = req.get(wire.TIMESTAMP)
        timestamp = Timestamp(ts) if ts else Timestamp.now()
        req[wire.TIMESTAMP] = timestamp.normal
        return req, timestamp

    @staticmethod
    def _slot_headers(base: HeaderDict, updates: Sequence[dict[str, str]]) -> list[HeaderDict]:
        out = []
        for extra in updates:
            h = base.copy()
            h.update(extra)
            out.append(h)
        return out

    def _quorum_answer(
        self, results: Sequence[NodeResult], timestamp: Timestamp, conflict_wins: bool = False
    ) -> BackendResponse:
        statuses = [r.status for r in results]
        if conflict_wins and 409 in statuses:
            status = 409
        else:
            status = best_status(statuses, quorum_size(len(results))) or 503
        headers = HeaderDict({wire.TIMESTAMP: timestamp.normal})
        for r in results:
            if r.status == status:
                for name in (wire.BACKEND_TIMESTAMP.lower(), "etag"):  # spelled as before: copied to clients
                    if name in r.headers:
                        headers[name] = r.headers[name]
                return BackendResponse.simple(status, headers, r.body)
        return BackendResponse.simple(status, headers)

    async def _mutate(
        self,
        ring: Ring,
        part: int,
        method: str,
        path_fn: PathFn,
        headers: Mapping[str, str] | None,
        updates: Sequence[dict[str, str]] | None = None,
        conflict_wins: bool = False,
    ) -> BackendResponse:
        if bad := _invalid(headers):
            return bad
        base, timestamp = self._mutation_headers(headers)
        replicas = len(ring.primaries(part))
        slot_headers = self._slot_headers(base, updates or [{}] * replicas)
        results = await self.nio.fanout(ring, part, method, path_fn, slot_headers)
        return self._quorum_answer(results, timestamp, conflict_wins)

    def _container_updates(self, account: str, container: str, slot_devices: Sequence[Device]) -> list[dict[str, str]]:
        """The container row update headers of each object slot (``slot_devices``: the object's primaries),
        each container replica paired with the slot on its own server where there is one."""
        cpart, cnodes = self.rings.container.get_nodes(account, container)
        return list(slot_update_headers(wire.CONTAINER_UPDATE_PREFIX, self.rings.container, cpart,
                                        paired_with_slots(cnodes, slot_devices), len(slot_devices)))

    def _account_updates(self, account: str, count: int) -> list[dict[str, str]]:
        apart, anodes = self.rings.account.get_nodes(account)
        return list(slot_update_headers(wire.ACCOUNT_UPDATE_PREFIX, self.rings.account, apart, anodes, count))

    def _obj(self, account: str, container: str, obj: str, policy: int = 0) -> tuple[Ring, int, PathFn]:
        ring = self.rings.object if policy == 0 else self.rings.object_ring(policy)
        part = ring.partition(account, container, obj)
        return ring, part, lambda dev: paths.obj_path(dev, part, account, container, obj)

    async def _object_target(self, account: str, container: str, obj: str,
                             policy: int | None) -> tuple[Ring, int, PathFn, int] | BackendResponse:
        """(ring, partition, path function, policy index) of an object, its policy resolved from the
        container when not given; a 503 answer when this process has no ring for that policy."""
        index = await self.container_policy(account, container, policy)
        if index not in self.policy_indexes and not await self._policy_ring_appeared(index):
            return _no_policy(index)
        return (*self._obj(account, container, obj, index), index)

    async def _policy_ring_appeared(self, index: int) -> bool:
        """Whether the object ring of policy ``index`` exists now (its file looked for in a thread, at most
        once a second: a ring built and pushed after this process started is used without a restart)."""
        load = getattr(self.rings, "load_policy", None)
        if load is None:
            return False
        return bool(await asyncio.get_running_loop().run_in_executor(None, load, index))

    def _cont(self, account: str, container: str) -> tuple[Ring, int, PathFn]:
        ring = self.rings.container
        part = ring.partition(account, container)
        return ring, part, lambda dev: paths.cont_path(dev, part, account, container)

    def _acct(self, account: str) -> tuple[Ring, int, PathFn]:
        ring = self.rings.account
        part = ring.partition(account)
        return ring, part, lambda dev: paths.acct_path(dev, part, account)

    # -- objects --------------------------------------------------------------------------------
    async def head_object(
        self, account: str, container: str, obj: str, headers: Mapping[str, str] | None = None,
        policy: int | None = None,
    ) -> BackendResponse:
        """Newest copy's metadata (200/404). Tries replicas then handoffs."""
        return await self._read_object("HEAD", account, container, obj, headers, policy)

    async def get_object(
        self, account: str, container: str, obj: str, headers: Mapping[str, str] | None = None,
        policy: int | None = None,
    ) -> BackendResponse:
        """200/206/404/416; body streams and survives a replica failing mid-body."""
        return await self._read_object("GET", account, container, obj, headers, policy)

    async def _read_object(self, method: str, account: str, container: str, obj: str,
                           headers: Mapping[str, str] | None, policy: int | None) -> BackendResponse:
        target = await self._object_target(account, container, obj, policy)
        if isinstance(target, BackendResponse):
            return target
        ring, part, path_fn, policy = target
        return await self._read_response(ring, part, method, path_fn,
                                         with_policy(self._expiry_headers(headers), policy))

    async def put_object(
        self,
        account: str,
        container: str,
        obj: str,
        headers: Mapping[str, str],
        body: AsyncIterable[bytes],
        content_length: int | None = None,
        footer: Footer | None = None,
        policy: int | None = None,
        condition: Mapping[str, str] | None = None,
        stamp_at_commit: bool = False,
    ) -> BackendResponse:
        """Stream to all replicas; 201 with ETag once a quorum stored it; 422/499/503 otherwise.

        ``footer`` returns sysmeta known only after the body (stored with it when the length is known).
        ``condition`` (``wire.COND_IF_NONE_MATCH``/``COND_IF_MATCH`` headers) makes the write atomic:
        decided by the nodes under a reservation, 412 (404 for If-Match of nothing) or 409 with
        ``wire.CONFLICT`` when a concurrent conditional writer holds the name. ``stamp_at_commit``
        versions the write by when its body was received (S3: the last to complete wins), not by when
        the request began (Swift)."""
        if bad := _invalid(headers) or _invalid(condition):
            return bad
        target = await self._object_target(account, container, obj, policy)
        if isinstance(target, BackendResponse):
            return target
        ring, part, path_fn, policy = target
        headers = with_policy(headers, policy) or {}
        base, timestamp = self._mutation_headers(headers)
        if condition:
            base.update(condition)
        slot_headers = self._slot_headers(base, self._container_updates(account, container, ring.primaries(part)))
        if content_length is not None and content_length <= BUFFERED_PUT_MAX and not condition:
            return await put_buffered(
                self.nio, ring, part, path_fn, slot_headers, body, content_length, timestamp, footer,
                stamp_at_commit,
            )
        return await put_streamed(
            self.nio, ring, part, path_fn, slot_headers, body, content_length, timestamp, footer,
            stamp_at_commit,
        )

    async def post_object(
        self, account: str, container: str, obj: str, headers: Mapping[str, str],
        policy: int | None = None, keep_listing_row: bool = False,
    ) -> BackendResponse:
        """Replace object metadata (202/404); the container listing row moves to the POST's time (and
        type), as Swift's row meta timestamp (the listing's ``last_modified``; container sync's cue).
        ``keep_listing_row``: a system change (S3 ACLs, tags, retention) that must not make the object look
        newer leaves the row alone (unless it sets a Content-Type)."""
        target = await self._object_target(account, container, obj, policy)
        if isinstance(target, BackendResponse):
            return target
        ring, part, path_fn, policy = target
        updates = None
        if not keep_listing_row or any(k.lower() == "content-type" for k in headers):
            updates = self._container_updates(account, container, ring.primaries(part))
        return await self._mutate(ring, part, "POST", path_fn, with_policy(self._expiry_headers(headers), policy),
                                  updates)

    async def delete_object(
        self, account: str, container: str, obj: str, headers: Mapping[str, str] | None = None,
        policy: int | None = None,
    ) -> BackendResponse:
        """204/404 (quorum)."""
        target = await self._object_target(account, container, obj, policy)
        if isinstance(target, BackendResponse):
            return target
        ring, part, path_fn, policy = target
        headers = with_policy(headers, policy)
        updates = self._container_updates(account, container, ring.primaries(part))
        return await self._mutate(ring, part, "DELETE", path_fn, headers, updates)

    # -- containers -----------------------------------------------------------------------------
    async def head_container(
        self, account: str, container: str, headers: Mapping[str, str] | None = None
    ) -> BackendResponse:
        ring, part, path_fn = self._cont(account, container)
        return await self._read_response(ring, part, "HEAD", path_fn, headers)

    async def list_container(
        self,
        account: str,
        container: str,
        *,
        prefix: str | None = None,
        delimiter: str | None = None,
        marker: str | None = None,
        end_marker: str | None = None,
        limit: int = 10000,
        reverse: bool = False,
        path: str | None = None,
    ) -> tuple[BackendResponse, list[dict]]:
        """Response headers (status 200/404) and the parsed JSON rows.

        ``path`` (Swift's legacy parameter) lists the direct children of ``path/``, directory marker
        objects included; it replaces ``prefix`` and ``delimiter``.
        """
        ring, part, path_fn = self._cont(account, container)
        query = paths.listing_query(
            prefix=prefix,
            delimiter=delimiter,
            marker=marker,
            end_marker=end_marker,
            limit=limit,
            reverse=reverse,
            path=path,
        )
        return await self._listing(ring, part, lambda dev: path_fn(dev) + query)

    async def put_container(
        self, account: str, container: str, headers: Mapping[str, str] | None = None
    ) -> BackendResponse:
        ring, part, path_fn = self._cont(account, container)
        updates = self._account_updates(account, len(ring.primaries(part)))
        return await self._mutate(ring, part, "PUT", path_fn, headers, updates)

    async def claim_container(
        self, account: str, container: str, headers: Mapping[str, str] | None = None
    ) -> bool | None:
        """Create a container *exclusively*: True when a majority of its primary replicas created it
        (answered 201, not 202 "already there"), False when a majority found it already there, None when
        neither (nodes down, a newer delete, or a concurrent claim split the vote: the caller gives up).

        Each node decides "created" inside one write transaction, so of several concurrent claimants at
        most one can hold a majority of 201s: a cluster-wide first-writer-wins without a lock service."""
        if _invalid(headers):
            return None
        ring, part, path_fn = self._cont(account, container)
        base, _timestamp = self._mutation_headers(headers)
        replicas = len(ring.primaries(part))
        updates = self._account_updates(account, replicas)
        results = await self.nio.fanout(ring, part, "PUT", path_fn, self._slot_headers(base, updates))
        statuses = [r.status for r in results]
        quorum = quorum_size(len(results))
        if statuses.count(201) >= quorum:
            return True
        if statuses.count(202) >= quorum:
            return False
        return None

    async def post_container(
        self, account: str, container: str, headers: Mapping[str, str]
    ) -> BackendResponse:
        ring, part, path_fn = self._cont(account, container)
        return await self._mutate(ring, part, "POST", path_fn, headers)

    async def delete_container(
        self, account: str, container: str, headers: Mapping[str, str] | None = None
    ) -> BackendResponse:
        ring, part, path_fn = self._cont(account, container)
        updates = self._account_updates(account, len(ring.primaries(part)))
        return await self._mutate(ring, part, "DELETE", path_fn, headers, updates, conflict_wins=True)

    # -- accounts -------------------------------------------------------------------------------
    async def head_account(self, account: str, headers: Mapping[str, str] | None = None) -> BackendResponse:
        ring, part, path_fn = self._acct(account)
        return await self._read_response(ring, part, "HEAD", path_fn, headers)

    async def list_account(
        self,
        account: str,
        *,
        prefix: str | None = None,
        delimiter: str | None = None,
        marker: str | None = None,
        end_marker: str | None = None,
        limit: int = 10000,
        reverse: bool = False,
    ) -> tuple[BackendResponse, list[dict]]:
        ring, part, path_fn = self._acct(account)
        query = paths.listing_query(
            prefix=prefix,
            delimiter=delimiter,
            marker=marker,
            end_marker=end_marker,
            limit=limit,
            reverse=reverse,
        )
        return await self._listing(ring, part, lambda dev: path_fn(dev) + query)

    async def put_account(self, account: str, headers: Mapping[str, str] | None = None) -> BackendResponse:
        ring, part, path_fn = self._acct(account)
        return await self._mutate(ring, part, "PUT", path_fn, headers)

    async def post_account(self, account: str, headers: Mapping[str, str]) -> BackendResponse:
        ring, part, path_fn = self._acct(account)
        return await self._mutate(ring, part, "POST", path_fn, headers)

    async def delete_account(self, account: str, headers: Mapping[str, str] | None = None) -> BackendResponse:
        ring, part, path_fn = self._acct(account)
        return await self._mutate(ring, part, "DELETE", path_fn, headers)

    async def _listing(self, ring: Ring, part: int, path_fn: PathFn) -> tuple[BackendResponse, list[dict]]:
        status, headers, data = await self._read_small(ring, part, path_fn)
        rows: list[dict] = []
        if status == 200 and data:
            try:
                rows = json.loads(data)
            except ValueError:
                return BackendResponse.simple(503, data=b"bad listing from storage node"), []
            for row in rows:
                if isinstance(row, dict):
                    wire.split_version_param(row)
        return BackendResponse.simple(status, headers, data), rows
