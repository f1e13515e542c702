"""The configuration values the internal client reads, typed (``[proxy]`` section of the config)."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stackstore.local_sockets import LocalSockets


@dataclass(frozen=True)
class ClientSettings:
    """Timeouts and error limiting of :class:`objclient.client.StorageClient`.

    ``concurrency_timeout``: a read not answered by then is also asked of the next replica (Swift's
    hedged reads); ``None`` disables it.
    """

    conn_timeout: float = 0.5
    node_timeout: float = 10.0
    error_suppression_interval: float = 30.0
    error_suppression_limit: int = 3
    concurrency_timeout: float | None = 0.5
    node_key: bytes | None = None  # signs every request to a node (``stackstore.node_signing``)
    ssl_context: ssl.SSLContext | None = None  # nodes serve HTTPS (``stackstore.internal_tls``)
    local_sockets: LocalSockets | None = None  # nodes of this host by Unix socket (``stackstore.local_sockets``)

    @classmethod
    def from_conf(cls, conf: Mapping[str, Any]) -> ClientSettings:
        """Read ``conf["proxy"]`` (or ``conf`` itself when it has no ``proxy`` section)."""
        section: Mapping[str, Any] = conf["proxy"] if "proxy" in conf else conf
        conn_timeout = float(section.get("conn_timeout", cls.conn_timeout))
        hedge = float(section.get("concurrency_timeout", conn_timeout))
        return cls(
            conn_timeout=conn_timeout,
            node_timeout=float(section.get("node_timeout", cls.node_timeout)),
            error_suppression_interval=float(
                section.get("error_suppression_interval", cls.error_suppression_interval)
            ),
            error_suppression_limit=int(section.get("error_suppression_limit", cls.error_suppression_limit)),
            concurrency_timeout=hedge if hedge > 0 else None,
        )
