"""Object PUT: stream one body to all replicas at once and decide by quorum.

Each primary slot opens its connection with ``Expect: 100-continue``; a slot whose node is error-limited,
unreachable, slow to answer or says 507/5xx moves to the next handoff before any data flows. The body is
then written to every live connection chunk by chunk (transport buffers bounded by ``drain``); a node
failing mid-stream is dropped and the quorum of final answers decides.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass

from objclient.body_digests import BodyDigests, Footer
from objclient.fanout import NodeIO, NodeResult, best_status, quorum_size
from objclient.headers import HeaderDict
from objclient.http import HttpError, Response, Upload
from objclient.nodes import Device, write_handoffs
from objclient.response import BackendResponse
from objclient.rings import Ring
from stackstore import wire
from stackstore.footer import FOOTER_HEADER, FOOTER_LENGTH, encode_footer
from stackstore.timestamp import Timestamp

PathFn = Callable[[Device], str]

# Bodies up to BUFFERED_PUT_MAX (stackstore/wire.py; with a known Content-Length) are read first and sent
# with the request head in one write, without Expect: 100-continue: one round trip less, and a node that
# fails or says 507 is replaced by a handoff all the same (the body is still at hand).


class ClientBodyError(Exception):
    """The caller's body iterator failed or ended before Content-Length (client gone)."""


@dataclass
class _Live:
    dev: Device
    upload: Upload


async def _connect_slots(
    nio: NodeIO,
    ring: Ring,
    part: int,
    path_fn: PathFn,
    slot_headers: Sequence[Mapping[str, str]],
    content_length: int | None,
    stop_at: Callable[[NodeResult], bool] | None = None,
) -> tuple[list[_Live], list[NodeResult]]:
    """Open one upload per primary slot (handoffs replace failing primaries).

    With ``stop_at`` (conditional PUTs) the slots are opened one after another in ring order, and a
    final answer ``stop_at`` accepts ends it: every writer takes the nodes' reservations in the same
    order, so the first to reserve a node is the only one to go on (no split, no deadlock)."""
    primaries = list(ring.primaries(part))
    handoffs = write_handoffs(ring, part, nio.limiter, len(primaries))

    async def slot(i: int) -> _Live | NodeResult:
        dev: Device | None = primaries[i]
        if nio.limiter.is_limited(primaries[i]):
            dev = next(handoffs, None)
        while dev is not None:
            try:
                got = await nio.pool.begin_upload(
                    dev.ip, dev.port, "PUT", path_fn(dev), slot_headers[i], content_length, expect=True
                )
            except HttpError:
                nio.limiter.error(dev)
                dev = next(handoffs, None)
                continue
            if isinstance(got, Upload):
                return _Live(dev, got)
            got.close()
            if not nio.note_status(dev, got.status):
                return NodeResult(got.status, got.headers, b"", dev)
            dev = next(handoffs, None)
        return NodeResult(503)

    if stop_at is None:
        results = await asyncio.gather(*(slot(i) for i in range(len(primaries))))
    else:
        results = []
        for i in range(len(primaries)):
            results.append(await slot(i))
            if isinstance(results[-1], NodeResult) and stop_at(results[-1]):
                break
    live = [r for r in results if isinstance(r, _Live)]
    finals = [r for r in results if isinstance(r, NodeResult)]
    return live, finals


def _abort(live: Sequence[_Live]) -> None:
    for node in live:
        node.upload.abort()


async def _stream(
    nio: NodeIO, live: list[_Live], body: AsyncIterable[bytes], content_length: int | None, quorum: int
) -> tuple[list[_Live], int]:
    """Copy the body to every live upload; returns the surviving uploads and bytes sent.

    Raises ClientBodyError if the body fails or is short, ValueError if it is longer than declared.
    """
    total = 0
    async with aclosing(_ClientChunks(body, content_length)) as chunks:
        async for chunk in chunks:
            total += len(chunk)
            failed = []
            for node in live:
                try:
                    node.upload.write(chunk)
                except HttpError:
                    failed.append(node)
            for node in live:
                if node not in failed and node.upload.needs_drain:
                    try:
                        await node.upload.drain()
                    except HttpError:
                        failed.append(node)
            if failed:
                for node in failed:
                    node.upload.abort()
                    nio.limiter.error(node.dev)
                live = [n for n in live if n not in failed]
                if len(live) < quorum:
                    return live, total
    return live, total


