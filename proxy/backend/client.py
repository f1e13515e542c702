"""The internal client: every proxy feature reaches the storage nodes only through StorageClient.

INTERFACE SKELETON — the backend helper fills in the bodies; signatures are the contract
(see docs/internal-api.md). Header mappings are case-insensitive on responses.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class BackendResponse:
    """A response from the cluster: status, case-insensitive headers, streaming body."""

    status: int
    headers: Mapping[str, str]
    body: AsyncIterator[bytes] = field(default=None)  # type: ignore[assignment]

    async def read(self) -> bytes:
        """Read the whole (small) body: listings, errors, manifests."""
        raise NotImplementedError

    async def close(self) -> None:
        """Release the connection early (a client that stopped reading)."""
        raise NotImplementedError


class StorageClient:
    """Ring-aware client for the storage nodes, shared by all proxy controllers."""

    def __init__(self, conf: Any, rings: Any):
        raise NotImplementedError

    async def close(self) -> None: ...

    # -- objects --------------------------------------------------------------------------------
    async def head_object(self, account: str, container: str, obj: str,
                          headers: Mapping[str, str] | None = None) -> BackendResponse:
        """Newest copy's metadata (200/404). Tries replicas then handoffs."""
        raise NotImplementedError

    async def get_object(self, account: str, container: str, obj: str,
                         headers: Mapping[str, str] | None = None) -> BackendResponse:
        """200/206/404/416; body streams and survives a replica failing mid-body."""
        raise NotImplementedError

    async def put_object(self, account: str, container: str, obj: str, headers: Mapping[str, str],
                         body: AsyncIterator[bytes], content_length: int | None = None) -> BackendResponse:
        """Stream to all replicas; 201 with ETag once a quorum stored it; 422/499/503 otherwise."""
        raise NotImplementedError

    async def post_object(self, account: str, container: str, obj: str,
                          headers: Mapping[str, str]) -> BackendResponse:
        """Replace object metadata (202/404)."""
        raise NotImplementedError

    async def delete_object(self, account: str, container: str, obj: str,
                            headers: Mapping[str, str] | None = None) -> BackendResponse:
        """204/404 (quorum)."""
        raise NotImplementedError

    # -- containers -----------------------------------------------------------------------------
    async def head_container(self, account: str, container: str) -> BackendResponse:
        raise NotImplementedError

    async def list_container(self, account: str, container: str, *, prefix: str | None = None,
                             delimiter: str | None = None, marker: str | None = None,
                             end_marker: str | None = None, limit: int = 10000,
                             reverse: bool = False) -> tuple[BackendResponse, list[dict]]:
        """Response headers (status 200/404) and the parsed JSON rows."""
        raise NotImplementedError

    async def put_container(self, account: str, container: str,
                            headers: Mapping[str, str] | None = None) -> BackendResponse:
        raise NotImplementedError

    async def post_container(self, account: str, container: str,
                             headers: Mapping[str, str]) -> BackendResponse:
        raise NotImplementedError

    async def delete_container(self, account: str, container: str) -> BackendResponse:
        raise NotImplementedError

    # -- accounts -------------------------------------------------------------------------------
    async def head_account(self, account: str) -> BackendResponse:
        raise NotImplementedError

    async def list_account(self, account: str, *, prefix: str | None = None, delimiter: str | None = None,
                           marker: str | None = None, end_marker: str | None = None, limit: int = 10000,
                           reverse: bool = False) -> tuple[BackendResponse, list[dict]]:
        raise NotImplementedError

    async def put_account(self, account: str, headers: Mapping[str, str] | None = None) -> BackendResponse:
        raise NotImplementedError

    async def post_account(self, account: str, headers: Mapping[str, str]) -> BackendResponse:
        raise NotImplementedError

    async def delete_account(self, account: str) -> BackendResponse:
        raise NotImplementedError
