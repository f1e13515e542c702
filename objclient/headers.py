"""A small case-insensitive header mapping (keeps the first spelling of each name)."""

from __future__ import annotations

from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping, MutableMapping
from typing import TypeVar, overload

_T = TypeVar("_T")
_MISSING = object()

# Hop-by-hop and per-connection headers: never copied between a node response and the caller
# (or from the caller's headers onto a node request).
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "expect",
        "proxy-connection",
        "host",
        "content-length",
    }
)


class HeaderDict(MutableMapping[str, str]):
    """Case-insensitive ``str -> str`` mapping; iteration yields names as first set."""

    __slots__ = ("_d",)
    CASE_INSENSITIVE = True  # stackstore.headers.lookup: a miss of get() is a miss in every spelling

    def __init__(self, data: Mapping[str, str] | Iterable[tuple[str, str]] | None = None):
        self._d: dict[str, tuple[str, str]] = {}
        if data is None:
            return
        # type() first: HeaderDict is an ABC (MutableMapping), and isinstance against it runs Python code
        kind = type(data)
        if kind is HeaderDict or (kind is not dict and isinstance(data, HeaderDict)):  # a copy
            self._d = dict(data._d)  # type: ignore[union-attr]
        elif isinstance(data, dict):  # in one pass; other mappings (Starlette's multi-valued Headers) go
            self._d = {name.lower(): (name, value) for name, value in data.items()}  # through update, as before
        else:
            self.update(data)

    def __getitem__(self, key: str) -> str:
        return self._d[key.lower()][1]

    def __setitem__(self, key: str, value: str) -> None:
        self._d[key.lower()] = (key, value)

    def __delitem__(self, key: str) -> None:
        del self._d[key.lower()]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._d

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._d.values())

    def items(self) -> ItemsView[str, str]:
        """The (first spelling, value) pairs, read straight from the store (every node request's head and
        signature walks them; the mixin's view would look each name up again)."""
        return _Items(self)

    def __len__(self) -> int:
        return len(self._d)

    def without(self, lower_names: frozenset[str]) -> HeaderDict:
        """A copy without the headers named in ``lower_names`` (lower-case)."""
        new = HeaderDict()
        new._d = {low: item for low, item in self._d.items() if low not in lower_names}
        return new

    def lower_names(self) -> KeysView[str]:
        """The lower-case names (a live view of the store): set operations and joins on them run in C."""
        return self._d.keys()

    def entries(self) -> ItemsView[str, tuple[str, str]]:
        """``(lower-case name, (first spelling, value))`` of the store itself (not a copy): what a filter on
        names walks, without lowering each again or a generator in between."""
        return self._d.items()

    @overload
    def get(self, key: str) -> str | None: ...

    @overload
    def get(self, key: str, default: str) -> str: ...

    @overload
    def get(self, key: str, default: _T) -> str | _T: ...

    def get(self, key: str, default: object = None) -> object:
        item = self._d.get(key.lower())
        return default if item is None else item[1]

    def add(self, key: str, value: str) -> None:
        """Set, or append with ``", "`` if the name is already present (repeated header lines)."""
        low = key.lower()
        old = self._d.get(low)
        self._d[low] = (key, value) if old is None else (old[0], f"{old[1]}, {value}")

    @overload
    def pop(self, key: str) -> str: ...

    @overload
    def pop(self, key: str, default: str) -> str: ...

    @overload
    def pop(self, key: str, default: _T) -> str | _T: ...

    def pop(self, key: str, default: object = _MISSING) -> object:
        """``MutableMapping.pop`` in one dictionary call (the mixin looks the name up twice in Python)."""
        item = self._d.pop(key.lower(), None)
        if item is None:
            if default is _MISSING:
                raise KeyError(key)
            return default
        return item[1]

    def update(self, other: object = (), /, **kwargs: str) -> None:
        """``MutableMapping.update`` without a Python ``__setitem__`` call per name: a HeaderDict's or a
        dict's pairs go straight into the store; other mappings as the mixin reads them (one value per
        name, ``other[name]``), and pairs in order."""
        store = self._d
        kind = type(other)
        if kind is HeaderDict or (kind is not dict and isinstance(other, HeaderDict)):
            store.update(other._d)  # type: ignore[attr-defined]
        elif isinstance(other, dict):
            for name, value in other.items():
                store[name.lower()] = (name, value)
        elif isinstance(other, Mapping) or hasattr(other, "keys"):
            for name in other.keys():
                store[name.lower()] = (name, other[name])  # type: ignore[index]
        else:
            for name, value in other:  # type: ignore[attr-defined]
                store[name.lower()] = (name, value)
        for name, value in kwargs.items():
            store[name.lower()] = (name, value)

    def copy(self) -> HeaderDict:
        new = HeaderDict()
        new._d = dict(self._d)
        return new

    def __repr__(self) -> str:
        return f"HeaderDict({dict(self.items())!r})"


class _Items(ItemsView[str, str]):
    """``HeaderDict.items()``: the mixin's view (membership, set operations) iterating the stored pairs."""

    _mapping: HeaderDict

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._mapping._d.values())


def strip_hop_by_hop(headers: Mapping[str, str] | None) -> HeaderDict:
    """A copy of ``headers`` without hop-by-hop and framing headers."""
    out = HeaderDict()
    if headers:
        for k, v in headers.items():
            if k.lower() not in HOP_BY_HOP:
                out[k] = v
    return out