async def _finish(nio: NodeIO, node: _Live) -> NodeResult:
    try:
        resp: Response = await node.upload.finish()
        await resp.drain_body()
    except HttpError:
        nio.limiter.error(node.dev)
        return NodeResult(503, dev=node.dev)
    nio.note_status(node.dev, resp.status)
    return NodeResult(resp.status, resp.headers, b"", node.dev)


def _decide(results: Sequence[NodeResult], replicas: int, timestamp: Timestamp) -> BackendResponse:
    quorum = quorum_size(replicas)
    statuses = [r.status for r in results] + [503] * (replicas - len(results))
    best = best_status(statuses, quorum)
    if best is not None and 200 <= best < 300:
        etags = {(r.headers.get("etag") or "").strip('"') for r in results if 200 <= r.status < 300}
        if len(etags) > 1:
            return BackendResponse.simple(503, data=b"replicas disagree on the ETag")
        return BackendResponse.simple(
            201, {"ETag": etags.pop(), wire.TIMESTAMP: timestamp.normal, "Last-Modified": timestamp.http_date}
        )
    if best == 409:  # a newer version is already stored: the write is superseded (Swift: 202)
        superseded = {wire.TIMESTAMP: timestamp.normal}
        # with the body's ETag when the nodes read the body before they refused it
        etags = {(r.headers.get("etag") or "").strip('"') for r in results if r.status in (201, 409)}
        if len(etags) == 1 and "" not in etags:
            superseded["ETag"] = etags.pop()
        return BackendResponse.simple(202, superseded)
    if best is not None:
        return BackendResponse.simple(best)
    if 422 in statuses:
        return BackendResponse.simple(422)
    if 499 in statuses:
        return BackendResponse.simple(499)
    return BackendResponse.simple(503)


def _commit_stamp(lower_bound: Timestamp) -> Timestamp:
    """The version of a write completing now (never older than its request's X-Timestamp)."""
    return max(Timestamp.now(), lower_bound)


def _stamping_footer(footer: Footer | None, lower_bound: Timestamp, stamped: list[Timestamp]) -> Footer:
    """``footer`` plus the write's commit timestamp, stamped when called (once the body was read) and
    recorded in ``stamped``."""
    def with_stamp() -> Mapping[str, str]:
        out = dict(footer()) if footer is not None else {}
        stamped.append(_commit_stamp(lower_bound))
        out[wire.COMMIT_TIMESTAMP] = stamped[-1].normal
        return out
    return with_stamp


def put_condition(headers: Mapping[str, str]) -> str | None:
    """The node-decided condition a PUT's headers carry (stackstore/wire.py): "if-none-match",
    "if-match" or None."""
    names = {k.lower() for k in headers}
    if wire.COND_IF_NONE_MATCH.lower() in names:
        return "if-none-match"
    return "if-match" if wire.COND_IF_MATCH.lower() in names else None


def _reservation_conflict(result: NodeResult) -> bool:
    return result.status == 409 and result.headers.get(wire.CONFLICT) == wire.RESERVATION_CONFLICT


def _condition_stopper(if_none_match: bool) -> Callable[[NodeResult], bool]:
    """Which node answer ends a conditional PUT's reservations: another writer's reservation, or an
    object present for If-None-Match: * (a 412 for If-Match may be a stale replica: go on)."""
    return lambda r: _reservation_conflict(r) or (if_none_match and r.status == 412)


