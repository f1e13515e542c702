"""``from_config``: the one way a process builds its internal object client."""

from __future__ import annotations

import dataclasses
from typing import TypeVar

from objclient.client import StorageClient
from objclient.ring_distribution import watcher_from_config
from objclient.rings import Rings
from objclient.settings import ClientSettings
from stackstore import internal_tls, local_sockets
from stackstore.config import Config, ensure_hash_path_suffix
from stackstore.secrets import ensure_secret
from stackstore.storage_policies import policies_from_conf

C = TypeVar("C", bound=StorageClient)


def from_config(conf: Config, client_class: type[C] = StorageClient) -> C:  # type: ignore[assignment]
    """A :class:`StorageClient` for the cluster of ``conf``: the rings from ``conf.ring_dir``
    (one object ring per storage policy, hashed with the cluster's path suffix, created on first use),
    the ``[proxy]`` timeouts and the cluster's node key (every request it sends is signed).

    Create it inside the event loop that will use it (its connection pool belongs to that loop).
    ``client_class``: a subclass to build instead (the proxy's ``objclient.crypto.client.EncryptingClient``).
    Raises ``ring.RingFileError`` (or ``OSError``) when a ring file is missing or unreadable; see
    :func:`objclient.rings.rings_exist`.
    """
    policies = policies_from_conf(conf)
    watcher_from_config(conf)  # this process keeps its rings current: newer versions fetched from the nodes
    rings = Rings.load(conf.ring_dir, ensure_hash_path_suffix(conf), policies.indexes)
    settings = dataclasses.replace(ClientSettings.from_conf(conf),
                                   node_key=ensure_secret(conf, "node_key").encode(),
                                   ssl_context=internal_tls.client_context(conf),
                                   local_sockets=local_sockets.from_conf(conf))
    return client_class(settings, rings)
