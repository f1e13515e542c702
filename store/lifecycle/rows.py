"""Small helpers over listing rows shared by the lifecycle passes."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_listing_time(value: str) -> float | None:
    """A Swift listing ``last_modified`` (UTC, no zone) as epoch seconds."""
    try:
        return datetime.fromisoformat(value.rstrip("Z")).replace(tzinfo=UTC).timestamp()
    except (TypeError, ValueError):
        return None


def covering_prefixes(prefixes: list[str]) -> list[str]:
    """The fewest prefixes whose listings cover every given prefix (``""`` covers all)."""
    out: list[str] = []
    for prefix in sorted(set(prefixes)):
        if not any(prefix.startswith(kept) for kept in out):
            out.append(prefix)
    return out
