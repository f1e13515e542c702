"""Listing row updates sent to peer nodes, and async-pending records for the ones that failed.

* object node -> container node: ``PUT|DELETE /cont/<dev>/<part>/<a>/<c>/<o>`` after an object
  PUT/DELETE is durable; a failure is saved as an async-pending record (``store.layout``) holding
  JSON ``{"method", "host", "path", "headers"}`` (replayed by ``store.updater``). A row bound for the
  writing node itself is merged into its own container DB (``LocalRows``), no request.
* container node -> account node: ``PUT /acct/<dev>/<part>/<a>/<c>`` with the container's
  timestamps and stats; unreported changes are remembered in the container DB and sent by
  ``report_container_stats`` (debounced, about once a second).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import quote

import xxhash

from objclient.http import HttpError
from objclient.loop_pool import loop_pool
from stackstore import wire
from stackstore.storage_policies import POLICY_INDEX_HEADER
from stackstore.timestamp import Timestamp
from store import layout
from store.fsutil import remove_file
from store.group_commit import GroupCommit, write_durable
from store.listings import ContainerStore, RowChange
from store.reqparse import (
    HasHeaders,
    HTTPError,
    header_int,
    header_text,
    host_list,
    not_future,
    timestamp_header,
)

log = logging.getLogger("store.updates")


def is_success(status: int) -> bool:
    """A row update is done when it was applied or superseded (2xx; 409 from older servers)."""
    return 200 <= status < 300 or status == 409


def container_targets(headers: Mapping[str, str]) -> tuple[list[tuple[str, int, str]], str | None]:
    """(host, port, device) triples and the partition from ``X-Container-*`` request headers."""
    targets, part = _update_targets("Container", headers.get("x-container-host"),
                                    headers.get("x-container-device"), headers.get("x-container-partition"))
    return list(targets), part


def account_targets(headers: Mapping[str, str]) -> tuple[list[list[str]], str | None]:
    """``[["host:port", device], ...]`` and the partition from ``X-Account-*`` request headers."""
    targets, part = _update_targets("Account", headers.get("x-account-host"), headers.get("x-account-device"),
                                    headers.get("x-account-partition"))
    return [[f"{h}:{p}", d] for h, p, d in targets], part


@functools.lru_cache(maxsize=4096)
def _update_targets(kind: str, host: str | None, device: str | None,
                    part: str | None) -> tuple[tuple[tuple[str, int, str], ...], str | None]:
    """(host, port, device) triples and the partition of ``X-<kind>-Host/-Device/-Partition`` values (cached:
    every object written to a container names the same few replicas; a refusal, HTTPError 400, is not)."""
    hosts = host_list(host)
    devices = [d.strip() for d in (device or "").split(",") if d.strip()]
    if not hosts:
        return (), None
    if len(devices) != len(hosts) or part is None or not part.strip().isdigit():
        raise HTTPError(400, f"bad X-{kind}-Host/Device/Partition")
    return tuple((h, p, d) for (h, p), d in zip(hosts, devices, strict=True)), part.strip()


@functools.lru_cache(maxsize=4096)
def container_row_path(device: str, partition: str, account: str, container: str) -> str:
    """``/cont/<dev>/<part>/<a>/<c>``, quoted, where one container replica takes its object rows (cached: the
    same few paths come with every object written to a container, and ``quote`` is Python)."""
    return f"/cont/{quote(device, safe='')}/{partition}/{quote(account, safe='')}/{quote(container, safe='')}"


@dataclass(frozen=True)
class RowHeaders:
    """A row update's headers (lower-case names) where a request is expected (``store.reqparse.HasHeaders``):
    a row of a batch, or a row applied on the node that wrote the object."""

    headers: Mapping[str, str]


def row_change(obj: str, method: str, update: HasHeaders) -> RowChange:
    """The row an object row PUT/DELETE (its headers in ``update``) asks for; HTTPError 400 for a bad
    header."""
    ts = timestamp_header(update)
    if method == "PUT":
        headers = update.headers
        size = headers.get("x-size")
        return RowChange(obj, ts, 0 if size is None else header_int(size, "x-size"), headers.get("x-etag", ""),
                         header_text(headers.get("x-content-type", "")))
    return RowChange(obj, ts, deleted=True)


class ObjectRow(NamedTuple):
    """The listing row an object write asks its container replicas for: a PUT's size, ETag and content type as
    the header values they travel as (``headers``), or a DELETE. A replica on the writing node itself takes
    the row as a ``RowChange`` (``change``) without its headers being built and parsed again."""

    method: str  # "PUT" or "DELETE"
    timestamp: Timestamp
    size: str = "0"
    etag: str = ""
    content_type: str = ""

    @classmethod
    def put(cls, timestamp: Timestamp, size: int | str, etag: str | None, content_type: str | None) -> ObjectRow:
        """The row of an object PUT (or POST: the row moves to its time)."""
        return cls("PUT", timestamp, str(size), etag or "", content_type or "")

    @classmethod
    def delete(cls, timestamp: Timestamp) -> ObjectRow:
        """The row of an object DELETE."""
        return cls("DELETE", timestamp)

    def headers(self) -> dict[str, str]:
        """The row update's request headers (a container node's row PUT/DELETE, an async pending's replay)."""
        if self.method != "PUT":
            return {"X-Timestamp": self.timestamp.normal}
        return {"X-Timestamp": self.timestamp.normal, "X-Size": self.size, "X-Etag": self.etag,
                "X-Content-Type": self.content_type}

    def change(self, obj: str) -> RowChange:
        """What ``row_change`` makes of ``headers()``, HTTPError 400 included (an override's size that is no
        number; a commit time from a footer too far ahead, as a container node would refuse it)."""
        ts = not_future(self.timestamp)
        if self.method != "PUT":
            return RowChange(obj, ts, deleted=True)
        return RowChange(obj, ts, header_int(self.size, "x-size"), self.etag, header_text(self.content_type))


