"""One connection :class:`~objclient.http.Pool` per event loop, for a storage node's own requests to its
peers (row updates, the updater, replication).

A node may run several event loops (its server loop, background-task loops); connections belong to the
loop that opened them, so each loop gets its own pool, created on first use and dropped with the loop.
"""

from __future__ import annotations

import asyncio
import ssl
import weakref

from objclient.http import Pool
from stackstore.local_sockets import LocalSockets

# Node-to-node calls bound each whole exchange with their own timeout (``Pool.call(timeout=...)``), as
# the client they replace did: connecting may take as long as that, not the proxy's short conn_timeout.
PEER_CONN_TIMEOUT = 10.0
PEER_NODE_TIMEOUT = 10.0

_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Pool] = weakref.WeakKeyDictionary()
_signing_key: bytes | None = None
_ssl_context: ssl.SSLContext | None = None
_local_sockets: LocalSockets | None = None


def set_signing_key(key: bytes | None) -> None:
    """The node key this process signs its peer requests with (set once by the storage node at start)."""
    global _signing_key
    _signing_key = key
    _pools.clear()


def set_ssl_context(context: ssl.SSLContext | None) -> None:
    """How this process verifies its peers' HTTPS (``[cluster] internal_tls``; None: plain HTTP)."""
    global _ssl_context
    _ssl_context = context
    _pools.clear()


def set_local_sockets(sockets: LocalSockets | None) -> None:
    """The node sockets of this host this process reaches its peers through (stackstore/local_sockets.py)."""
    global _local_sockets
    _local_sockets = sockets
    _pools.clear()


def loop_pool() -> Pool:
    """The running event loop's pool for node-to-node requests (must be called inside a coroutine)."""
    loop = asyncio.get_running_loop()
    pool = _pools.get(loop)
    if pool is None:
        pool = _pools[loop] = Pool(conn_timeout=PEER_CONN_TIMEOUT, node_timeout=PEER_NODE_TIMEOUT,
                                   signing_key=_signing_key, ssl_context=_ssl_context,
                                   local_sockets=_local_sockets)
    return pool
