"""Strict decimal numbers from request input (headers, query parameters, documents).

``str.isdigit()`` is true for superscripts and other scripts' digits (``"²"``, ``"١"``) that ``int()``
then refuses or reads; ``int()`` alone accepts ``"+5"``, ``" 5 "`` and ``"1_000"``. Request input is
read here: ASCII ``0-9`` only, and a bounded number of digits (``int()`` of thousands of digits is slow
and fails past Python's limit).
"""

from __future__ import annotations

from typing import TypeGuard

MAX_DIGITS = 64


def is_ascii_digits(text: str | None, max_digits: int = MAX_DIGITS) -> TypeGuard[str]:
    """True when ``text`` is 1..``max_digits`` ASCII digits ``0-9`` and nothing else."""
    return text is not None and 0 < len(text) <= max_digits and text.isascii() and text.isdigit()


def parse_uint(text: str | None, max_digits: int = MAX_DIGITS) -> int | None:
    """The value of an unsigned ASCII decimal (surrounding spaces allowed); None when it is not one."""
    if text is None:
        return None
    text = text.strip()
    return int(text) if is_ascii_digits(text, max_digits) else None


def parse_int(text: str | None, max_digits: int = MAX_DIGITS) -> int | None:
    """Like ``parse_uint`` with an optional leading ``-`` or ``+``."""
    if text is None:
        return None
    text = text.strip()
    sign = -1 if text.startswith("-") else 1
    digits = text[1:] if text[:1] in ("-", "+") else text
    return sign * int(digits) if is_ascii_digits(digits, max_digits) else None
