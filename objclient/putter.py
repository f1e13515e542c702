"""Object PUT: stream one body to all replicas at once and decide by quorum.

Each primary slot opens its connection with ``Expect: 100-continue``; a slot whose node is error-limited,
unreachable, slow to answer or says 507/5xx moves to the next handoff before any data flows. The body is
then written to every live connection chunk by chunk (transport buffers bounded by ``drain``); a node
failing mid-stream is dropped and the quorum of final answers decides.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Callable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass

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
Footer = Callable[[], Mapping[str, str]]  # sysmeta known once the body was read

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
) -> tuple[list[_Live], list[NodeResult]]:
    """Open one upload per primary slot (handoffs replace failing primaries)."""
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

    results = await asyncio.gather(*(slot(i) for i in range(len(primaries))))
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
    async with aclosing(_client_chunks(body, content_length)) as chunks:
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
        return BackendResponse.simple(202, {wire.TIMESTAMP: timestamp.normal})
    if best is not None:
        return BackendResponse.simple(best)
    if 422 in statuses:
        return BackendResponse.simple(422)
    if 499 in statuses:
        return BackendResponse.simple(499)
    return BackendResponse.simple(503)


async def _client_chunks(body: AsyncIterable[bytes], content_length: int | None) -> AsyncGenerator[bytes]:
    """The client body's non-empty chunks, checked against ``content_length`` (None: unknown).

    Raises ClientBodyError if the body fails or ends short, ValueError (before yielding the chunk) once it
    is longer than declared.
    """
    total = 0
    it = body.__aiter__()
    while True:
        try:
            chunk = await it.__anext__()
        except StopAsyncIteration:
            break
        except Exception as exc:
            raise ClientBodyError(str(exc)) from exc
        if not chunk:
            continue
        total += len(chunk)
        if content_length is not None and total > content_length:
            raise ValueError("body longer than Content-Length")
        yield chunk
    if content_length is not None and total < content_length:
        raise ClientBodyError(f"body ended after {total} of {content_length} bytes")


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
    return b"".join([chunk async for chunk in _client_chunks(body, content_length)])


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
) -> BackendResponse:
    """A small PUT (``content_length <= BUFFERED_PUT_MAX``): read the body, then fan it out (the footer's
    headers, known by then, go with the request head)."""
    try:
        data = await _collect(body, content_length)
    except ClientBodyError:
        return BackendResponse.simple(499, HeaderDict(), b"client body ended early")
    except ValueError as exc:
        return BackendResponse.simple(400, HeaderDict(), str(exc).encode())
    if footer is not None:
        extra = footer()
        slot_headers = [{**h, **extra} for h in slot_headers]
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
) -> BackendResponse:
    """Stream ``body`` to all replicas of ``part``; 201/202/422/499/503 as Swift's proxy answers.

    With ``footer`` its headers follow the body as a metadata footer (stackstore/footer.py), asked for
    once the whole body was read (a chunked body of unknown length ends with it as well)."""
    if footer is not None:
        slot_headers = [{**h, FOOTER_HEADER: str(FOOTER_LENGTH)} for h in slot_headers]
        if content_length is not None:
            body, content_length = _then_footer(body, content_length, footer), content_length + FOOTER_LENGTH
        else:
            body = _then_footer_unsized(body, footer)
    replicas = len(slot_headers)
    quorum = quorum_size(replicas)
    live, finals = await _connect_slots(nio, ring, part, path_fn, slot_headers, content_length)
    done = False
    try:
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
        return _decide(list(results) + finals, replicas, timestamp)
    finally:
        if not done:
            _abort(live)
