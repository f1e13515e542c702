"""HTTP byte ranges (RFC 7233) with Swift's semantics, shared by plain objects and large objects.

``parse_range`` reads the header (syntax only); ``ranges_for_length`` resolves it against a length:
``None`` means "ignore the header, send everything", ``[]`` means 416.
``multipart_byteranges`` streams a ``multipart/byteranges`` body from per-range body iterators.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from stackstore.numbers import is_ascii_digits

MAX_RANGES = 50  # more satisfiable ranges than this: 416, as Swift (RFC 7233 section 6.1 lets a server refuse)
MAX_RANGE_OVERLAPS = 2
MAX_NONASCENDING_RANGES = 8

RangeSpec = list[tuple[int | None, int | None]]  # (first, last) as sent; first None = suffix length


def parse_range(header: str | None) -> RangeSpec | None:
    """``bytes=0-9,20-,-5`` → ``[(0, 9), (20, None), (None, 5)]``; None when absent or malformed."""
    if not header:
        return None
    unit, sep, spec = header.strip().partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    ranges: RangeSpec = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        first, dash, last = part.partition("-")
        first, last = first.strip(), last.strip()
        if not dash or not (is_ascii_digits(first) or (not first and is_ascii_digits(last))):
            return None
        if last and not is_ascii_digits(last):
            return None
        if not first:
            ranges.append((None, int(last)))
            continue
        start, end = int(first), (int(last) if last else None)
        if end is not None and end < start:
            return None
        ranges.append((start, end))
    return ranges or None


def ranges_for_length(spec: RangeSpec | None, length: int) -> list[tuple[int, int]] | None:
    """Satisfiable ``(start, end_exclusive)`` pairs for an entity of ``length`` bytes.

    None: no usable Range (answer 200 with everything). Empty list: nothing satisfiable (416).
    """
    if spec is None:
        return None
    result: list[tuple[int, int]] = []
    for first, last in spec:
        if first is None:
            assert last is not None
            if last == 0 or length == 0:
                continue
            result.append((max(0, length - last), length))
        elif first < length:
            result.append((first, length if last is None else min(last + 1, length)))
    if len(result) > MAX_RANGES or _egregious(result):
        return []  # refused as unsatisfiable (416), as Swift's swob does
    return result


def _egregious(ranges: Sequence[tuple[int, int]]) -> bool:
    """Denial-of-service guards of RFC 7233 section 6.1 with Swift's thresholds: more than two ranges that
    overlap one another, or eight or more ranges that are not in ascending order."""
    if len(ranges) < 2:
        return False
    overlaps = sum(1 for i, (a, b) in enumerate(ranges) for (c, d) in ranges[i + 1:]
                   if a < c < b or a < d < b or c < a < d or c < b < d)
    ascending = all(a <= c for (a, _), (c, _) in zip(ranges, ranges[1:], strict=False))
    return overlaps > MAX_RANGE_OVERLAPS or (not ascending and len(ranges) >= MAX_NONASCENDING_RANGES)


def content_range(start: int, end: int, length: int) -> str:
    """``Content-Range`` value for the half-open range ``[start, end)``."""
    return f"bytes {start}-{end - 1}/{length}"


def unsatisfiable_range(length: int) -> str:
    return f"bytes */{length}"


def new_boundary() -> str:
    return os.urandom(16).hex()


def _part_header(boundary: str, content_type: str, start: int, end: int, length: int) -> bytes:
    return (
        f"--{boundary}\r\nContent-Type: {content_type}\r\n"
        f"Content-Range: {content_range(start, end, length)}\r\n\r\n"
    ).encode()


def multipart_length(ranges: Sequence[tuple[int, int]], boundary: str, content_type: str, length: int) -> int:
    """Exact byte length of the body ``multipart_byteranges`` produces."""
    total = len(f"--{boundary}--\r\n")
    for start, end in ranges:
        total += len(_part_header(boundary, content_type, start, end, length)) + (end - start) + 2
    return total


def multipart_content_type(boundary: str) -> str:
    return f"multipart/byteranges; boundary={boundary}"


async def multipart_byteranges(
    ranges: Sequence[tuple[int, int]],
    fetch: Callable[[int, int], Awaitable[AsyncIterator[bytes]]],
    boundary: str,
    content_type: str,
    length: int,
) -> AsyncIterator[bytes]:
    """Stream a ``multipart/byteranges`` body; ``fetch(start, end)`` opens the bytes of one range."""
    for start, end in ranges:
        yield _part_header(boundary, content_type, start, end, length)
        body = await fetch(start, end)
        async for chunk in body:
            yield chunk
        yield b"\r\n"
    yield f"--{boundary}--\r\n".encode()