class LocalRows:
    """Rows bound for this node's own container DBs (``RowUpdater.object_changed``), merged once per event-loop
    pass: the rows that arrive while the loop runs one pass of ready callbacks (a group commit's round
    releases many writers at once) go into one write transaction per container (``update_rows``), as a
    container node merges a ``?row-batch``. Each row's future is True when it was applied or already newer,
    False when the container is not here (the peer's 404) or the write failed (its 500): the caller keeps an
    async pending for it either way."""

    def __init__(self) -> None:
        self._pending: dict[tuple[ContainerStore, str, str], list[tuple[RowChange, asyncio.Future[bool]]]] = {}

    def merge(self, store: ContainerStore, account: str, container: str, obj: str,
              row: ObjectRow) -> asyncio.Future[bool]:
        """Queue one object row for this pass's transaction of its container."""
        loop = asyncio.get_running_loop()
        result: asyncio.Future[bool] = loop.create_future()
        try:
            change = row.change(obj)
        except HTTPError as err:
            log.warning("row update of %s/%s/%s refused here: %s", account, container, obj, err)
            result.set_result(False)
            return result
        if not self._pending:
            loop.call_soon(self._flush)
        self._pending.setdefault((store, account, container), []).append((change, result))
        return result

    def _flush(self) -> None:
        pending, self._pending = self._pending, {}
        for (store, account, container), rows in pending.items():
            try:
                answers = store.update_rows(account, container, [change for change, _ in rows])
            except Exception:  # what a container node's 500 would be: the objects are stored, rows go to pendings
                log.exception("row updates of %s/%s failed here", account, container)
                answers = [None] * len(rows)
            for (_, result), answer in zip(rows, answers, strict=True):
                if not result.done():
                    result.set_result(answer is not None)


# (host, port, device) of a row update -> this node's own container DB of that device, or None
LocalContainers = Callable[[str, int, str], ContainerStore | None]


def _split_hostport(hostport: str) -> tuple[str, int]:
    host, _, port = hostport.rpartition(":")
    return host.strip("[]"), int(port)


async def _done_within(fut: asyncio.Future, timeout: float) -> bool:
    """Whether ``fut`` is done within ``timeout`` seconds; it is left running either way (what
    ``asyncio.wait([fut], timeout=...)`` answers, without its sets and per-call closures)."""
    if fut.done():
        return True
    loop = asyncio.get_running_loop()
    waiter = loop.create_future()

    def wake(_: object = None) -> None:
        if not waiter.done():
            waiter.set_result(None)

    timer = loop.call_later(timeout, wake)
    fut.add_done_callback(wake)
    try:
        await waiter
    finally:
        timer.cancel()
        fut.remove_done_callback(wake)
    return fut.done()


@dataclass
class _Waiting:
    """Object rows waiting for the batch in flight to their container replica to be answered."""

    rows: list[list[Any]] = field(default_factory=list)  # [method, object, headers]
    results: list[asyncio.Future[bool]] = field(default_factory=list)


