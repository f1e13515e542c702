"""Reads: try replicas in turn (newest answer wins over stale ones) and resume broken GET bodies."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from objclient.fanout import NodeIO
from objclient.headers import HeaderDict
from objclient.http import READ_SIZE, BrokenResponse, HttpError, Response, SpliceSource
from objclient.nodes import Device
from stackstore import wire
from stackstore.splice import Relayed

PathFn = Callable[[Device], str]

# Response headers that describe the node connection, not the resource.
_DROP = frozenset({"connection", "keep-alive", "transfer-encoding", "date", "server"})
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$")


class BodyError(BrokenResponse):
    """A GET body broke and no other replica could continue it."""


def resource_headers(headers: Mapping[str, str]) -> HeaderDict:
    """A node reply's headers without those of the connection (``_DROP``)."""
    if isinstance(headers, HeaderDict):
        return headers.without(_DROP)
    return HeaderDict((k, v) for k, v in headers.items() if k.lower() not in _DROP)


def timestamp_of(headers: Mapping[str, str]) -> str:
    """The version a node answered for (fixed-width timestamps compare as strings).

    An account or container record answers for the newer of its put and delete times (a POST moves the put
    time too): its creation time (``X-Backend-Timestamp``, as Swift's) stays the same across a deletion and
    re-creation, so a replica that missed both would otherwise compare as new as the others."""
    record = max(headers.get(wire.BACKEND_PUT_TIMESTAMP) or "", headers.get(wire.BACKEND_DELETE_TIMESTAMP) or "")
    if record:
        return record
    for name in (wire.BACKEND_TIMESTAMP, wire.PUT_TIMESTAMP, wire.TIMESTAMP):
        value = headers.get(name)
        if value:
            return value
    return ""


@dataclass
class ReadResult:
    """The chosen answer: an open 2xx node response (``resp``) or a small final one (``body``)."""

    status: int
    headers: HeaderDict
    resp: Response | None = None
    dev: Device | None = None
    body: bytes = b""
    rest: list[Device] = field(default_factory=list)  # nodes not asked yet (for resuming)


class _Judge:
    """Decides on node answers as they arrive: 404s and errors mean "ask another node"; a 2xx older
    than a tombstone already seen is stale; other answers (416, 412, 400, 409...) are final."""

    def __init__(self, nio: NodeIO):
        self.nio = nio
        self.notfound: ReadResult | None = None
        self.tomb_ts = ""

    async def consider(self, dev: Device, resp: Response | None) -> ReadResult | None:
        if resp is None:
            return None
        status = resp.status
        if 200 <= status < 300:
            ts = timestamp_of(resp.headers)
            if self.tomb_ts and ts and ts < self.tomb_ts:
                resp.close()
                return None
            return ReadResult(status, resource_headers(resp.headers), resp, dev)
        try:
            body = await resp.read()
        except HttpError:
            self.nio.limiter.error(dev)
            return None
        if self.nio.note_status(dev, status):
            return None
        result = ReadResult(status, resource_headers(resp.headers), None, dev, body)
        if status != 404:
            return result
        ts = timestamp_of(resp.headers)
        if self.notfound is None or ts > self.tomb_ts:
            self.notfound, self.tomb_ts = result, max(ts, self.tomb_ts)
        return None

    def verdict(self) -> ReadResult:
        """404 if some node said so, 503 if none answered usefully."""
        return self.notfound or ReadResult(503, HeaderDict())


def _discard(task: asyncio.Future) -> None:
    """Done-callback of an abandoned node request: release its response."""
    if not task.cancelled() and task.exception() is None and task.result() is not None:
        task.result().close()


