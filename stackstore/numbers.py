"""Integers from client input: ASCII digits only.

Python's ``int()`` and ``str.isdigit()`` also take Unicode digits (``"١٢"`` is 12, ``"²"`` is a digit
that ``int()`` then refuses) and underscores (``"1_000"``). An API must read ``limit=١٠`` as the
malformed value it is (400), and a digit test must not pass what ``int()`` later raises on (500).
"""

from __future__ import annotations

import re
from typing import Any

_INT = re.compile(r"\s*[+-]?[0-9]+\s*", re.ASCII)


def is_digits(text: str) -> bool:
    """``text.isdigit()`` for ASCII ``0-9`` only."""
    return text.isascii() and text.isdigit()


def parse_int(value: Any) -> int:
    """``int(value)``, except that a string must be ASCII (optional sign, digits, surrounding spaces):
    ValueError otherwise. Non-strings (JSON numbers) go to ``int()`` unchanged."""
    if isinstance(value, str) and not _INT.fullmatch(value):
        raise ValueError(f"not an integer: {value[:40]!r}")
    return int(value)
