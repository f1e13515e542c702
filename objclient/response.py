"""BackendResponse: what the internal client hands to the proxy's controllers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

from objclient.headers import HeaderDict


async def _bytes_body(data: bytes) -> AsyncIterator[bytes]:
    if data:
        yield data


@dataclass
class BackendResponse:
    """A response from the cluster: status, case-insensitive headers, streaming body.

    ``body`` is an async iterator of byte chunks. If it cannot be completed (every replica failed
    mid-body) iterating it raises :class:`objclient.http.HttpError`, so the proxy can abort the
    client connection instead of sending a short body.
    """

    status: int
    headers: Mapping[str, str] = field(default_factory=HeaderDict)
    body: AsyncIterator[bytes] = field(default_factory=lambda: _bytes_body(b""))
    node: str | None = None  # "ip:port/device" of the replica that answered (diagnostics, logs)

    def __post_init__(self) -> None:
        if not isinstance(self.headers, HeaderDict):
            self.headers = HeaderDict(self.headers)
        if self.body is None:  # an explicit None: no body
            self.body = _bytes_body(b"")

    @classmethod
    def simple(
        cls, status: int, headers: Mapping[str, str] | None = None, data: bytes = b""
    ) -> BackendResponse:
        """A response whose (small) body is already in memory."""
        return cls(status, HeaderDict(headers or {}), _bytes_body(data))

    async def read(self) -> bytes:
        """Read the whole (small) body: listings, errors, manifests."""
        parts = [chunk async for chunk in self.body]
        return b"".join(parts)

    async def close(self) -> None:
        """Release the connection early (a client that stopped reading)."""
        aclose = getattr(self.body, "aclose", None)
        if aclose is not None:
            await aclose()
