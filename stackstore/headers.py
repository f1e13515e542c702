"""Header lookup every layer shares (proxy, internal client, storage nodes)."""

from __future__ import annotations

from collections.abc import Mapping


def lookup(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup that also works on plain dicts (stored metadata, footers)."""
    value = headers.get(name)
    if value is None and not getattr(headers, "CASE_INSENSITIVE", False):  # else absent in any spelling
        lname = name.lower()
        for key, val in headers.items():
            if key.lower() == lname:
                return val
    return value
