"""Blocking code's way to the storage nodes: small signed requests over :mod:`objclient.http`.

Command-line tools (``stackstore status``, ``stackstore dispersion``, ``stackstore ring push``, the relink
check) and the ring watcher's thread are blocking code. Rather than keeping a second HTTP/1.1 client for
them (urllib, http.client), they run :class:`objclient.http.Pool` on a private event loop: the same head
encoding and request signing, TLS verification, chunked decoding and body limits as the proxy and the node
daemons. Call these from plain threads only, never from a thread running an event loop.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import uvloop

from objclient.http import SMALL_BODY_MAX, HttpError, Pool, Reply

MAX_CONCURRENT = 32  # requests in flight at once per call_nodes


@dataclass(frozen=True)
class NodeCall:
    """One request to a node: ``method path`` with an in-memory body."""

    ip: str
    port: int
    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


def split_address(address: str) -> tuple[str, int]:
    """``ip:port`` (``[v6]:port`` too) -> ``(ip, port)``; ValueError when it is not one."""
    host, sep, port = address.rpartition(":")
    if not sep or not host:
        raise ValueError(f"not an ip:port address: {address!r}")
    return host.strip("[]"), int(port)


def call_nodes(calls: Sequence[NodeCall], *, signing_key: bytes, tls: ssl.SSLContext | None = None,
               timeout: float = 5.0, max_body: int = SMALL_BODY_MAX) -> list[Reply | HttpError]:
    """Send ``calls`` concurrently, each signed with the cluster's node key (``signing_key``) and over
    HTTPS verified with ``tls`` when given; each within ``timeout`` seconds, its body read up to
    ``max_body`` bytes. Returns, in order, each call's :class:`Reply` or the :class:`HttpError` it met."""
    if not calls:
        return []
    # uvloop, as the proxy and the nodes: the standard library's loop leaves every refused connection in a
    # reference cycle (3.11's create_connection keeps the error in a list its own frame holds), and a ring
    # watcher that calls an unreachable peer every few seconds would pile them up between collections
    return uvloop.run(_call_all(calls, signing_key, tls, timeout, max_body))


def call_node(call: NodeCall, *, signing_key: bytes, tls: ssl.SSLContext | None = None,
              timeout: float = 5.0, max_body: int = SMALL_BODY_MAX) -> Reply:
    """:func:`call_nodes` for one request: its :class:`Reply`, or the :class:`HttpError` raised."""
    result = call_nodes([call], signing_key=signing_key, tls=tls, timeout=timeout, max_body=max_body)[0]
    if isinstance(result, HttpError):
        raise result
    return result


async def _call_all(calls: Sequence[NodeCall], signing_key: bytes, tls: ssl.SSLContext | None,
                    timeout: float, max_body: int) -> list[Reply | HttpError]:
    pool = Pool(conn_timeout=timeout, node_timeout=timeout, signing_key=signing_key, ssl_context=tls)
    slots = asyncio.Semaphore(MAX_CONCURRENT)

    async def one(call: NodeCall) -> Reply | HttpError:
        async with slots:
            try:
                return await pool.call(call.ip, call.port, call.method, call.path, call.headers, call.body,
                                       timeout=timeout, max_body=max_body)
            except HttpError as exc:
                return exc

    try:
        return list(await asyncio.gather(*(one(call) for call in calls)))
    finally:
        await pool.close()