def _condition_refusal(
    finals: Sequence[NodeResult], reserved: int, quorum: int, if_none_match: bool
) -> BackendResponse | None:
    """The answer of a conditional PUT that must not send its body (None: go ahead).

    If-None-Match: * is refused (412) when any node holds the object; a node reserved by another writer
    is a conflict (409 with ``CONFLICT: RESERVATION_CONFLICT``); If-Match is refused when fewer than a
    quorum of nodes accepted it (a replica that missed the latest write refuses a current ETag: the
    quorum that holds it decides), with 412 (404 when no node has the object), else 503. Reservations
    are exclusive and taken in ring order, so two concurrent writers never both go ahead."""
    statuses = [r.status for r in finals]
    if if_none_match and 412 in statuses:
        return BackendResponse.simple(412)
    if any(_reservation_conflict(r) for r in finals):
        return BackendResponse.simple(409, {wire.CONFLICT: wire.RESERVATION_CONFLICT})
    if reserved >= quorum:
        return None
    if 412 in statuses:
        return BackendResponse.simple(412)
    if 404 in statuses:
        return BackendResponse.simple(404)
    return BackendResponse.simple(503)


class _ClientChunks:
    """The client body's non-empty chunks, checked against ``content_length`` (None: unknown).

    Raises ClientBodyError if the body fails or ends short, ValueError (before answering the chunk) once it
    is longer than declared. A class, not an async generator: the event loop keeps each of those in a
    ``WeakSet``, and every PUT reads its body through this."""

    __slots__ = ("_body", "_content_length", "_total", "_done")

    def __init__(self, body: AsyncIterable[bytes], content_length: int | None):
        self._body = body.__aiter__()
        self._content_length = content_length
        self._total = 0
        self._done = False

    def __aiter__(self) -> _ClientChunks:
        return self

    async def __anext__(self) -> bytes:
        if self._done:
            raise StopAsyncIteration
        while True:
            try:
                chunk = await self._body.__anext__()
            except StopAsyncIteration:
                self._done = True
                if self._content_length is not None and self._total < self._content_length:
                    raise ClientBodyError(f"body ended after {self._total} of {self._content_length} bytes") \
                        from None
                raise
            except Exception as exc:
                self._done = True
                raise ClientBodyError(str(exc)) from exc
            if chunk:
                break
        self._total += len(chunk)
        if self._content_length is not None and self._total > self._content_length:
            self._done = True
            raise ValueError("body longer than Content-Length")
        return chunk

    async def aclose(self) -> None:
        """Stop (what ``contextlib.aclosing`` calls): the client body itself is left as it is."""
        self._done = True


async def _then_footer(body: AsyncIterable[bytes], content_length: int, footer: Footer) -> AsyncIterator[bytes]:
    """``body`` (exactly ``content_length`` bytes, else ClientBodyError), then the encoded footer."""
    sent = 0
    async for chunk in body:
        sent += len(chunk)
        yield chunk
    if sent != content_length:
        raise ClientBodyError(f"body ended after {sent} of {content_length} bytes")
    yield encode_footer(footer())


async def _then_footer_unsized(body: AsyncIterable[bytes], footer: Footer) -> AsyncIterator[bytes]:
    """A body of unknown length (sent chunked), then the encoded footer: the node keeps the last
    ``FOOTER_LENGTH`` bytes back as the footer."""
    async for chunk in body:
        yield chunk
    yield encode_footer(footer())


async def _collect(body: AsyncIterable[bytes], content_length: int) -> bytes:
    return b"".join([chunk async for chunk in _ClientChunks(body, content_length)])


