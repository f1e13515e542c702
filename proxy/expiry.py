"""Object expiry requested with ``X-Delete-At`` / ``X-Delete-After``, shared by both APIs.

The Swift API takes them on object writes; the S3 API takes them on PutObject, as Swift's s3api
passes them on (an extension no AWS client sends). Invalid values are refused with Swift's messages:
the Swift API answers 400 with them, the S3 API ``InvalidArgument``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping

from stackstore.numbers import is_ascii_digits, parse_int

MAX_DELETE_AT = 9999999999  # Swift clamps X-Delete-At to ten digits


class DeleteAtError(ValueError):
    """An invalid ``X-Delete-At``/``X-Delete-After``: ``header`` names it, ``str()`` is Swift's message."""

    def __init__(self, header: str, message: str):
        super().__init__(message)
        self.header = header


def delete_at(headers: Mapping[str, str], now: float | None = None) -> str | None:
    """The ``X-Delete-At`` to store from ``X-Delete-At``/``X-Delete-After`` (lower-case keys), or None;
    ``DeleteAtError`` when a value is not an integer or is in the past."""
    now = time.time() if now is None else now
    after = headers.get("x-delete-after")
    at = headers.get("x-delete-at")
    if after is not None:
        seconds = parse_int(after)
        if seconds is None:
            raise DeleteAtError("X-Delete-After", "Non-integer X-Delete-After")
        if seconds < 0:
            raise DeleteAtError("X-Delete-After", "X-Delete-After in past")
        # Swift's proxy truncates time() + seconds (normalize_delete_at_timestamp): an object written with
        # X-Delete-After: 1 is gone a second later. 0 is rounded up instead: a node must not see it as past.
        return str(int(now + seconds)) if seconds > 0 else str(math.ceil(now))
    if at is not None:
        whole, _, fraction = at.strip().partition(".")  # Swift takes a float; its fraction is dropped
        value = parse_int(whole) if not fraction or is_ascii_digits(fraction) else None
        if value is None and not fraction and is_ascii_digits(whole.lstrip("+"), max_digits=len(whole)):
            value = MAX_DELETE_AT  # any number of digits: Swift clamps a far-future time, never refuses it
        if value is None:
            raise DeleteAtError("X-Delete-At", "Non-integer X-Delete-At")
        value = min(value, MAX_DELETE_AT)  # as Swift's normalize_delete_at_timestamp
        if value < now:
            raise DeleteAtError("X-Delete-At", "X-Delete-At in past")
        return str(value)
    return None


def is_expired(headers: Mapping[str, str], now: float | None = None) -> bool:
    """Whether a stored object's ``X-Delete-At`` (its backend headers) has passed: it reads as gone,
    though the expirer may not have deleted it yet, as in Swift."""
    value = headers.get("x-delete-at")
    if not value:
        return False
    try:
        return int(float(value)) <= (time.time() if now is None else now)
    except ValueError:
        return False
