"""Reads: try replicas in turn (newest answer wins over stale ones) and resume broken GET bodies."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from proxy.backend.fanout import NodeIO
from proxy.backend.headers import HeaderDict
from proxy.backend.http import READ_SIZE, BrokenResponse, HttpError, Response
from proxy.backend.nodes import Device

PathFn = Callable[[Device], str]

# Response headers that describe the node connection, not the resource.
_DROP = frozenset({"connection", "keep-alive", "transfer-encoding", "date", "server"})
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$")


class BodyError(BrokenResponse):
    """A GET body broke and no other replica could continue it."""


def resource_headers(headers: Mapping[str, str]) -> HeaderDict:
    return HeaderDict((k, v) for k, v in headers.items() if k.lower() not in _DROP)


def timestamp_of(headers: Mapping[str, str]) -> str:
    """The version a node answered for (fixed-width timestamps compare as strings)."""
    for name in ("x-backend-timestamp", "x-put-timestamp", "x-timestamp"):
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


async def read_first(
    nio: NodeIO, method: str, nodes: Sequence[Device], path_fn: PathFn, headers: Mapping[str, str]
) -> ReadResult:
    """Ask nodes one at a time until one has the resource.

    404s and errors move on to the next node; a 2xx older than a tombstone already seen is skipped.
    Other answers (416, 412, 400, 409...) are final. 404 if some node said so, 503 if none answered.
    """
    notfound: ReadResult | None = None
    tomb_ts = ""
    for i, dev in enumerate(nodes):
        resp = await nio.call(dev, method, path_fn(dev), headers)
        if resp is None:
            continue
        status = resp.status
        if 200 <= status < 300:
            ts = timestamp_of(resp.headers)
            if tomb_ts and ts and ts < tomb_ts:
                resp.close()
                continue
            return ReadResult(status, resource_headers(resp.headers), resp, dev, rest=list(nodes[i + 1 :]))
        try:
            body = await resp.read()
        except HttpError:
            nio.limiter.error(dev)
            continue
        if nio.note_status(dev, status):
            continue
        result = ReadResult(status, resource_headers(resp.headers), None, dev, body)
        if status != 404:
            return result
        ts = resp.headers.get("x-backend-timestamp") or ""
        if notfound is None or ts > tomb_ts:
            notfound, tomb_ts = result, max(ts, tomb_ts)
    return notfound or ReadResult(503, HeaderDict())


async def read_newest(
    nio: NodeIO,
    method: str,
    nodes: Sequence[Device],
    replicas: int,
    path_fn: PathFn,
    headers: Mapping[str, str],
) -> ReadResult:
    """``X-Newest``: ask all primaries at once and answer with the newest version (or tombstone)."""
    primaries, others = list(nodes[:replicas]), list(nodes[replicas:])
    resps = await asyncio.gather(*(nio.call(d, method, path_fn(d), headers) for d in primaries))
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
        m = _CONTENT_RANGE.match(resp.headers.get("content-range", ""))
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
            and (resp.headers.get("x-backend-data-timestamp") or resp.headers.get("x-timestamp") or "")
            == data_ts
            and (etag is None or resp.headers.get("etag") == etag)
            and (_span(resp) or (-1, -1))[0] == pos
        )
        if same:
            return resp, dev
        await resp.drain_body()
        nio.note_status(dev, resp.status)
    raise BodyError(f"object body broke at byte {pos} and no replica could continue it")


async def resuming_body(
    nio: NodeIO, first: ReadResult, path_fn: PathFn, headers: Mapping[str, str], read_size: int = READ_SIZE
) -> AsyncIterator[bytes]:
    """The body of ``first.resp``; if its node fails mid-body, continue from another replica with
    ``Range: bytes=<offset>-<end>`` provided it serves the same data timestamp and ETag."""
    resp, dev = first.resp, first.dev
    assert resp is not None
    data_ts = resp.headers.get("x-backend-data-timestamp") or resp.headers.get("x-timestamp") or ""
    etag = resp.headers.get("etag")
    span = _span(resp)
    pos = span[0] if span else 0
    rest = list(first.rest)
    try:
        while True:
            try:
                chunk = await resp.read_chunk(read_size)
            except HttpError as exc:
                nio.limiter.error(dev)
                if span is None or not data_ts:
                    raise BodyError(f"object body broke at byte {pos}: {exc}") from exc
                resp, dev = await _resume(nio, rest, path_fn, headers, pos, span[1], data_ts, etag)
                continue
            if not chunk:
                return
            pos += len(chunk)
            yield chunk
    finally:
        resp.close()
