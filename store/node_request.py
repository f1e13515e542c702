"""The node's request object: Starlette's ``Request`` with header lookups by dict.

Starlette's ``Headers`` finds a header by scanning the raw list and lower-casing and encoding the name
on every lookup. A request from the proxy carries 15-25 headers and the object routes look up about 15
names (condition, footer, digests, container targets, policy, ...): about 50 us of CPU per request. The
headers are decoded once, on first use, and the first value of each name indexed; ``items`` answers the
decoded pairs; everything else (``getlist``, ``raw``) is Starlette's own.
"""

from __future__ import annotations

import operator
from typing import Any

from starlette.datastructures import Headers
from starlette.requests import Request

_NAME, _VALUE = operator.itemgetter(0), operator.itemgetter(1)
_LATIN1 = operator.methodcaller("decode", "latin-1")


class NodeHeaders(Headers):
    """Immutable, case-insensitive headers (Starlette's ``Headers``) with O(1) single-value lookups;
    as Starlette's, a repeated name answers its first value."""

    def __init__(self, scope: Any) -> None:
        super().__init__(scope=scope)
        raw = self._list  # decoded by C iteration (a comprehension is ~6 Python steps per header)
        self._pairs: list[tuple[str, str]] = list(zip(map(_LATIN1, map(_NAME, raw)), map(_LATIN1, map(_VALUE, raw)),
                                                      strict=True))
        self._first: dict[str, str] = dict(reversed(self._pairs))  # the first occurrence wins

    def items(self) -> list[tuple[str, str]]:  # type: ignore[override]
        """Every (name, value), names lower-case, in order (decoded once, not on every call)."""
        return list(self._pairs)

    def __getitem__(self, key: str) -> str:
        try:
            return self._first[key.lower()]
        except KeyError:
            raise KeyError(key) from None

    def __contains__(self, key: Any) -> bool:
        return isinstance(key, str) and key.lower() in self._first

    def get(self, key: str, default: Any = None) -> Any:
        """The first value of ``key`` (any case), else ``default``."""
        return self._first.get(key.lower(), default)


class NodeRequest(Request):
    """A Starlette ``Request`` whose ``headers`` are :class:`NodeHeaders`."""

    @property
    def headers(self) -> NodeHeaders:
        """The request's headers, indexed by name on first use."""
        try:
            return self._node_headers
        except AttributeError:
            self._node_headers: NodeHeaders = NodeHeaders(self.scope)
            return self._node_headers
