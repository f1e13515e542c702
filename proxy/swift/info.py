"""``GET /info``: what this cluster supports, keyed by middleware as Swift shows it."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from proxy.http.errors import error_response
from proxy.large_objects import slo_manifest
from proxy.s3 import delete_objects, listing, multipart
from proxy.swift.constraints import SWIFT_CONSTRAINTS
from proxy.swift.domain_remap import DomainRemap
from proxy.swift.features import (
    bulk,
    container_sync,
    etag_quoter,
    extract_archive,
    formpost,
    object_versioning,
    open_expired,
    staticweb,
    symlink,
    tempurl,
    versioned_writes,
)
from proxy.swift.features.account_quotas import INFO as ACCOUNT_QUOTAS_INFO
from proxy.swift.features.container_quotas import INFO as CONTAINER_QUOTAS_INFO
from stackstore.config import Config
from stackstore.storage_policies import policies_from_conf

SWIFT_VERSION = "2.34.0"

SLO_INFO = {"max_manifest_segments": slo_manifest.MAX_MANIFEST_SEGMENTS,
            "max_manifest_size": slo_manifest.MAX_MANIFEST_SIZE,
            "min_segment_size": slo_manifest.MIN_SEGMENT_SIZE, "yield_frequency": slo_manifest.YIELD_FREQUENCY,
            "allow_async_delete": False}

# The S3 API (proxy/s3/), under the key and shape of Swift's s3api middleware. StackStore stores and enforces
# bucket and object ACL grants, but names owners by AWS canonical ids where Swift's ``s3_acl`` mode names them by
# Swift user name (its tests check that), so the mode is advertised off.
S3API_INFO = {"max_bucket_listing": listing.MAX_KEYS, "max_parts_listing": multipart.MAX_PARTS_LISTING,
              "max_upload_part_num": multipart.MAX_PARTS,
              "max_multi_delete_objects": delete_objects.MAX_KEYS, "allow_multipart_uploads": True,
              "min_segment_size": multipart.MIN_PART_SIZE, "s3_acl": False}


def swift_info(conf: Config) -> dict[str, Any]:
    proxy = conf.get("proxy", {}) if hasattr(conf, "get") else {}
    info: dict[str, Any] = {
        "swift": {
            "version": SWIFT_VERSION,
            **SWIFT_CONSTRAINTS,
            "strict_cors_mode": True,
            "allow_account_management": True,
            "account_autocreate": bool(proxy.get("account_autocreate", True)),
            "allow_open_expired": open_expired.enabled(conf),
            "policies": policies_from_conf(conf).info(),
        },
        "tempauth": {"account_acls": True},
        "slo": dict(SLO_INFO),
        "bulk_delete": dict(bulk.INFO),
        "bulk_upload": dict(extract_archive.INFO),
        "tempurl": dict(tempurl.INFO),
        "s3api": dict(S3API_INFO),
        "staticweb": dict(staticweb.INFO),
        "formpost": dict(formpost.INFO),
        "symlink": symlink.info(conf),
        "versioned_writes": dict(versioned_writes.INFO),
        "object_versioning": dict(object_versioning.INFO),
        "account_quotas": dict(ACCOUNT_QUOTAS_INFO),
        "container_quotas": dict(CONTAINER_QUOTAS_INFO),
        "etag_quoter": etag_quoter.info(conf),
        "container_sync": container_sync.info(conf),
    }
    remap = DomainRemap.from_conf(proxy)
    if remap is not None:
        info["domain_remap"] = remap.info()
    return info


async def handle_info(request: Request, conf: Config) -> Response:
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        return error_response(405, headers={"Allow": "GET, HEAD, OPTIONS"})
    if request.method == "OPTIONS":
        return Response(b"", status_code=200, headers={"Allow": "GET, HEAD, OPTIONS"})
    body = json.dumps(swift_info(conf), sort_keys=True).encode()
    return Response(body, status_code=200, media_type="application/json; charset=UTF-8")
