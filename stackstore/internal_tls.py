"""TLS between proxies/daemons and storage nodes (``[cluster] internal_tls``).

Off by default: node traffic is HMAC-signed (``stackstore.node_signing``) but cleartext, for a private
network. With ``internal_tls = true`` every storage node serves HTTPS on its node port with
``internal_tls_cert_file`` / ``internal_tls_key_file``, and every process that talks to nodes (proxies,
nodes to their peers, volumes backups, images, ``stackstore ring push|versions``, ``status``, ``relink``,
``dispersion``, the launcher's health checks) verifies the node's certificate against
``internal_tls_ca_file`` and checks that it names the address it connected to (the ring device's IP in
the certificate's subjectAltName). Requests stay signed as before.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class InternalTLSError(ValueError):
    """``internal_tls`` is on but a file it needs is not configured."""


@dataclass(frozen=True)
class InternalTLS:
    """The CA that signs node certificates, and this host's certificate and key (nodes only)."""

    ca_file: str
    cert_file: str = ""
    key_file: str = ""

    def server_options(self) -> dict[str, Any]:
        """uvicorn keyword arguments for a node serving HTTPS."""
        if not (self.cert_file and self.key_file):
            raise InternalTLSError("[cluster] internal_tls needs internal_tls_cert_file and internal_tls_key_file "
                                   "on a storage node")
        return {"ssl_certfile": self.cert_file, "ssl_keyfile": self.key_file}

    def client_context(self) -> ssl.SSLContext:
        """A context verifying node certificates against the cluster CA, host names (addresses) included."""
        return _client_context(self.ca_file)


@functools.lru_cache(maxsize=8)
def _client_context(ca_file: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def from_conf(conf: Mapping[str, Any]) -> InternalTLS | None:
    """The internal TLS settings of a configuration, or None when ``[cluster] internal_tls`` is off."""
    cluster: Mapping[str, Any] = conf.get("cluster") or {}
    if not cluster.get("internal_tls", False):
        return None
    ca_file = str(cluster.get("internal_tls_ca_file") or "")
    if not ca_file:
        raise InternalTLSError("[cluster] internal_tls needs internal_tls_ca_file (the CA of the node certificates)")
    return InternalTLS(ca_file, str(cluster.get("internal_tls_cert_file") or ""),
                       str(cluster.get("internal_tls_key_file") or ""))


def client_context(conf: Mapping[str, Any]) -> ssl.SSLContext | None:
    """The context for connections to storage nodes (None: plain HTTP)."""
    tls = from_conf(conf)
    return tls.client_context() if tls is not None else None


def node_scheme(conf: Mapping[str, Any]) -> str:
    """``https`` when the nodes serve TLS, else ``http``."""
    return "https" if from_conf(conf) is not None else "http"
