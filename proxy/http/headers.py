"""Header helpers that do not depend on an API."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from stackstore.headers import lookup

__all__ = ["lookup", "wire_text"]


def wire_text(value: str) -> str:
    """A header value as the text the client meant: its wire bytes (read as latin-1) decoded as UTF-8.

    HTTP servers hand header values over as latin-1; Swift clients send names and metadata as raw
    UTF-8. A value that is not valid UTF-8 is returned unchanged.
    """
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def unquote_wire(value: str) -> str | None:
    """Percent-decode a header value holding a path (raw UTF-8 or %-encoded); None when not UTF-8."""
    try:
        raw = value.encode("latin-1")
    except UnicodeEncodeError:
        raw = value.encode("utf-8")
    try:
        return unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return None
