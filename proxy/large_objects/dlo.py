"""Dynamic large objects: the segments named by ``X-Object-Manifest: <container>/<prefix>``."""

from __future__ import annotations

import hashlib

from proxy.context import ObjectRequest
from proxy.http.headers import unquote_wire
from proxy.large_objects.segments import Segment

PAGE = 10000


def parse_manifest_header(value: str) -> tuple[str, str] | None:
    """``"cont/pre/fix"`` → ``("cont", "pre/fix")`` (both URL-unquoted, raw UTF-8 read as such);
    None when malformed."""
    raw_container, sep, raw_prefix = value.strip().partition("/")
    container, prefix = unquote_wire(raw_container), unquote_wire(raw_prefix)
    if not sep or not container or prefix is None:
        return None
    return container, prefix


async def list_segments(req: ObjectRequest, container: str,
                        prefix: str) -> tuple[list[Segment], str] | None:
    """Every object of ``container`` starting with ``prefix`` in lexical order, and the DLO ETag.

    None when the segment container does not exist.
    """
    segments: list[Segment] = []
    md5 = hashlib.md5()
    marker: str | None = None
    while True:
        resp, rows = await req.client.list_container(req.account, container, prefix=prefix or None,
                                                     marker=marker, limit=PAGE)
        if resp.status == 404:
            return None
        if resp.status // 100 != 2:
            raise OSError(f"listing /{container} failed: {resp.status}")
        rows = [r for r in rows if "name" in r]
        for row in rows:
            segments.append(Segment(container, row["name"], int(row.get("bytes") or 0)))
            md5.update(str(row.get("hash", "")).strip('"').encode())
        if len(rows) < PAGE:
            return segments, md5.hexdigest()
        marker = rows[-1]["name"]