async def put_buffered(
    nio: NodeIO,
    ring: Ring,
    part: int,
    path_fn: PathFn,
    slot_headers: Sequence[Mapping[str, str]],
    body: AsyncIterable[bytes],
    content_length: int,
    timestamp: Timestamp,
    footer: Footer | None = None,
    stamp_at_commit: bool = False,
) -> BackendResponse:
    """A small PUT (``content_length <= BUFFERED_PUT_MAX``): read the body, then fan it out (the footer's
    headers, known by then, go with the request head). ``stamp_at_commit``: see ``put_streamed``."""
    try:
        data = await _collect(body, content_length)
    except ClientBodyError:
        return BackendResponse.simple(499, HeaderDict(), b"client body ended early")
    except ValueError as exc:
        return BackendResponse.simple(400, HeaderDict(), str(exc).encode())
    if footer is not None:
        extra = footer()
        slot_headers = [{**h, **extra} for h in slot_headers]
    if stamp_at_commit:  # the body is here: this is the write's completion time
        timestamp = _commit_stamp(timestamp)
        slot_headers = [{**h, wire.TIMESTAMP: timestamp.normal} for h in slot_headers]
    results = await nio.fanout(ring, part, "PUT", path_fn, slot_headers, data)
    return _decide(results, len(slot_headers), timestamp)


async def put_streamed(
    nio: NodeIO,
    ring: Ring,
    part: int,
    path_fn: PathFn,
    slot_headers: Sequence[Mapping[str, str]],
    body: AsyncIterable[bytes],
    content_length: int | None,
    timestamp: Timestamp,
    footer: Footer | None = None,
    stamp_at_commit: bool = False,
) -> BackendResponse:
    """Stream ``body`` to all replicas of ``part``; 201/202/422/499/503 as Swift's proxy answers.

    With ``footer`` its headers follow the body as a metadata footer (stackstore/footer.py), asked for
    once the whole body was read (a chunked body of unknown length ends with it as well).
    ``stamp_at_commit`` (and a known length) versions the write by the time its whole body was received,
    carried in the footer (``wire.COMMIT_TIMESTAMP``): of overlapping writes the one that completes last
    wins (S3)."""
    stamped: list[Timestamp] = []
    if stamp_at_commit and content_length is not None:
        footer = _stamping_footer(footer, timestamp, stamped)
        slot_headers = [{**h, wire.COMMIT_TIMESTAMP: wire.COMMIT_TIMESTAMP_IN_FOOTER} for h in slot_headers]
    digests = BodyDigests()  # the body's MD5 once here, not once per replica (stackstore/wire.py)
    body, footer = digests.wrap(body), digests.footer(footer)
    slot_headers = [{**h, wire.BODY_DIGESTS: wire.BODY_DIGESTS_IN_FOOTER} for h in slot_headers]
    if footer is not None:
        slot_headers = [{**h, FOOTER_HEADER: str(FOOTER_LENGTH)} for h in slot_headers]
        if content_length is not None:
            body, content_length = _then_footer(body, content_length, footer), content_length + FOOTER_LENGTH
        else:
            body = _then_footer_unsized(body, footer)
    replicas = len(slot_headers)
    quorum = quorum_size(replicas)
    condition = put_condition(slot_headers[0]) if slot_headers else None
    stop_at = _condition_stopper(condition == "if-none-match") if condition else None
    live, finals = await _connect_slots(nio, ring, part, path_fn, slot_headers, content_length, stop_at)
    done = False
    try:
        if condition and (refusal := _condition_refusal(finals, len(live), quorum,
                                                        condition == "if-none-match")) is not None:
            return refusal
        if len(live) < quorum:
            return _decide(finals + [NodeResult(503)] * len(live), replicas, timestamp)
        try:
            live, _ = await _stream(nio, live, body, content_length, quorum)
        except ClientBodyError:
            return BackendResponse.simple(499, HeaderDict(), b"client body ended early")
        except ValueError as exc:
            return BackendResponse.simple(400, HeaderDict(), str(exc).encode())
        if len(live) < quorum:
            return BackendResponse.simple(503, HeaderDict(), b"too many storage nodes failed")
        results = await asyncio.gather(*(_finish(nio, node) for node in live))
        done = True
        return _decide(list(results) + finals, replicas, stamped[-1] if stamped else timestamp)
    finally:
        if not done:
            _abort(live)
