"""The internal object client: the one way processes of the cloud talk HTTP/1.1 to storage nodes.

``from_config(conf)`` builds a ring-aware :class:`StorageClient` (quorum writes, fallback reads);
``objclient.http.Pool`` is the pooled connection layer underneath, also used directly by the storage
nodes' background tasks (``objclient.loop_pool``). See docs/internal-api.md.
"""

from objclient.client import BackendResponse, BodyError, StorageClient
from objclient.factory import from_config
from objclient.settings import ClientSettings

__all__ = ["BackendResponse", "BodyError", "ClientSettings", "StorageClient", "from_config"]
