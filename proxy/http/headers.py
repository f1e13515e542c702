"""Header helpers that do not depend on an API."""

from __future__ import annotations

from collections.abc import Mapping


def lookup(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup that also works on plain dicts."""
    value = headers.get(name)
    if value is None:
        lname = name.lower()
        for key, val in headers.items():
            if key.lower() == lname:
                return val
    return value


def header_text(value: str) -> str:
    """A header value as the client meant it: raw UTF-8 bytes (which the server hands over as
    Latin-1 characters) decoded as UTF-8, as Swift reads names from headers; other values as they are."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value
