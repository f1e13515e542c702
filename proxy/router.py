"""Top-level dispatch of one proxy: TempAuth, /info, /healthcheck, the Swift API and the S3 API.

Signed S3 requests and virtual-host ones go to the S3 API; so does an unsigned request to any other path
that carries S3 headers or whose first segment is a registered bucket (an anonymous S3 request); other
unknown paths are 404, but a one-segment path that no bucket can have (``/info asdf``) is Swift's 412
``Bad URL`` (Swift's proxy answers any one-segment path but ``/info`` so; a bucket-shaped one may be an
anonymous S3 request for a bucket that does not exist).

Storage-domain hosts (domain remap, proxy/swift/domain_remap.py) are rewritten to Swift paths first;
the S3 API's virtual hosts (``s3_domain``) are a distinct, non-overlapping domain."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from proxy.http.errors import HTML, error_response
from proxy.http.protocol import LOWER_CASE_HEADERS
from proxy.http.request import ProxyRequest
from proxy.s3.bucket import is_valid_name
from proxy.swift.domain_remap import DomainRemap, DomainRemapApp
from proxy.swift.info import handle_info
from stackstore.config import Config

if TYPE_CHECKING:
    from proxy.auth.tempauth import TempAuth
    from proxy.swift.router import SwiftRouter

AUTH_PATHS = ("/auth/v1.0", "/auth/v1", "/auth/v1.0/", "/auth/v1/")
S3_QUERY_AUTH = ("x-amz-credential", "x-amz-signature", "awsaccesskeyid")


def _first_values(scope: Scope) -> dict[bytes, bytes]:
    """Header name -> its first value, built by C calls (a repeated name keeps its first line's value)."""
    headers = scope.get("headers", ())
    return dict(reversed(headers if isinstance(headers, list | tuple) else list(headers)))


def is_s3_request(scope: Scope, s3_domain: str = "localhost", website_domain: str = "") -> bool:
    """True for S3 requests: SigV4/SigV2 ``Authorization``, ``X-Amz-*``/``AWSAccessKeyId`` query auth,
    or a virtual-host ``Host: <bucket>.<s3_domain>``. Swift paths never qualify, but on a website host
    (``<bucket>.<website_domain>``, proxy/s3/website) every path is the bucket's."""
    path = scope.get("path", "")
    headers = _first_values(scope)
    raw_host = bytes(headers.get(b"host", b"")).decode("latin-1")
    website = website_domain.lower().strip(".")
    if website:
        host = raw_host.rsplit(":", 1)[0].lower().rstrip(".")
        if host == website or host.endswith("." + website):
            return True
    if path.startswith(("/v1/", "/v1.0/", "/auth/")) or path in ("/info", "/healthcheck"):
        return False
    if headers.get(b"authorization", b"").startswith((b"AWS4-HMAC-SHA256 ", b"AWS ")):
        return True
    query = scope.get("query_string", b"").decode("latin-1").lower()
    if query:
        names = {name.lower() for name in parse_qs(query, keep_blank_values=True)}
        if names & set(S3_QUERY_AUTH):
            return True
    host = raw_host.rsplit(":", 1)[0].lower()
    domain = s3_domain.lower().strip(".")
    return bool(domain) and host.endswith("." + domain)


class Router:
    """Maps each HTTP request to the component that answers it.

    ``get_auth``, ``get_swift`` and ``get_s3`` return the TempAuth endpoint, the Swift router and the
    S3 ASGI app the proxy app builds at startup.
    """

    def __init__(self, conf: Config, get_auth: Callable[[], TempAuth], get_swift: Callable[[], SwiftRouter],
                 get_s3: Callable[[], ASGIApp]):
        self.conf = conf
        self.s3_domain = conf.get("proxy", {}).get("s3_domain", "localhost")
        self.website_domain = str(conf.get("s3", {}).get("website_domain", "") or "")
        self._auth, self._swift, self._s3 = get_auth, get_swift, get_s3
        # storage-domain hosts become /v1/<account>[/<container>] paths before anything is routed
        remap = DomainRemap.from_conf(conf.get("proxy", {}))
        website = self.website_domain.lower().strip(".")
        if remap is not None and website and any(
                website == d[1:] or website.endswith(d) or d.endswith("." + website) for d in remap.storage_domains):
            raise ValueError(f"[s3] website_domain {website!r} overlaps [proxy] storage_domain: a host would name "
                             "both a Swift account and a bucket's website")
        self._entry: ASGIApp = DomainRemapApp(remap, self._route) if remap else self._route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._entry(scope, receive, send)

    async def _route(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if is_s3_request(scope, self.s3_domain, self.website_domain):
            scope[LOWER_CASE_HEADERS] = True  # as AWS sends them (proxy/http/protocol.py)
            await self._s3()(scope, receive, send)
            return
        request = ProxyRequest(scope, receive)  # header lookups by dictionary (proxy/http/request.py)
        if path.startswith(("/v1/", "/v1.0/")) or path in ("/v1", "/v1.0"):
            response = await self._swift()(request)
        elif path in AUTH_PATHS:
            response = await self._auth().handle_auth(request)
        elif path == "/info":
            response = await handle_info(request, self.conf)
        elif path == "/healthcheck":
            response = PlainTextResponse("OK")
        elif await self._addresses_bucket(scope):  # unsigned, path style: an anonymous S3 request
            await self._s3()(scope, receive, send)
            return
        else:
            response = _unknown_path(path)
        await response(scope, receive, send)

    async def _addresses_bucket(self, scope: Scope) -> bool:
        """Whether an unsigned request is S3's: it carries S3 headers (``x-amz-*``, or the AWS SDKs'
        ``amz-sdk-*``), or its path names a registered S3 bucket (``S3App.addresses_bucket``)."""
        if any(bytes(name).startswith((b"x-amz-", b"amz-sdk-")) for name, _ in scope.get("headers", ())):
            return True
        addresses = getattr(self._s3(), "addresses_bucket", None)
        return bool(addresses is not None and await addresses(scope))


def _unknown_path(path: str) -> Response:
    """The answer to a path no API serves: 412 ``Bad URL`` for one segment no S3 bucket can be named
    (as Swift's proxy, which finds no controller for it), else 404."""
    segment = path[1:]
    if segment and "/" not in segment and not is_valid_name(segment):
        return error_response(412, "Bad URL", content_type=HTML)
    return error_response(404)