async def read_first(
    nio: NodeIO,
    method: str,
    nodes: Sequence[Device],
    path_fn: PathFn,
    headers: Mapping[str, str],
    hedge_after: float | None = None,
) -> ReadResult:
    """Ask nodes one at a time until one has the resource (see :class:`_Judge`).

    With ``hedge_after``, a node that has not answered within that many seconds gets company: the next
    node is asked too and the first usable answer wins (a stopped node costs ``hedge_after``, not
    ``node_timeout``).
    """
    judge = _Judge(nio)
    if hedge_after is None:
        for i, dev in enumerate(nodes):
            result = await judge.consider(dev, await nio.call(dev, method, path_fn(dev), headers))
            if result is not None:
                result.rest = list(nodes[i + 1 :])
                return result
        return judge.verdict()
    pending: dict[asyncio.Future, Device] = {}
    nxt = 0
    try:
        while pending or nxt < len(nodes):
            if not pending:
                dev, nxt = nodes[nxt], nxt + 1
                pending[asyncio.ensure_future(nio.call(dev, method, path_fn(dev), headers))] = dev
            timeout = hedge_after if nxt < len(nodes) else None
            done, _ = await asyncio.wait(pending, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if not done:  # slow node: ask the next one as well
                dev, nxt = nodes[nxt], nxt + 1
                pending[asyncio.ensure_future(nio.call(dev, method, path_fn(dev), headers))] = dev
                continue
            for task in done:
                dev = pending.pop(task)
                result = await judge.consider(dev, task.result())
                if result is not None:
                    result.rest = list(nodes[nxt:])
                    return result
        return judge.verdict()
    finally:
        for task in pending:
            if task.done():
                _discard(task)
            else:
                task.cancel()
                task.add_done_callback(_discard)


async def _answers(nio: NodeIO, method: str, primaries: list[Device], path_fn: PathFn,
                   headers: Mapping[str, str], grace: float | None) -> list[Response | None]:
    """Each primary's answer (None: none, or not within ``grace`` after a majority answered), in order."""
    tasks = [asyncio.ensure_future(nio.call(d, method, path_fn(d), headers)) for d in primaries]
    if grace is None:
        return list(await asyncio.gather(*tasks))
    loop = asyncio.get_running_loop()
    majority, answered, deadline = len(tasks) // 2 + 1, 0, None
    pending: set[asyncio.Future] = set(tasks)
    try:
        while pending:
            timeout = None if deadline is None else max(0.0, deadline - loop.time())
            done, pending = await asyncio.wait(pending, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if not done:
                break  # the grace is over: the rest are left out
            answered += sum(1 for task in done if task.result() is not None)
            if deadline is None and answered >= majority:
                deadline = loop.time() + grace
    finally:
        for task in pending:
            task.cancel()
            task.add_done_callback(_discard)
    return [task.result() if task.done() and not task.cancelled() else None for task in tasks]


async def read_newest(
    nio: NodeIO,
    method: str,
    nodes: Sequence[Device],
    replicas: int,
    path_fn: PathFn,
    headers: Mapping[str, str],
    grace: float | None = None,
) -> ReadResult:
    """``X-Newest``: ask all primaries at once and answer with the newest version (or tombstone).

    With ``grace``, once a majority of the primaries has answered the others get ``grace`` seconds more, not
    ``node_timeout``: a hung replica must not stall every read that decides (a stopped node costs ``grace``).
    A majority holds every write acknowledged by a majority of primaries, so the newest copy is among its
    answers whenever at most one replica missed a write."""
    primaries, others = list(nodes[:replicas]), list(nodes[replicas:])
    resps = await _answers(nio, method, primaries, path_fn, headers, grace)
    best: ReadResult | None = None
    best_ts = ""
    for dev, resp in zip(primaries, resps, strict=True):
        if resp is None:
            continue
        if not 200 <= resp.status < 300:
            try:
                body = await resp.read()
            except HttpError:
                nio.limiter.error(dev)
                continue
            if nio.note_status(dev, resp.status):
                continue
            result = ReadResult(resp.status, resource_headers(resp.headers), None, dev, body)
        else:
            result = ReadResult(resp.status, resource_headers(resp.headers), resp, dev, rest=others)
        ts = timestamp_of(resp.headers)
        better = (
            best is None
            or ts > best_ts
            or (ts == best_ts and 200 <= result.status < 300 and not 200 <= best.status < 300)
        )
        if better:
            if best is not None and best.resp is not None:
                best.resp.close()
            best, best_ts = result, ts
        elif result.resp is not None:
            result.resp.close()
    if best is None or (best.status == 404 and not best_ts and others):
        fallback = await read_first(nio, method, others, path_fn, headers)
        if best is None or fallback.status != 503:
            return fallback
    return best


def _span(resp: Response) -> tuple[int, int] | None:
    """Absolute (first, last) byte offsets the response body covers, if known."""
    if resp.status == 206:
        m = _CONTENT_RANGE.match(resp.headers.get("content-range") or "")
        return (int(m.group(1)), int(m.group(2))) if m else None
    length = resp.headers.get("content-length")
    if resp.status == 200 and length and length.isdigit():
        return (0, int(length) - 1)
    return None


async def _resume(
    nio: NodeIO,
    rest: list[Device],
    path_fn: PathFn,
    headers: Mapping[str, str],
    pos: int,
    end: int,
    data_ts: str,
    etag: str | None,
) -> tuple[Response, Device]:
    """A response continuing the same object version at absolute offset ``pos`` from another node."""
    req = HeaderDict(headers)
    req["Range"] = f"bytes={pos}-{end}"
    while rest:
        dev = rest.pop(0)
        resp = await nio.call(dev, "GET", path_fn(dev), req)
        if resp is None:
            continue
        same = (
            resp.status == 206
            and (resp.headers.get(wire.BACKEND_DATA_TIMESTAMP) or resp.headers.get(wire.TIMESTAMP) or "")
            == data_ts
            and (etag is None or resp.headers.get("etag") == etag)
            and (_span(resp) or (-1, -1))[0] == pos
        )
        if same:
            return resp, dev
        await resp.drain_body()
        nio.note_status(dev, resp.status)
    raise BodyError(f"object body broke at byte {pos} and no replica could continue it")


class BodyOutlet(Protocol):
    """Where :meth:`ResumingBody.relay` delivers a body (the proxy's client connection)."""

    def can_splice(self) -> bool:
        """Whether :meth:`splice` may be called now."""

    async def send(self, data: bytes) -> bool:
        """Send bytes the ordinary way; False when the receiver is gone."""

    async def splice(self, source: SpliceSource) -> Relayed:
        """Move ``source.remaining`` bytes from ``source.fd`` in the kernel."""


class ResumingBody:
    """The body of a node's GET answer; if its node fails mid-body, the rest comes from another replica with
    ``Range: bytes=<offset>-<end>``, provided it serves the same data timestamp and ETag.

    Iterate it for the body's chunks, or :meth:`relay` it to an outlet that moves the bytes from the node's
    socket to its own in the kernel."""

    def __init__(self, nio: NodeIO, first: ReadResult, path_fn: PathFn, headers: Mapping[str, str],
                 read_size: int = READ_SIZE):
        assert first.resp is not None
        self.nio, self.path_fn, self.headers, self.read_size = nio, path_fn, headers, read_size
        self.resp: Response = first.resp
        self.dev = first.dev
        self.data_ts = self.resp.headers.get(wire.BACKEND_DATA_TIMESTAMP) or self.resp.headers.get(wire.TIMESTAMP) or ""
        self.etag = self.resp.headers.get("etag")
        self.span = _span(self.resp)
        self.pos = self.span[0] if self.span else 0
        self.rest = list(first.rest)
        self._chunks: AsyncIterator[bytes] | None = None

    def __aiter__(self) -> AsyncIterator[bytes]:
        if self._chunks is None:
            self._chunks = self._iterate()
        return self._chunks  # ``async for`` steps the generator itself: no layer per chunk

    async def __anext__(self) -> bytes:
        return await self.__aiter__().__anext__()

    async def aclose(self) -> None:
        """Stop: the node connection is closed unless its body was complete."""
        if self._chunks is not None:
            await self._chunks.aclose()  # type: ignore[attr-defined]
        self.resp.close()

    async def _resume_after(self, exc: Exception | str) -> None:
        if self.dev is not None:
            self.nio.limiter.error(self.dev)
        if self.span is None or not self.data_ts:
            raise BodyError(f"object body broke at byte {self.pos}: {exc}")
        self.resp.close()
        self.resp, self.dev = await _resume(self.nio, self.rest, self.path_fn, self.headers, self.pos,
                                            self.span[1], self.data_ts, self.etag)

    async def _iterate(self) -> AsyncIterator[bytes]:
        try:
            while True:
                try:
                    chunk = await self.resp.read_chunk(self.read_size)
                except HttpError as exc:
                    await self._resume_after(exc)
                    continue
                if not chunk:
                    return
                self.pos += len(chunk)
                yield chunk
        finally:
            self.resp.close()

    async def relay(self, outlet: BodyOutlet) -> bool:
        """Deliver the whole body to ``outlet``: spliced where the outlet and the node connection allow it,
        sent as chunks otherwise. False when the outlet's receiver went away (the node connection is then
        closed); raises :class:`BodyError` when no replica could complete the body."""
        try:
            while True:
                source = self.resp.detach_body() if outlet.can_splice() else None
                if source is None:  # not spliceable (a chunked answer, TLS): the ordinary way
                    async for chunk in self:
                        if not await outlet.send(chunk):
                            return False
                    return True
                for piece in source.pieces:
                    self.pos += len(piece)
                    if not await outlet.send(piece):
                        return False
                result = await outlet.splice(source)
                self.pos += result.moved
                self.resp.spliced(result.moved)
                if result.destination_error is not None:
                    return False
                if result.source_error is None:
                    return True
                await self._resume_after(result.source_error)
        finally:
            self.resp.close()
