"""Object metadata known only once a PUT's body has been sent (e.g. an S3 trailer checksum).

The format's constants are part of the wire contract (``stackstore/wire.py``).

The proxy declares ``X-Backend-Footer-Length: FOOTER_LENGTH`` and a Content-Length that counts the
footer, then sends the body followed by the footer: a JSON object of ``X-Object-Sysmeta-*`` headers,
padded with spaces to exactly ``FOOTER_LENGTH`` bytes. The storage node stores the body and merges the
footer into the object's metadata before the write is committed, so both become durable together.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from stackstore.wire import BODY_MD5, BODY_XXH3, COMMIT_TIMESTAMP, FOOTER_HEADER, FOOTER_LENGTH
from stackstore.wire import FOOTER_ALLOWED_PREFIX as ALLOWED_PREFIX

_BACKEND_NAMES = {COMMIT_TIMESTAMP.lower(), BODY_MD5.lower(), BODY_XXH3.lower()}

__all__ = ["ALLOWED_PREFIX", "FOOTER_HEADER", "FOOTER_LENGTH", "decode_footer", "encode_footer"]


def allowed_in_footer(name: str) -> bool:
    """Whether a footer may carry ``name``: sysmeta, the write's commit timestamp or the body's digests
    (stackstore/wire.py)."""
    return name.lower().startswith(ALLOWED_PREFIX) or name.lower() in _BACKEND_NAMES


def encode_footer(headers: Mapping[str, str]) -> bytes:
    """The padded footer of ``headers``; ValueError when they are not sysmeta or do not fit."""
    if any(not allowed_in_footer(name) for name in headers):
        raise ValueError("a footer carries X-Object-Sysmeta-* headers only")
    blob = json.dumps(dict(headers), separators=(",", ":")).encode("utf-8")
    if len(blob) > FOOTER_LENGTH:
        raise ValueError(f"footer of {len(blob)} bytes exceeds {FOOTER_LENGTH}")
    return blob.ljust(FOOTER_LENGTH, b" ")


def decode_footer(data: bytes) -> dict[str, str]:
    """The headers of a footer; ValueError when it is malformed or names anything but sysmeta."""
    try:
        parsed = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"bad footer: {exc}") from None
    if not isinstance(parsed, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and allowed_in_footer(k)
            for k, v in parsed.items()):
        raise ValueError("a footer carries X-Object-Sysmeta-* string headers only")
    return parsed
