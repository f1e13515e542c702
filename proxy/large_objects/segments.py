"""Streaming reader that concatenates (byte ranges of) large-object segments without buffering."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from objclient.client import BackendResponse, StorageClient
from proxy.symlinks import stored_link

if TYPE_CHECKING:
    from proxy.large_objects.access import SegmentAccess

log = logging.getLogger(__name__)

MAX_NESTING = 10  # manifests in one chain, the top one included, as Swift's max_slo_recursion_depth


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
    are expanded with ``expand`` (at most MAX_NESTING manifests deep, ``depth`` 0 being the top one's
    segments: Swift's ``max_slo_recursion_depth``).
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
            if expand is None or depth + 1 >= MAX_NESTING:
                raise SegmentError(f"too deeply nested: /{seg.container}/{seg.obj}")
            children = await expand(seg)
            async for chunk in stream_range(client, account, children, seg.offset + lo, seg.offset + hi,
                                            access, expand, depth + 1):
                yield chunk
        else:
            async for chunk in _read_segment(client, account, seg, seg.offset + lo, seg.offset + hi, access):
                yield chunk


async def open_segment(client: StorageClient, account: str, container: str, obj: str, access: SegmentAccess,
                       method: str = "GET", headers: dict[str, str] | None = None) -> BackendResponse:
    """GET (or HEAD) a stored object that a manifest names, following it when it is a symlink.

    As Swift's SLO reads its segments through the ``symlink`` middleware: a link's target is opened
    instead (up to ``access.link_hops`` links, its own account when the link names one), each target
    only when ``access`` says the caller may read it (``SegmentForbidden`` otherwise); a static link
    whose target's ETag changed, or too many links, is a ``SegmentError``. The caller checked the
    first path itself. A zero-byte link answers a ranged GET 416, so a 416 is looked at with a HEAD.
    """
    hops, expected = 0, None
    while True:
        if method == "HEAD":
            resp = await client.head_object(account, container, obj)
        else:
            resp = await client.get_object(account, container, obj, headers=headers)
        link = stored_link(resp.headers) if resp.status // 100 == 2 else None
        if link is None and resp.status == 416:
            probe = await client.head_object(account, container, obj)
            await probe.close()
            link = stored_link(probe.headers) if probe.status == 200 else None
        if link is None:
            etag = (resp.headers.get("etag") or "").strip('"')
            if expected and resp.status // 100 == 2 and etag != expected:
                await resp.close()
                raise SegmentError(f"/{container}/{obj}: etag {etag} != static link's {expected}")
            return resp
        await resp.close()
        if hops >= access.link_hops:
            raise SegmentError(f"/{container}/{obj}: too many levels of symbolic links")
        hops += 1
        account, container, obj = link.resolve(account)
        expected = link.etag
        await access.require(container, obj, account=account)


async def _read_segment(client: StorageClient, account: str, seg: Segment, lo: int,
                        hi: int, access: SegmentAccess) -> AsyncIterator[bytes]:
    """Bytes ``lo..hi`` of one stored object (a symlink's target), checking its ETag and length."""
    name = f"/{seg.container}/{seg.obj}"
    try:
        resp = await open_segment(client, account, seg.container, seg.obj, access,
                                  headers={"Range": f"bytes={lo}-{hi}"})
    except SegmentError as err:
        log.error("large object read aborted: %s", err)
        raise
    try:
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