class RowUpdater:
    """Sends row updates with a short timeout; persists object-row failures as async pendings.

    Object rows bound for one container replica are coalesced: a row goes out at once when nothing is in
    flight to that replica (no added latency), else it waits for the answer and goes with every other row
    that arrived meanwhile as one ``?row-batch`` request (stackstore/wire.py) — under load a busy container
    gets one request per batch instead of one per object."""

    # An update still in flight when the client's wait ends keeps going this long before it fails.
    SEND_TIMEOUT = 30.0
    # A replica whose update outlived the wait is not waited for again (its rows go straight to async
    # pendings, still sent behind) until one of its updates lands, or for this long: one hung container
    # node must not add the whole wait to every object write of the cluster.
    SLOW_PEER_SECONDS = 30.0

    def __init__(self, group: GroupCommit, timeout: float, local_containers: LocalContainers | None = None):
        self.group = group
        self.timeout = timeout
        self.local_containers = local_containers
        self.local_rows = LocalRows()
        self._backoff: dict[bytes, tuple[float, float]] = {}  # ckey -> (next attempt, delay)
        self._lingering: set[asyncio.Task] = set()
        self._waiting: dict[tuple[str, str], _Waiting] = {}  # (host:port, container path) -> rows
        self._in_flight: dict[tuple[str, str], asyncio.Task] = {}
        self._slow_until: dict[str, float] = {}  # host:port -> monotonic time its slowness mark expires

    def is_slow(self, hostport: str) -> bool:
        """Whether an update to ``hostport`` recently outlived the wait and none has landed since."""
        until = self._slow_until.get(hostport)
        if until is None:
            return False
        if until <= time.monotonic():
            del self._slow_until[hostport]
            return False
        return True

    async def send(self, hostport: str, method: str, path: str, headers: dict[str, str],
                   timeout: float | None = None) -> bool:
        host, port = _split_hostport(hostport)
        try:
            reply = await loop_pool().call(host, port, method, path, headers, timeout=timeout or self.timeout)
        except HttpError as exc:
            log.info("row update failed: %s", exc)
            return False
        return is_success(reply.status)

    def send_row(self, hostport: str, container_path: str, method: str, obj: str,
                 headers: dict[str, str]) -> asyncio.Future[bool]:
        """Queue one object row for the container replica at ``hostport`` (``container_path``:
        ``/cont/<dev>/<part>/<a>/<c>``, quoted); the future is True once the row was applied or superseded."""
        result: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        key = (hostport, container_path)
        waiting = self._waiting.setdefault(key, _Waiting())
        waiting.rows.append([method, obj, headers])
        waiting.results.append(result)
        if key not in self._in_flight:
            self._send_next(key)
        return result

    def _send_next(self, key: tuple[str, str]) -> None:
        waiting = self._waiting.pop(key, None)
        if waiting is None:
            return
        rows, results = waiting.rows[:wire.ROW_BATCH_MAX], waiting.results[:wire.ROW_BATCH_MAX]
        if len(waiting.rows) > len(rows):
            self._waiting[key] = _Waiting(waiting.rows[len(rows):], waiting.results[len(rows):])
        self._in_flight[key] = asyncio.ensure_future(self._send_rows(key, rows, results))

    async def _send_rows(self, key: tuple[str, str], rows: list[list[Any]],
                         results: list[asyncio.Future[bool]]) -> None:
        hostport, container_path = key
        try:
            if len(rows) == 1:  # the plain single-row request: no batch framing when a container is idle
                method, obj, headers = rows[0]
                outcome = [await self.send(hostport, method, f"{container_path}/{quote(obj, safe='/')}", headers,
                                           self.SEND_TIMEOUT)]
            else:
                outcome = await self._send_batch(hostport, container_path, rows)
            for result, ok in zip(results, outcome, strict=True):
                if not result.done():
                    result.set_result(ok)
        except Exception:  # every row of a failed batch fails (async pendings): none is lost
            log.exception("row batch to %s%s failed", hostport, container_path)
            for result in results:
                if not result.done():
                    result.set_result(False)
        finally:
            del self._in_flight[key]
            self._send_next(key)

    async def _send_batch(self, hostport: str, container_path: str, rows: list[list[Any]]) -> list[bool]:
        host, port = _split_hostport(hostport)
        body = json.dumps(rows).encode()
        try:
            reply = await loop_pool().call(host, port, "POST", f"{container_path}?{wire.ROW_BATCH_QUERY}",
                                           {"Content-Type": "application/json"}, body, timeout=self.SEND_TIMEOUT)
        except HttpError as exc:
            log.info("row batch failed: %s", exc)
            return [False] * len(rows)
        try:
            statuses = json.loads(reply.body) if reply.status == 200 else None
        except ValueError:
            statuses = None
        if not isinstance(statuses, list) or len(statuses) != len(rows):
            log.info("row batch to %s%s answered %s", hostport, container_path, reply.status)
            return [False] * len(rows)
        return [isinstance(status, int) and is_success(status) for status in statuses]

    async def object_changed(self, device_path: str, hash_hex: str, account: str, container: str, obj: str,
                             targets: list[tuple[str, int, str]], partition: str, row: ObjectRow) -> None:
        """Send the container row update to every target, waiting at most ``timeout`` for each; a target on
        this very node (``local_containers``) gets the row in its own DB, without a request.

        An update that fails, or is still in flight when the wait ends, is saved as an async pending
        before this returns (so the object's acknowledgement never outruns its listing row). A slow
        update keeps going in the background and removes its record when it lands, so a loaded
        container node lists the object in seconds instead of at the updater's next pass.
        """
        async def one(host: str, port: int, device: str) -> None:
            cpath = container_row_path(device, partition, account, container)
            hostport = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            here = self.local_containers(host, port, device) if self.local_containers is not None else None
            if here is not None:  # the container replica is on this node: its DB, not a request to itself
                if await self.local_rows.merge(here, account, container, obj, row):
                    return
                done = True
            else:
                sending = self.send_row(hostport, cpath, row.method, obj, row.headers())
                done = await _done_within(sending, 0 if self.is_slow(hostport) else self.timeout)
                if done and sending.result():
                    self._slow_until.pop(hostport, None)
                    return
                if not done:
                    self._slow_until[hostport] = time.monotonic() + self.SLOW_PEER_SECONDS
            path = f"{cpath}/{quote(obj, safe='/')}"  # the row's own request, for the updater's replay
            headers = row.headers()
            record = {"method": row.method, "host": hostport, "path": path, "headers": headers,
                      "account": account, "container": container, "obj": obj}
            target_id = xxhash.xxh3_64_hexdigest(f"{hostport}/{device}".encode())[:8]
            dest = layout.async_pending_record(device_path, hash_hex, headers["X-Timestamp"], target_id)
            await write_durable(self.group, device_path, dest, json.dumps(record).encode("utf-8"))
            if not done:
                self._linger(sending, dest, hostport)

        if len(targets) == 1:  # the usual case (one container replica per object replica): no task
            await one(*targets[0])
        else:
            await asyncio.gather(*(one(h, p, d) for h, p, d in targets))

    def _linger(self, sending: asyncio.Future, record_path: str, hostport: str) -> None:
        """Let a slow update finish on its own; when it succeeds its async pending is no longer needed
        and its replica is waited for again."""
        async def finish() -> None:
            if await sending:  # the updater may have replayed and removed it already
                self._slow_until.pop(hostport, None)
                await asyncio.get_running_loop().run_in_executor(self.group.executor, remove_file, record_path)

        task = asyncio.ensure_future(finish())
        self._lingering.add(task)
        task.add_done_callback(self._lingering.discard)

    async def report_container(self, store: ContainerStore, ckey: bytes) -> bool:
        """Send one container's timestamps and stats to its account nodes; True when all took it."""
        rec = store.get_by_key(ckey)
        if rec is None or not rec.get("acct"):
            store.unreported.discard(ckey)
            return True
        reported = [rec["put"], rec["delete"], rec["count"], rec["bytes"]]
        headers = {"X-Timestamp": max(rec["put"], rec["delete"]), "X-Put-Timestamp": rec["put"],
                   "X-Delete-Timestamp": rec["delete"], "X-Object-Count": str(rec["count"]),
                   "X-Bytes-Used": str(rec["bytes"])}
        if rec.get("policy"):
            headers[POLICY_INDEX_HEADER] = str(rec["policy"])
        path_tail = f"/{rec['acct_part']}/{quote(rec['account'], safe='')}/{quote(rec['container'], safe='')}"
        results = await asyncio.gather(*(
            self.send(hostport, "PUT", f"/acct/{quote(device, safe='')}{path_tail}", headers)
            for hostport, device in rec["acct"]))
        if all(results):
            store.mark_reported(ckey, reported)
            return True
        return False

    async def report_container_stats(self, stores: list[ContainerStore], batch: int = 256) -> int:
        """One debounce round: report every container whose stats changed; returns how many."""
        now = time.monotonic()
        sent = 0
        for store in stores:
            due = [k for k in list(store.unreported) if self._backoff.get(k, (0.0, 0.0))[0] <= now][:batch]
            if not due:
                continue
            results = await asyncio.gather(*(self.report_container(store, k) for k in due))
            for ckey, ok in zip(due, results, strict=True):
                sent += 1
                if ok:
                    self._backoff.pop(ckey, None)
                else:
                    delay = min(self._backoff.get(ckey, (0.0, 0.5))[1] * 2, 30.0)
                    self._backoff[ckey] = (now + delay, delay)
        return sent

