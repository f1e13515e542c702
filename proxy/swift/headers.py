"""Which headers cross the proxy: client → storage node on writes, storage node → client on reads."""

from __future__ import annotations

import functools
import mimetypes
from collections.abc import Mapping

from stackstore.wire import VERSION_ID_SYSMETA

# object headers persisted by the store besides X-Object-Meta-*
OBJECT_SYSTEM_HEADERS = ("content-type", "content-encoding", "content-disposition", "content-language",
                         "cache-control", "expires", "x-delete-at", "x-object-manifest", "x-robots-tag")
OBJECT_RESPONSE_HEADERS = frozenset(OBJECT_SYSTEM_HEADERS + (
    "content-length", "etag", "last-modified", "x-timestamp", "accept-ranges", "content-range",
    "x-static-large-object"))
CONTAINER_RESPONSE_HEADERS = frozenset((
    "x-container-object-count", "x-container-bytes-used", "x-timestamp", "x-put-timestamp", "last-modified",
    "x-versions-location", "x-history-location"))
CONTAINER_ACL_HEADERS = ("x-container-read", "x-container-write")
# container sync's settings (proxy/swift/features/container_sync.py): like the ACLs, the owners' alone
CONTAINER_SYNC_HEADERS = ("x-container-sync-to", "x-container-sync-key")
ACCOUNT_RESPONSE_HEADERS = frozenset((
    "x-account-container-count", "x-account-object-count", "x-account-bytes-used", "x-timestamp",
    "x-put-timestamp", "last-modified"))
STORAGE_POLICY = "Policy-0"
# legacy object versioning's container settings (proxy/swift/features/versioned_writes.py), as Swift stores them
VERSIONS_LOCATION_SYSMETA = "X-Container-Sysmeta-Versions-Location"
VERSIONS_MODE_SYSMETA = "X-Container-Sysmeta-Versions-Mode"
# object versioning (proxy/versioning/): the current version's id, the container's state
OBJECT_VERSION_SYSMETA = VERSION_ID_SYSMETA
VERSIONS_ENABLED_SYSMETA = "x-container-sysmeta-versions-enabled"
# etag_quoter's setting (proxy/swift/features/etag_quoter.py), shown as X-<Kind>-Rfc-Compliant-Etags
RFC_ETAGS_SYSMETA = {"account": "X-Account-Sysmeta-Rfc-Compliant-Etags",
                     "container": "X-Container-Sysmeta-Rfc-Compliant-Etags"}


def object_response_headers(backend: Mapping[str, str]) -> dict[str, str]:
    """Client-visible headers of an object GET/HEAD (never sysmeta or X-Backend-*)."""
    out: dict[str, str] = {}
    for name, value in backend.items():
        low = name.lower()
        if low in OBJECT_RESPONSE_HEADERS or low.startswith("x-object-meta-"):
            out[_canonical(name)] = value
        elif low == OBJECT_VERSION_SYSMETA:  # object versioning (proxy/versioning/)
            out["X-Object-Version-Id"] = value or "null"
    out.setdefault("Accept-Ranges", "bytes")
    return out


def object_write_headers(client: Mapping[str, str], *, post: bool = False) -> dict[str, str]:
    """Client headers stored with an object on PUT (or POST: metadata and system headers only)."""
    out: dict[str, str] = {}
    for name, value in client.items():
        low = name.lower()
        if low.startswith("x-object-meta-") or low in OBJECT_SYSTEM_HEADERS:
            out[_canonical(name)] = value
        elif low == "etag" and not post:
            out["Etag"] = value.strip().strip('"').lower()
    return out


def guess_content_type(obj: str, client: Mapping[str, str]) -> str:
    """Swift: guess from the name when no Content-Type is sent or ``X-Detect-Content-Type: true``."""
    detect = (client.get("x-detect-content-type") or "").strip().lower() in ("true", "1", "yes", "on", "t", "y")
    given = client.get("content-type")
    if given and not detect:
        return given
    return mimetypes.guess_type(obj, strict=False)[0] or "application/octet-stream"


def meta_write_headers(client: Mapping[str, str], kind: str, *, owner: bool = True) -> dict[str, str]:
    """Account/container metadata updates; ``X-Remove-<kind>-Meta-K`` becomes an empty value."""
    out: dict[str, str] = {}
    meta, remove = f"x-{kind}-meta-", f"x-remove-{kind}-meta-"
    settable: tuple[str, ...] = CONTAINER_ACL_HEADERS + CONTAINER_SYNC_HEADERS if kind == "container" and owner else ()
    for name, value in client.items():
        low = name.lower()
        if low.startswith(meta):
            out[_canonical(name)] = value
        elif low.startswith(remove):
            out[_canonical(meta + low[len(remove):])] = ""
        elif low in settable:
            out[_canonical(name)] = value
        elif low.startswith("x-remove-") and low.replace("x-remove-", "x-", 1) in settable:
            out[_canonical(low.replace("x-remove-", "x-", 1))] = ""
    return out


def container_response_headers(backend: Mapping[str, str], *, owner: bool) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in backend.items():
        low = name.lower()
        if not owner and low.startswith("x-container-meta-temp-url-key"):
            continue  # temp URL keys are secrets of the account owner
        if low in CONTAINER_RESPONSE_HEADERS or low.startswith("x-container-meta-") \
                or (owner and (low in CONTAINER_ACL_HEADERS or low in CONTAINER_SYNC_HEADERS)):
            out[_canonical(name)] = value
    stored = {name.lower(): value for name, value in backend.items()}
    location = stored.get(VERSIONS_LOCATION_SYSMETA.lower())
    if location:  # shown under the header that set it
        mode = stored.get(VERSIONS_MODE_SYSMETA.lower())
        out["X-History-Location" if mode == "history" else "X-Versions-Location"] = location
    enabled = stored.get(VERSIONS_ENABLED_SYSMETA)
    if enabled:
        out["X-Versions-Enabled"] = "True" if enabled == "true" else "False"
    _show_rfc_etags(stored, "container", out)
    out["X-Storage-Policy"] = STORAGE_POLICY
    out.setdefault("Accept-Ranges", "bytes")
    return out


def account_response_headers(backend: Mapping[str, str], *, owner: bool) -> dict[str, str]:
    """Account HEAD/GET headers; the temp URL keys only for the account's owner (as Swift's tempurl)."""
    out: dict[str, str] = {}
    for name, value in backend.items():
        low = name.lower()
        if not owner and low.startswith("x-account-meta-temp-url-key"):
            continue  # temp URL keys are secrets of the account owner
        if low in ACCOUNT_RESPONSE_HEADERS or low.startswith(("x-account-meta-", "x-account-storage-policy-")):
            out[_canonical(name)] = value
    _show_rfc_etags({name.lower(): value for name, value in backend.items()}, "account", out)
    out.setdefault("Accept-Ranges", "bytes")
    return out


def _show_rfc_etags(stored: Mapping[str, str], kind: str, out: dict[str, str]) -> None:
    """etag_quoter's stored setting under the header that set it (``X-<Kind>-Rfc-Compliant-Etags``)."""
    value = stored.get(RFC_ETAGS_SYSMETA[kind].lower())
    if value:
        out[f"X-{kind.title()}-Rfc-Compliant-Etags"] = value


@functools.lru_cache(maxsize=4096)  # the same few dozen names on every response
def _canonical(name: str) -> str:
    """``x-object-meta-color`` → ``X-Object-Meta-Color`` (Swift's title-cased header names)."""
    if name.lower() == "etag":
        return "Etag"
    return "-".join(part[:1].upper() + part[1:] for part in name.lower().split("-"))
