"""The website endpoint: ``<bucket>.<[s3] website_domain>`` hosts serve buckets as AWS's website endpoints do.

Only ``GET`` and ``HEAD`` read (``OPTIONS`` is a CORS preflight from the bucket's rules); other methods are
405. Every read is S3's GetObject/HeadObject by an **anonymous** caller through the S3 API's own dispatch
(operation table, bucket policy and ACLs, SSE, ranges and conditionals), so a website shows exactly what
the bucket lets everyone read: anything else is a 403 page. In order:

1. a bucket without a website configuration: 404 ``NoSuchWebsiteConfiguration`` (no bucket: ``NoSuchBucket``);
2. ``RedirectAllRequestsTo``: 301 to the same path and query on that host;
3. a routing rule without an error code condition whose ``KeyPrefixEquals`` the key has: its redirect;
4. ``/`` and ``dir/`` read the index document below them; an object with ``x-amz-website-redirect-location``
   is a 301 there, any other object is served;
5. on an error: a key without its slash whose ``key/<index>`` everyone may read is a 302 to ``key/``; a
   routing rule with that error code (``HttpErrorCodeReturnedEquals``) redirects; else the error document
   (read like any object) is served with the error's status, else the endpoint's HTML error page.

A 304 (``If-None-Match``) is S3's own answer, not an error page.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import quote, unquote

from starlette.requests import Request
from starlette.responses import Response

from proxy.context import ProxyState
from proxy.http.subresponses import discard
from proxy.http.transid import trans_id_of
from proxy.s3.access_log import stage as access_log
from proxy.s3.bucket import is_valid_name
from proxy.s3.context import S3Request, anonymous_auth
from proxy.s3.cors import responses as cors
from proxy.s3.errors import S3Error
from proxy.s3.headers import WEBSITE_REDIRECT
from proxy.s3.namespace import owner_account
from proxy.s3.router import dispatch
from proxy.s3.website import pages
from proxy.s3.website.config import Redirect, WebsiteConfig, redirect_location
from proxy.s3.website.handlers import bucket_website

log = logging.getLogger("stackstore.proxy.s3.website")

READS = ("GET", "HEAD")
FOLDER_REDIRECT = 302  # AWS's answer to ``dir`` when ``dir/<index>`` exists
# the request headers that shape the answer to the page asked for, not to an error document
_PAGE_ONLY = (b"range", b"if-match", b"if-none-match", b"if-modified-since", b"if-unmodified-since")


def website_domain(state: ProxyState) -> str:
    """``[s3] website_domain`` (lower case, no dots around; empty: no website endpoint)."""
    found = state.extras.get("website_domain")
    if found is None:  # read once: every S3 request asks, and the configuration does not change
        conf = state.conf.get("s3", {}) if hasattr(state.conf, "get") else {}
        found = state.extras["website_domain"] = str(conf.get("website_domain", "") or "").lower().strip(".")
    return found


def addressed_bucket(host: str, domain: str) -> str | None:
    """The bucket a ``Host`` names on the website domain (``""``: the domain itself; None: not a website
    host)."""
    if not domain:
        return None
    hostname = (host.rsplit(":", 1)[0] if not host.endswith("]") else host).lower().rstrip(".")
    if hostname == domain:
        return ""
    if hostname.endswith("." + domain):
        return hostname[: -len(domain) - 1]
    return None


async def serve(request: Request, state: ProxyState, bucket: str) -> Response:
    """Answer one request to the website of ``bucket``; never raises."""
    started = time.monotonic()
    visit = _Visit(request, state, bucket)
    error_code = ""
    try:
        resp = await visit.answer()
    except S3Error as err:
        error_code = err.code
        resp = pages.error_page(err, visit.trans_id, head=request.method == "HEAD")
    except Exception:
        log.exception("website %s %s (%s) failed", request.method, request.url.path, visit.trans_id)
        error_code = "InternalError"
        resp = pages.error_page(S3Error("InternalError"), visit.trans_id, head=request.method == "HEAD")
    error_code = error_code or visit.error_code
    resp.headers["x-amz-request-id"] = visit.trans_id
    resp.headers.setdefault("x-amz-id-2", visit.trans_id)
    if visit.account and request.method in READS and request.headers.get("origin"):
        try:
            resp.headers.update(await cors.actual_request_headers(visit.base, visit.account))
        except Exception:  # the answer matters more than its CORS headers
            log.warning("no CORS headers for the website answer of %s", request.url.path, exc_info=True)
    logged = visit.read_request or visit.base
    if logged is visit.base and visit.account:  # answered without a read (a redirect): still the bucket's
        try:
            await access_log.note_bucket_config(logged)
        except Exception:  # logging must never break the answer
            log.warning("website %s: no access log record", request.url.path, exc_info=True)
    await access_log.prepare(logged, resp, error_code, started)
    pending = logged.request.scope.get(access_log.SCOPE_KEY)  # a read's scope is a copy of the request's
    if pending is not None:
        request.scope[access_log.SCOPE_KEY] = pending
    return resp


class _Visit:
    """One request to a bucket's website: the request, its key and what was read for it."""

    def __init__(self, request: Request, state: ProxyState, bucket: str):
        self.request = request
        self.state = state
        self.bucket = bucket
        self.trans_id = trans_id_of(request.scope)
        raw = request.scope.get("raw_path")
        self.raw_path = (raw.decode("latin-1") if raw else request.url.path).split("?", 1)[0] or "/"
        self.raw_query = request.scope.get("query_string", b"").decode("latin-1")
        self.key = unquote(self.raw_path)[1:]
        self.base = self._request(self.key or None, request)
        self.account = ""
        self.read_request: S3Request | None = None  # the request of the page's own read (access logs)
        self.error_code = ""

    def _request(self, key: str | None, request: Request) -> S3Request:
        req = S3Request(request, self.state, self.trans_id, self.bucket, key, {}, self.raw_path, "", vhost=True,
                        auth=anonymous_auth())
        req.extras["website"] = True
        return req

    async def answer(self) -> Response:
        method = self.request.method
        if method == "OPTIONS":
            account = await cors.preflight_account(self.base)
            if account:  # the bucket's logging notes the preflight
                self.base.extras["bucket_account"] = self.account = account
            return await cors.preflight(self.base, account)
        if method not in READS:
            raise S3Error("MethodNotAllowed", Method=method, ResourceType="OBJECT")
        if not self.bucket or not is_valid_name(self.bucket):
            raise S3Error("NoSuchBucket", BucketName=self.bucket)
        self.account = await owner_account(self.state, self.bucket) or ""
        if not self.account:
            raise S3Error("NoSuchBucket", BucketName=self.bucket)
        self.base.extras["bucket_account"] = self.account
        config = await bucket_website(self.base, self.account, self.bucket)
        if config is None:
            raise S3Error("NoSuchWebsiteConfiguration", BucketName=self.bucket)
        if config.redirect_all is not None:
            target = config.redirect_all
            query = f"?{self.raw_query}" if self.raw_query else ""
            return pages.redirect(f"{target.protocol or self.scheme}://{target.host}{self.raw_path}{query}")
        rule = config.rule_before_reading(self.key)
        if rule is not None:
            return self.redirect_by(rule.redirect, rule.key_prefix, rule.redirect.code)
        return await self.page(config)

    @property
    def scheme(self) -> str:
        return self.request.url.scheme or "http"

    @property
    def host(self) -> str:
        return self.request.headers.get("host", "")

    def redirect_by(self, redirect: Redirect, key_prefix: str | None, code: int | None) -> Response:
        """A routing rule's redirect of this request's key."""
        return pages.redirect(redirect_location(redirect, self.scheme, self.host, self.key, key_prefix), code or 301)

    async def page(self, config: WebsiteConfig) -> Response:
        """The object (or index document) the key names, or what its error calls for."""
        key = self.key
        target = key + (config.index_suffix or "") if key == "" or key.endswith("/") else key
        try:
            resp = await self.read(target, self.request.method, keep_conditions=True)
        except S3Error as err:
            if err.status == 304:  # S3's answer to a satisfied If-None-Match / If-Modified-Since
                return err.response(f"/{self.bucket}/{target}", self.trans_id, head=True)
            self.error_code = err.code
            return await self.on_error(config, err)
        location = resp.headers.get(WEBSITE_REDIRECT)
        if location:
            await discard(resp)
            return pages.redirect(location)
        return resp

    async def on_error(self, config: WebsiteConfig, err: S3Error) -> Response:
        key = self.key
        if key and not key.endswith("/") and config.index_suffix and err.status in (403, 404) \
                and await self.readable(f"{key}/{config.index_suffix}"):
            return pages.redirect("/" + quote(key, safe="/~") + "/", FOLDER_REDIRECT)
        rule = config.rule_for_error(key, err.status)
        if rule is not None:
            return self.redirect_by(rule.redirect, rule.key_prefix, rule.redirect.code)
        head = self.request.method == "HEAD"
        if not config.error_key:
            return pages.error_page(err, self.trans_id, head=head)
        try:
            document = await self.read(config.error_key, self.request.method, keep_conditions=False)
        except S3Error as failed:
            return pages.error_page(err, self.trans_id, head=head, document_error=failed)
        document.status_code = err.status
        document.headers.update(pages.error_headers(err))
        return document

    async def readable(self, key: str) -> bool:
        """Whether everyone may read ``key`` (a HEAD by the anonymous caller)."""
        try:
            resp = await self.read(key, "HEAD", keep_conditions=False, main=False)
        except S3Error:
            return False
        await discard(resp)
        return True

    async def read(self, key: str, method: str, keep_conditions: bool, main: bool = True) -> Response:
        """GetObject/HeadObject of ``key`` by the anonymous caller, through the S3 API's dispatch."""
        headers = [(k, v) for k, v in self.request.scope["headers"]
                   if k != b"authorization" and (keep_conditions or k not in _PAGE_ONLY)]
        scope = dict(self.request.scope, method=method, headers=headers, query_string=b"")
        req = self._request(key, Request(scope, self.request.receive))
        if main and self.read_request is None:
            self.read_request = req
        return await dispatch(req)


