"""Bounded reads of JSON request bodies for the API services (identity, volumes, compute, images).

A body is read in the chunks the server hands over, never past ``limit`` bytes (a Content-Length
above it is refused before reading), and never waiting more than ``idle_timeout`` seconds for the
next chunk: a client that announces more than it sends cannot hold a request open. Each API turns
:class:`BodyTooLarge` / :class:`BodyTimeout` into its own error shape (413 / 408).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.requests import ClientDisconnect, Request

from stackstore.config import DEFAULTS

DEFAULT_LIMIT: int = DEFAULTS["http"]["max_json_body"]
IDLE_TIMEOUT = 10.0  # seconds between two chunks of a JSON body


class BodyTooLarge(Exception):
    """The body is longer than the API accepts."""


class BodyTimeout(Exception):
    """The client stopped sending the body it announced (or disconnected mid-body)."""


def json_body_limit(conf: Any, section: str | None = None) -> int:
    """``[http] max_json_body``, overridden by the same key of ``[<section>]`` (the default without ``conf``)."""
    conf = conf or {}
    value = conf.get("http", {}).get("max_json_body", DEFAULT_LIMIT)
    return int(conf.get(section, {}).get("max_json_body", value) if section else value)


def limit_of(request: Request) -> int:
    """The app's JSON body cap (``app.state.max_json_body``, set from ``[http] max_json_body``)."""
    return int(getattr(request.app.state, "max_json_body", DEFAULT_LIMIT))


async def read_bounded(request: Request, limit: int | None = None, idle_timeout: float = IDLE_TIMEOUT) -> bytes:
    """The request body, at most ``limit`` bytes (default: :func:`limit_of`)."""
    limit = limit_of(request) if limit is None else limit
    length = request.headers.get("content-length", "")
    if length.isascii() and length.isdigit() and int(length) > limit:
        raise BodyTooLarge(f"request body over {limit} bytes")
    parts: list[bytes] = []
    size = 0
    stream = request.stream().__aiter__()
    while True:
        try:
            chunk = await asyncio.wait_for(stream.__anext__(), idle_timeout)
        except StopAsyncIteration:
            break
        except (TimeoutError, ClientDisconnect):
            raise BodyTimeout("request body not received in time") from None
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"request body over {limit} bytes")
        parts.append(chunk)
    return b"".join(parts)


def loads(raw: bytes) -> object:
    """``json.loads`` whose every failure is a ValueError: bad syntax, bad UTF-8, nesting too deep, and
    strings holding a lone surrogate (``"\\ud800"``), which could be stored but never sent back out."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str) and not item.isascii():
            item.encode("utf-8")  # UnicodeEncodeError (a ValueError) on a surrogate
    return value
