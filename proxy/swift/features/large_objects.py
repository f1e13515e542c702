"""Static (SLO) and dynamic (DLO) large objects. INTERFACE SKELETON owned by the features helper."""

from __future__ import annotations

from starlette.responses import Response

from proxy.backend.client import BackendResponse
from proxy.swift.context import SwiftRequest


async def get_large_object(req: SwiftRequest, manifest_resp: BackendResponse) -> Response:
    """GET/HEAD of a manifest (``X-Static-Large-Object`` or ``X-Object-Manifest`` in manifest_resp).

    Called by the object controller instead of answering itself, unless ``multipart-manifest=get``.
    ``manifest_resp`` was fetched with the client's headers (maybe a Range of the manifest itself):
    this function owns it (reads or closes it) and answers conditionals and ranges itself.
    """
    raise NotImplementedError


async def put_slo_manifest(req: SwiftRequest) -> Response:
    """``PUT ?multipart-manifest=put``: validate segments, store the manifest, 201 with quoted ETag."""
    raise NotImplementedError


async def delete_slo(req: SwiftRequest) -> Response:
    """``DELETE ?multipart-manifest=delete``: remove manifest and segments, bulk-style result body."""
    raise NotImplementedError
