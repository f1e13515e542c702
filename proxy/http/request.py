"""The proxy's request object: Starlette's ``Request`` whose header lookups are dictionary lookups.

Starlette's ``Headers`` answers ``headers["x"]``, ``"x" in headers`` and ``headers.get("x")`` by
scanning the raw header list, and ``get`` of a missing header by raising and catching ``KeyError``.
A Swift request is asked for twenty-odd headers on its way through the pipeline (most of them absent),
so the proxy decodes the head once and indexes it at its first lookup: the same answers (the first of
repeated headers, names matched as Starlette matches them), each in one dictionary lookup; ``items()``,
``keys()`` and ``values()`` (walked by the metadata checks and header filters) reuse the decoded head.
``raw``, ``getlist`` and everything else are Starlette's.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import Headers
from starlette.requests import Request


class IndexedHeaders(Headers):
    """Request headers with ``__getitem__``/``__contains__``/``get`` answered from a dictionary built
    on first use (name → first value); immutable like Starlette's ``Headers``."""

    CASE_INSENSITIVE = True  # stackstore.headers.lookup: a miss of get() is a miss in every spelling
    _index: dict[str, str] | None = None
    _pairs: list[tuple[str, str]] | None = None

    def _decoded(self) -> list[tuple[str, str]]:
        pairs = self._pairs
        if pairs is None:
            pairs = self._pairs = [(key.decode("latin-1"), value.decode("latin-1")) for key, value in self._list]
        return pairs

    def _build_index(self) -> dict[str, str]:
        # ASGI gives lower-case names (a lookup lowers the name asked); the first of repeated headers wins
        index = self._index = dict(reversed(self._decoded()))
        return index

    def pairs(self) -> list[tuple[str, str]]:
        """The decoded head, in order (shared: not to be changed)."""
        return self._decoded()

    def keys(self) -> list[str]:  # type: ignore[override]
        return [key for key, _ in self._decoded()]

    def values(self) -> list[str]:  # type: ignore[override]
        return [value for _, value in self._decoded()]

    def items(self) -> list[tuple[str, str]]:  # type: ignore[override]
        return list(self._decoded())

    def __getitem__(self, key: str) -> str:
        try:
            return (self._index or self._build_index())[key.lower()]
        except KeyError:
            raise KeyError(key) from None

    def __contains__(self, key: Any) -> bool:
        return isinstance(key, str) and key.lower() in (self._index or self._build_index())

    def get(self, key: str, default: Any = None) -> Any:
        return (self._index or self._build_index()).get(key.lower(), default)


class ProxyRequest(Request):
    """A Starlette ``Request`` with :class:`IndexedHeaders`."""

    @property
    def headers(self) -> Headers:
        headers: Headers | None = self.__dict__.get("_headers")
        if headers is None:
            headers = self._headers = IndexedHeaders(scope=self.scope)
        return headers
