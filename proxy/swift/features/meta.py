"""Account/container metadata lookups for features (temp URL keys, CORS rules, container existence)."""

from __future__ import annotations

from collections.abc import Mapping

from proxy.swift.context import SwiftRequest


async def container_headers(req: SwiftRequest, container: str) -> Mapping[str, str] | None:
    """The container's headers (lower-case names, metadata included), or None when it does not exist."""
    info = await req.state.container_info(req.account, container)
    return info["headers"] if 200 <= info["status"] < 300 else None


async def account_headers(req: SwiftRequest) -> Mapping[str, str] | None:
    """The account's headers (lower-case names, metadata included), or None when it does not exist."""
    info = await req.state.account_info(req.account)
    return info["headers"] if 200 <= info["status"] < 300 else None
