"""Static large objects, the API-neutral part: recognising a manifest, reading it, nested SLOs.

Used by the Swift API's SLO feature (proxy/swift/features/slo.py) and by S3 multipart objects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from objclient.client import BackendResponse
from proxy.context import ObjectRequest
from proxy.http.headers import lookup
from proxy.large_objects.access import SegmentAccess
from proxy.large_objects.segments import Segment, SegmentError, open_segment
from proxy.large_objects.slo_manifest import (
    SYSMETA_ETAG,
    SYSMETA_SIZE,
    parse_stored,
    slo_etag,
    slo_size,
    to_segments,
)


def is_slo(headers: Mapping[str, str]) -> bool:
    """The stored object is an SLO manifest (``X-Static-Large-Object`` true)."""
    return (lookup(headers, "X-Static-Large-Object") or "").lower() in ("true", "1", "yes", "on")


# -- GET ------------------------------------------------------------------------------------------

async def read_manifest(req: ObjectRequest, container: str, obj: str,
                        resp: BackendResponse | None = None,
                        access: SegmentAccess | None = None) -> tuple[BackendResponse, list[dict]]:
    """The stored manifest entries of ``container/obj``.

    ``resp``: a GET response of it to reuse when it is a full 200 (else it is closed and refetched).
    ``access``: ``container/obj`` is a manifest's entry (a nested SLO), which may be a symlink to the
    manifest: followed as the caller (``open_segment``).
    """
    if resp is not None and resp.status == 200 and is_slo(resp.headers):
        data = await resp.read()
        if str(len(data)) == resp.headers.get("content-length", str(len(data))):
            try:
                return resp, parse_stored(data)
            except ValueError:
                pass  # maybe not the whole body (a HEAD, a cut-off read): fetch it again
    elif resp is not None:
        await resp.close()
    if access is None:
        resp = await req.client.get_object(req.account, container, obj)
    else:
        resp = await open_segment(req.client, req.account, container, obj, access)
    if resp.status != 200 or not is_slo(resp.headers):
        await resp.close()
        raise SegmentError(f"/{container}/{obj}: not a readable SLO manifest ({resp.status})")
    try:
        return resp, parse_stored(await resp.read())
    except ValueError as err:
        raise SegmentError(f"/{container}/{obj}: corrupt manifest") from err


async def expand_sub_slo(req: ObjectRequest, seg: Segment, access: SegmentAccess) -> Sequence[Segment]:
    """The segments of a nested SLO (a manifest entry with ``sub_slo``, maybe a link to it)."""
    _, entries = await read_manifest(req, seg.container, seg.obj, access=access)
    return to_segments(entries)


def etag_and_size(headers: Mapping[str, str], entries: list[dict] | None) -> tuple[str, int] | None:
    """The SLO's ETag and total size from sysmeta, else computed from the entries (if given)."""
    etag, size = lookup(headers, SYSMETA_ETAG), lookup(headers, SYSMETA_SIZE)
    if etag and size is not None and size.isdigit():
        return etag.strip('"'), int(size)
    if entries is None:
        return None
    return slo_etag(entries), slo_size(entries)
