"""Unix sockets of the storage nodes of this host, beside their TCP ports.

A storage node listens on its address and port (what the rings name) and, unless the cluster's internal
traffic is TLS, on ``<data_dir>/sockets/node-<port>.sock`` as well. A process of the same cloud on the same
host (the proxy, a node's daemons and peers) that is about to connect to a loopback address whose node has
such a socket connects to the socket instead: the same HTTP, the same signed requests, without the TCP
stack. Over loopback TCP every send also runs the receiver's TCP input and every message is acknowledged;
over a Unix socket a 4.6 KB request and its answer cost each side about 12 µs of CPU instead of about 30
(docs/benchmarks.md, session 20).

Only loopback addresses are mapped: a ring entry of another host never names a file of this one, and the
file lives in this cloud's own data directory, so another cloud on the same host with a node on the same
port is not reached by mistake. The directory is private (0700) like the data directory; the requests are
signed with the node key as over TCP. A path longer than the kernel allows (108 bytes) means no socket:
the node does not bind it and the clients find no file, so both keep to TCP. A node that stopped leaves
its file: connecting to it is refused, as connecting to its port is (the next start replaces the file).
"""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path
from typing import Any

SOCKET_DIR = "sockets"
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
_MAX_PATH = 107  # sockaddr_un.sun_path holds 108 bytes, the last one the terminating NUL


# Send buffer of either end of a node socket connection. A Unix socket's sender may queue only its send buffer
# (212,992 bytes by default) at the receiver, so a 1 MiB object left a node in five sendfile calls, each after
# an event-loop wakeup, where loopback TCP's autotuned buffers took it in one: 1 MiB GETs cost the node and the
# proxy more than over TCP until both ends asked for more (capped by net.core.wmem_max).
SEND_BUFFER = 4 << 20


def socket_dir(data_dir: str | os.PathLike[str]) -> str:
    """Where the node sockets of the cloud with this data directory live."""
    return os.path.join(os.fspath(data_dir), SOCKET_DIR)


def node_socket_path(directory: str, port: int) -> str | None:
    """The socket of the node on ``port`` in ``directory``; None when the path is too long for a socket."""
    path = os.path.join(directory, f"node-{port}.sock")
    return path if len(os.fsencode(path)) <= _MAX_PATH else None


class LocalSockets:
    """Which node addresses of this host have a Unix socket in ``directory`` (looked up per new connection)."""

    def __init__(self, directory: str):
        self.directory = directory

    def path_for(self, ip: str, port: int) -> str | None:
        """The socket to connect to instead of ``ip:port``, or None (not loopback, or no such socket)."""
        if ip not in LOOPBACK:
            return None
        path = node_socket_path(self.directory, port)
        return path if path is not None and os.path.exists(path) else None


def bind_node_socket(directory: str, port: int) -> socket.socket | None:
    """A listening-ready Unix socket for the node on ``port`` (bound, mode 0600), replacing a stale file of
    an earlier run; None when the path would be too long. Call it after the TCP port is bound: holding the
    port is what makes this process the owner of the file."""
    path = node_socket_path(directory, port)
    if path is None:
        return None
    Path(directory).mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        os.chmod(path, 0o600)
    except OSError:
        sock.close()
        with contextlib.suppress(OSError):  # no file without a listener: clients would be refused, not use TCP
            os.unlink(path)
        raise
    return sock


def from_conf(conf: Any) -> LocalSockets | None:
    """The node sockets a process of the cloud of ``conf`` may use (None: ``[cluster] local_sockets`` off, or
    internal TLS, which a socket would bypass). Config values are typed already (stackstore/config.py)."""
    cluster = conf.get("cluster") or {}
    if not cluster.get("local_sockets", True) or cluster.get("internal_tls", False):
        return None
    return LocalSockets(socket_dir(conf.data_dir))


def widen_send_buffer(sock: socket.socket | None) -> None:
    """Raise a Unix socket connection's send buffer to :data:`SEND_BUFFER` (no-op for other sockets)."""
    if sock is not None and sock.family == socket.AF_UNIX:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
