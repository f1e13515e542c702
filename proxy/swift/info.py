"""``GET /info``: what this cluster supports, keyed by middleware as Swift shows it."""

from __future__ import annotations

import importlib
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from proxy.http.errors import error_response
from proxy.swift.constraints import SWIFT_CONSTRAINTS

SWIFT_VERSION = "2.34.0"

DEFAULT_SLO = {"max_manifest_segments": 1000, "max_manifest_size": 8388608, "min_segment_size": 1,
               "yield_frequency": 10, "allow_async_delete": False}
DEFAULT_BULK_DELETE = {"max_deletes_per_request": 10000, "max_failed_deletes": 1000}
DEFAULT_TEMPURL = {"methods": ["GET", "HEAD", "PUT", "POST", "DELETE"],
                   "allowed_digests": ["sha1", "sha256", "sha512"],
                   "incoming_remove_headers": ["x-timestamp"], "incoming_allow_headers": [],
                   "outgoing_remove_headers": ["x-object-meta-*"],
                   "outgoing_allow_headers": ["x-object-meta-public-*"]}


def _feature_info(module: str, default: dict[str, Any]) -> dict[str, Any]:
    """A feature module's own ``INFO`` dict when it has one (it knows its limits), else Swift's."""
    try:
        return dict(getattr(importlib.import_module(f"proxy.swift.features.{module}"), "INFO", default))
    except ImportError:
        return dict(default)


def _slo_info() -> dict[str, Any]:
    info = dict(DEFAULT_SLO)
    try:
        manifest = importlib.import_module("proxy.large_objects.slo_manifest")
    except ImportError:
        return info
    for key in ("max_manifest_segments", "max_manifest_size", "min_segment_size"):
        info[key] = getattr(manifest, key.upper(), info[key])
    return dict(getattr(manifest, "INFO", info))


def swift_info(conf: Any) -> dict[str, Any]:
    proxy = conf.get("proxy", {}) if hasattr(conf, "get") else {}
    return {
        "swift": {
            "version": SWIFT_VERSION,
            **SWIFT_CONSTRAINTS,
            "strict_cors_mode": True,
            "allow_account_management": True,
            "account_autocreate": bool(proxy.get("account_autocreate", True)),
            "policies": [{"name": "Policy-0", "aliases": "Policy-0", "default": True}],
        },
        "tempauth": {"account_acls": False},
        "slo": _slo_info(),
        "bulk_delete": _feature_info("bulk", DEFAULT_BULK_DELETE),
        "tempurl": _feature_info("tempurl", DEFAULT_TEMPURL),
    }


async def handle_info(request: Request, conf: Any) -> Response:
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        return error_response(405, headers={"Allow": "GET, HEAD, OPTIONS"})
    if request.method == "OPTIONS":
        return Response(b"", status_code=200, headers={"Allow": "GET, HEAD, OPTIONS"})
    body = json.dumps(swift_info(conf), sort_keys=True).encode()
    return Response(body, status_code=200, media_type="application/json; charset=UTF-8")
