"""BackendResponse: what the internal client hands to the proxy's controllers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

from objclient.headers import HeaderDict


class _BytesBody:
    """A body already in memory, as an async iterator of one chunk (none when empty). A class, not an async
    generator: the event loop keeps every async generator in a ``WeakSet`` (Python code on its first step and
    again when it is collected), and every small answer of the proxy has such a body."""

    __slots__ = ("_data",)

    def __init__(self, data: bytes):
        self._data = data

    def __aiter__(self) -> _BytesBody:
        return self

    async def __anext__(self) -> bytes:
        data = self._data
        if not data:
            raise StopAsyncIteration
        self._data = b""
        return data

    async def aclose(self) -> None:
        self._data = b""


def _bytes_body(data: bytes) -> AsyncIterator[bytes]:
    return _BytesBody(data)


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
