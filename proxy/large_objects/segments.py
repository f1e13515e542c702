"""Streaming reader that concatenates (byte ranges of) large-object segments without buffering."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from objclient.client import StorageClient

if TYPE_CHECKING:
    from proxy.large_objects.access import SegmentAccess

log = logging.getLogger(__name__)

MAX_NESTING = 10  # sub-SLO depth, as Swift's max_slo_recursion_depth


@dataclass(frozen=True)
class Segment:
    """``length`` bytes starting at ``offset`` of object ``container/obj`` (a SLO ``range`` or all of it),
    or of ``data`` for an SLO's inline data segment (no object: nothing to read or authorize)."""

    container: str
    obj: str
    length: int
    offset: int = 0
    etag: str | None = None  # expected backend ETag of the whole stored object; None: don't check
    sub_slo: bool = False  # the object is itself an SLO manifest: expand it
    data: bytes | None = None  # an inline data segment's bytes (small: they were in the manifest)


class SegmentError(Exception):
    """A segment vanished, changed or came back short: the response has to be cut off."""


Expander = Callable[[Segment], Awaitable[Sequence[Segment]]]


async def stream_range(client: StorageClient, account: str, segments: Sequence[Segment], first: int,
                       last: int, access: SegmentAccess, expand: Expander | None = None,
                       depth: int = 0) -> AsyncIterator[bytes]:
    """Yield bytes ``first..last`` (inclusive) of the concatenation of ``segments``.

    Every segment (and nested manifest) is read only when ``access`` says the caller may read it; a
    forbidden one ends the stream with ``SegmentForbidden`` before any of its bytes. Sub-SLO segments
    are expanded with ``expand`` (at most MAX_NESTING deep).
    """
    pos = 0
    for seg in segments:
        seg_first, seg_last = pos, pos + seg.length - 1
        pos += seg.length
        if seg.length <= 0 or seg_last < first:
            continue
        if seg_first > last:
            break
        lo = max(first, seg_first) - seg_first
        hi = min(last, seg_last) - seg_first
        if seg.data is not None:
            yield seg.data[seg.offset + lo:seg.offset + hi + 1]
            continue
        await access.require(seg.container, seg.obj, top_level=depth == 0 and not seg.sub_slo)
        if seg.sub_slo:
            if expand is None or depth >= MAX_NESTING:
                raise SegmentError(f"too deeply nested: /{seg.container}/{seg.obj}")
            children = await expand(seg)
            async for chunk in stream_range(client, account, children, seg.offset + lo, seg.offset + hi,
                                            access, expand, depth + 1):
                yield chunk
        else:
            async for chunk in _read_segment(client, account, seg, seg.offset + lo, seg.offset + hi):
                yield chunk


async def _read_segment(client: StorageClient, account: str, seg: Segment, lo: int,
                        hi: int) -> AsyncIterator[bytes]:
    """Bytes ``lo..hi`` of one stored object, checking its ETag and length."""
    resp = await client.get_object(account, seg.container, seg.obj, headers={"Range": f"bytes={lo}-{hi}"})
    try:
        name = f"/{seg.container}/{seg.obj}"
        if resp.status not in (200, 206):
            raise SegmentError(f"segment {name}: backend status {resp.status}")
        etag = (resp.headers.get("etag") or "").strip('"')
        if seg.etag and etag and etag != seg.etag:
            raise SegmentError(f"segment {name}: etag {etag} != manifest {seg.etag}")
        skip = lo if resp.status == 200 else 0  # a backend that ignored the Range
        want = hi - lo + 1
        async for chunk in resp.body:
            if skip:
                cut = min(skip, len(chunk))
                chunk, skip = chunk[cut:], skip - cut
            if len(chunk) > want:
                chunk = chunk[:want]
            if chunk:
                want -= len(chunk)
                yield chunk
            if not want:
                break
        if want:
            raise SegmentError(f"segment {name}: {want} bytes short")
    except SegmentError as err:
        log.error("large object read aborted: %s", err)
        raise
    finally:
        await resp.close()
