"""Conditional request evaluation (If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since).

Reusable by the object controller and the large-object feature: give it the request headers and the
entity's ETag / Last-Modified, get back None (go on) or the status to answer (304 or 412).
"""

from __future__ import annotations

import datetime
import email.utils
from collections.abc import Mapping


def _etags(value: str) -> list[str]:
    """Entity tags of an If-Match/If-None-Match list, quotes and weak markers removed."""
    tags = []
    for tag in value.split(","):
        tag = tag.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        tags.append(tag.strip('"'))
    return [t for t in tags if t]


def etag_matches(header: str, etag: str | None) -> bool:
    """True when ``etag`` (quoted or not) is listed in ``header`` or the header is ``*``."""
    if etag is None:
        return False
    tags = _etags(header)
    return "*" in tags or etag.strip('"') in tags


def parse_http_date(value: str | None) -> float | None:
    """Seconds since the epoch of an RFC 1123/850/asctime date; None when absent or invalid."""
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return parsed.timestamp()


def evaluate(method: str, headers: Mapping[str, str], etag: str | None,
             last_modified: str | float | None, exists: bool = True, both_preconditions: bool = False) -> int | None:
    """Status to answer instead of the entity (304/412), or None when every condition passes.

    ``last_modified`` is the entity's ``Last-Modified`` header (or epoch seconds). Order follows
    RFC 7232 section 6: If-Match, else If-Unmodified-Since; If-None-Match, else If-Modified-Since.
    ``both_preconditions``: check If-Unmodified-Since even when If-Match is present and holds, as
    Swift does (S3 follows the RFC).
    """
    safe = method in ("GET", "HEAD")
    if_match = headers.get("if-match")
    if if_match is not None and (not exists or not etag_matches(if_match, etag)):
        return 412
    if if_match is None or both_preconditions:
        ius = parse_http_date(headers.get("if-unmodified-since"))
        if ius is not None:
            lm = _seconds(last_modified)
            if lm is not None and lm > ius:
                return 412
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        if exists and etag_matches(if_none_match, etag):
            return 304 if safe else 412
    elif safe:
        ims = parse_http_date(headers.get("if-modified-since"))
        if ims is not None:
            lm = _seconds(last_modified)
            if lm is not None and lm <= ims:
                return 304
    return None


def _seconds(last_modified: str | float | None) -> float | None:
    # parsed only when a date condition asks (most requests carry none)
    return parse_http_date(last_modified) if isinstance(last_modified, str) else last_modified


# response headers kept on a 304 (RFC 7232 section 4.1) or a 412
CONDITIONAL_KEEP = ("etag", "last-modified", "x-timestamp", "cache-control", "expires", "content-location",
                    "vary", "x-static-large-object", "x-object-manifest", "accept-ranges")


def conditional_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The subset of an entity's response headers that goes on its 304/412 answer."""
    return {k: v for k, v in headers.items() if k.lower() in CONDITIONAL_KEEP}
