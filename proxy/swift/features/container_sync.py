"""Container sync, the proxy's side (Swift's ``container_sync`` middleware and the container settings).

Two pipeline stages:

* ``feature`` (the *receiving* side, before ``authorize``): an object PUT, POST, DELETE or HEAD carrying
  ``X-Container-Sync-Auth: <realm> <nonce> <signature>`` is authorized by the signature alone when it is
  the realm's HMAC (``stackstore.container_sync_realms.signature``, with the realm's key or ``key2``) over
  the method, the URL-encoded path, the request's ``X-Timestamp``, the nonce and the *target* container's
  own ``X-Container-Sync-Key``; a bad one is 401. The legacy form (full-URL ``X-Container-Sync-To``) sends
  the container's sync key itself as ``X-Container-Sync-Key`` with an ``X-Timestamp``; a matching key
  authorizes the request, any other falls through to the ordinary authorization, as Swift's TempAuth.
  An authorized sync request keeps the source's ``X-Timestamp`` (so the newest write wins on both sides;
  an older one is refused by the nodes, 409) and reaches nothing outside its container (its sub-requests
  are checked against that scope, as a container temp URL key's).
* ``settings`` (after ``authorize``): a container PUT/POST's ``X-Container-Sync-To`` is validated as
  Swift's container server does (400: unknown realm or cluster, bad format, full URLs when
  ``[container_sync] allow_full_urls`` is off or to a host not in ``allowed_sync_hosts``) and refused on a
  container with object versioning (400), as enabling versioning on a sync source is. Only the account's
  owners (its admins, account ACL ``admin``) set or see ``X-Container-Sync-To``/``-Key``
  (proxy/swift/headers.py); others' are silently dropped.

The sending side is the storage nodes' daemon (store/container_sync.py).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from proxy.http.errors import error_response
from proxy.large_objects.slo_manifest import SYSMETA_ETAG, SYSMETA_SIZE
from proxy.pipeline import Handler, handles
from proxy.swift.context import SwiftRequest
from proxy.swift.features.tempurl import TempURLScope
from proxy.swift.operations import ANY_DEPTH_OPERATIONS, OBJECT_OPERATIONS
from stackstore.container_sync_realms import SECTION, SyncRealms, SyncTarget, signature_valid, target_of
from stackstore.timestamp import Timestamp

AUTHORIZED_BY = "container_sync"
SYNC_METHODS = ("PUT", "POST", "DELETE", "HEAD")  # POST: a metadata-only change of a copy
INVALID_AUTH = "X-Container-Sync-Auth header not valid; contact cluster operator for support."
SYNC_SOURCE = "Cannot enable object versioning on a container configured as source of container syncing."
VERSIONED = "Cannot configure container sync on a container with object versioning configured."

_realms_cache: dict[int, SyncRealms] = {}


def realms_of(conf: Any) -> SyncRealms:
    """The cluster's realms (built once per configuration object)."""
    realms = _realms_cache.get(id(conf))
    if realms is None:
        realms = _realms_cache[id(conf)] = SyncRealms.from_conf(conf)
    return realms


def info(conf: Any) -> dict[str, Any]:
    """``/info``'s ``container_sync``: the realms and their clusters, names only (as Swift)."""
    current = str((conf.get(SECTION, {}) if hasattr(conf, "get") else {}).get("current") or "")
    return {"realms": realms_of(conf).info(current)}


def signed_path(req: SwiftRequest) -> str:
    """The path a sync signature covers: the decoded path URL-encoded (``/`` kept), as Swift's ``req.path``."""
    return quote(req.path, safe="/")


@handles(operations=OBJECT_OPERATIONS | ANY_DEPTH_OPERATIONS, methods=SYNC_METHODS)  # object requests only
async def feature(req: SwiftRequest, call_next: Handler) -> Response:
    """Pipeline stage: authorize an object request signed for container sync (401 for a bad signature)."""
    auth = req.headers.get("x-container-sync-auth")
    legacy = req.headers.get("x-container-sync-key")
    if req.obj is None or (auth is None and legacy is None):
        return await call_next(req)
    info = await req.state.container_info(req.account, req.container_name)
    user_key = (info.get("headers") or {}).get("x-container-sync-key") if 200 <= info["status"] < 300 else None
    x_timestamp = req.headers.get("x-timestamp")
    if auth is not None:
        parts = auth.split()
        valid = len(parts) == 3 and bool(user_key) and signature_valid(
            parts[2], req.method, signed_path(req), x_timestamp or "0", parts[1], parts[0],
            realms_of(req.state.conf), str(user_key))
        if not valid:
            return error_response(401, INVALID_AUTH, headers={
                "Www-Authenticate": f'SwiftContainerSync realm="{quote(req.account)}"'})
    elif not (user_key and x_timestamp and _same(legacy or "", str(user_key))):
        return await call_next(req)  # not the container's key: the ordinary authorization decides
    if x_timestamp is not None:
        try:
            req.timestamp = Timestamp(x_timestamp).normal
        except (ValueError, TypeError):
            return error_response(400, "X-Timestamp should be a UNIX timestamp float value")
    req.authorized_by = AUTHORIZED_BY
    req.tempurl_scope = TempURLScope(req.account, req.container_name)
    if req.method == "PUT":
        req.sysmeta.update(synced_manifest(req.headers))
    return await call_next(req)


def synced_manifest(headers: Mapping[str, str]) -> dict[str, str]:
    """An SLO manifest synced as stored (``X-Static-Large-Object``, as Swift's ``slo_override``): the flag
    and the manifest's well-formed ETag/size sysmeta, stored with the body the sender read."""
    if (headers.get("x-static-large-object") or "").strip().lower() not in ("true", "1", "yes", "on"):
        return {}
    out = {"X-Static-Large-Object": "True"}
    etag, size = (headers.get(SYSMETA_ETAG) or "").strip('"'), headers.get(SYSMETA_SIZE) or ""
    if etag and size.isdigit() and all(ch in "0123456789abcdef" for ch in etag.lower()):
        out.update({SYSMETA_ETAG: etag, SYSMETA_SIZE: size})
    return out


def _same(given: str, stored: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), stored.encode("utf-8"))


@handles(operations=("put_container", "post_container"))
async def settings(req: SwiftRequest, call_next: Handler) -> Response:
    """Pipeline stage: validate an owner's ``X-Container-Sync-To`` on container PUT/POST (400 when invalid
    or on a container with object versioning)."""
    value = req.headers.get("x-container-sync-to")
    if "x-versions-enabled" in req.headers and not value:
        info = await req.state.container_info(req.account, req.container_name)
        if 200 <= info["status"] < 300 and (info.get("headers") or {}).get("x-container-sync-to"):
            return error_response(400, SYNC_SOURCE)  # as Swift's object versioning: no versions of a sync source
    if value and req.is_owner:
        target = target_of(value, req.state.conf, realms_of(req.state.conf))
        if isinstance(target, str):
            return error_response(400, target)
        if isinstance(target, SyncTarget):
            info = await req.state.container_info(req.account, req.container_name)
            versioned = 200 <= info["status"] < 300 and (info.get("sysmeta") or {}).get("versions-enabled")
            if versioned or _enables_versioning(req):
                return error_response(400, VERSIONED)
    return await call_next(req)


def _enables_versioning(req: SwiftRequest) -> bool:
    return (req.headers.get("x-versions-enabled") or "").strip().lower() in ("true", "1", "yes", "on", "t", "y")
