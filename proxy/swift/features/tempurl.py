"""Temporary URLs: HMAC-SHA1/256/512 signed, expiring access to one object (or an object prefix).

The signature is ``HMAC(key, "<METHOD>\\n<expires>\\n<path>")`` (``ip=<range>\\n`` first when
``temp_url_ip_range`` is given; path ``prefix:/v1/a/c/<prefix>`` with ``temp_url_prefix``), as hex or
``<digest>:<base64>``. Keys: account and container ``Temp-URL-Key`` / ``Temp-URL-Key-2`` metadata.
A signature covers exactly one method and path, so the auth layer may let the request through
(``req.authorized_by == "tempurl"``) without further checks.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import hashlib
import hmac
import ipaddress
import time
from urllib.parse import quote

from starlette.responses import Response

from proxy.context import Identity
from proxy.http.errors import error_response
from proxy.http.headers import wire_text
from proxy.swift.context import SwiftRequest
from proxy.swift.features import meta
from stackstore.numbers import is_ascii_digits

METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE")
DIGESTS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}
HEX_LENGTHS = {40: "sha1", 64: "sha256", 128: "sha512"}
# methods whose signature also grants a HEAD (Swift: GET, HEAD and PUT)
HEAD_FROM = ("HEAD", "GET", "PUT")
INCOMING_REMOVE = ("x-timestamp",)
OUTGOING_REMOVE = "x-object-meta-"
OUTGOING_ALLOW = "x-object-meta-public-"

INFO = {
    "methods": list(METHODS),
    "allowed_digests": sorted(DIGESTS),
    "incoming_remove_headers": list(INCOMING_REMOVE),
    "incoming_allow_headers": [],
    "outgoing_remove_headers": ["x-object-meta-*"],
    "outgoing_allow_headers": ["x-object-meta-public-*"],
}


def _invalid(req: SwiftRequest, detail: str = "Temp URL invalid") -> Response:
    body = "" if req.method == "HEAD" else f"401 Unauthorized: {detail}\n"
    resp = error_response(401, body)
    resp.headers["Www-Authenticate"] = f'Swift realm="{quote(req.account)}"'
    return resp


def parse_expires(value: str | None) -> int | None:
    """Epoch seconds from ``temp_url_expires`` (integer or ISO-8601 ``YYYY-MM-DDTHH:MM:SSZ``)."""
    if not value:
        return None
    if is_ascii_digits(value):
        return int(value)
    try:
        return calendar.timegm(time.strptime(value, "%Y-%m-%dT%H:%M:%SZ"))
    except ValueError:
        return None


def parse_signature(sig: str) -> tuple[str, bytes] | None:
    """``(digest name, raw mac)`` from hex or ``<digest>:<base64/base64url>``; None when malformed."""
    try:
        if ":" in sig:
            name, _, b64 = sig.partition(":")
            if name not in DIGESTS:
                return None
            b64 = b64.strip().replace(" ", "+").replace("+", "-").replace("/", "_").rstrip("=")
            return name, base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))
        hex_name = HEX_LENGTHS.get(len(sig))
        return (hex_name, bytes.fromhex(sig)) if hex_name else None
    except (ValueError, binascii.Error):
        return None


def signature(key: str, method: str, expires: int, path: str, digest: str = "sha256",
              ip_range: str | None = None) -> str:
    """The hex signature for these parameters (tests and tools)."""
    body = f"{method}\n{expires}\n{path}"
    if ip_range:
        body = f"ip={ip_range}\n{body}"
    return hmac.new(key.encode(), body.encode(), DIGESTS[digest]).hexdigest()


async def _keys(req: SwiftRequest) -> list[str]:
    keys: list[str | None] = []
    account = await meta.account_headers(req)
    if account is not None:
        keys += [account.get("x-account-meta-temp-url-key"), account.get("x-account-meta-temp-url-key-2")]
    if req.container:
        container = await meta.container_headers(req, req.container)
        if container is not None:
            keys += [container.get("x-container-meta-temp-url-key"),
                     container.get("x-container-meta-temp-url-key-2")]
    return [wire_text(k) for k in keys if k]  # keys are signed as the UTF-8 text the client set


def _ip_allowed(req: SwiftRequest, ip_range: str) -> bool:
    client = req.request.client
    try:
        net = ipaddress.ip_network(ip_range, strict=False)
        return client is not None and ipaddress.ip_address(client.host) in net
    except ValueError:
        return False


async def authorize_tempurl(req: SwiftRequest) -> Identity | Response:
    """Called by the auth layer when ``temp_url_sig`` is in the query: an Identity scoped to this
    one object and method, or a 401 Response."""
    q = req.query
    method = req.method
    if method not in METHODS or not req.container or not req.obj:
        return _invalid(req)
    expires = parse_expires(q.get("temp_url_expires"))
    parsed = parse_signature(q.get("temp_url_sig", ""))
    if expires is None or parsed is None:
        return _invalid(req)
    if expires < time.time():
        return _invalid(req)
    digest, mac = parsed
    prefix = q.get("temp_url_prefix")
    if prefix is not None:
        if not req.obj.startswith(prefix):
            return _invalid(req)
        path = f"prefix:/v1/{req.account}/{req.container}/{prefix}"
    else:
        path = req.path
    ip_range = q.get("temp_url_ip_range")
    if ip_range and not _ip_allowed(req, ip_range):
        return _invalid(req)
    methods = HEAD_FROM if method == "HEAD" else (method,)
    for key in await _keys(req):
        for signed in methods:
            expected = signature(key, signed, expires, path, digest, ip_range)
            if hmac.compare_digest(bytes.fromhex(expected), mac):
                return _grant(req)
    return _invalid(req)


# headers an unsafe temp URL request may not carry (Swift's DISALLOWED_INCOMING_HEADERS)
DISALLOWED_INCOMING_HEADERS = ("x-object-manifest", "x-symlink-target", "x-copy-from")


def _grant(req: SwiftRequest) -> Identity | Response:
    if req.method not in ("GET", "HEAD", "OPTIONS"):  # a manifest (PUT or POST) or copy: Swift's 400
        for name in DISALLOWED_INCOMING_HEADERS:
            if name in req.headers:
                title = "-".join(part.title() for part in name.split("-"))
                return error_response(400, f"The header {title!r} is not allowed in this tempurl")
    if req.method == "PUT" and "multipart-manifest" in req.query:
        return error_response(400, "Manifests and copies are not allowed with a temp URL.\n")
    if req.method == "DELETE" and "multipart-manifest" in req.query:
        return error_response(400, "multipart-manifest is not allowed with a temp URL.\n")
    req.authorized_by = "tempurl"
    return Identity(user="", account=req.account)


def incoming_headers_to_remove() -> tuple[str, ...]:
    """Request headers a temp URL request may not set (Swift: ``x-timestamp``)."""
    return INCOMING_REMOVE


def decorate_response(req: SwiftRequest, response: Response) -> None:
    """For a temp URL GET/HEAD: Content-Disposition (``filename``/``inline``) and hidden user metadata."""
    for name in list(response.headers.keys()):
        low = name.lower()
        if low.startswith(OUTGOING_REMOVE) and not low.startswith(OUTGOING_ALLOW):
            del response.headers[name]
    if req.method not in ("GET", "HEAD") or response.status_code >= 300:
        return
    filename = req.query.get("filename")
    inline = "inline" in req.query
    if inline:
        value = "inline" if filename is None else _disposition("inline", filename)
    elif filename is not None:
        value = _disposition("attachment", filename)
    elif response.headers.get("content-disposition"):
        return
    else:
        value = _disposition("attachment", (req.obj or "").rstrip("/").rsplit("/", 1)[-1])
    response.headers["Content-Disposition"] = value


def _disposition(kind: str, filename: str) -> str:
    # header values go out as latin-1: send the name's UTF-8 bytes as they are, as Swift does
    safe = filename.replace("\\", "\\\\").replace('"', '\\"').encode().decode("latin-1")
    return f"{kind}; filename=\"{safe}\"; filename*=UTF-8''{quote(filename)}"
