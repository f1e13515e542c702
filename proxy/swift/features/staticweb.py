"""Static websites served from containers, as Swift's ``staticweb`` middleware.

Applies to GET/HEAD on a container or object by an anonymous caller (a temp URL's too), or by an
authenticated one who sends ``X-Web-Mode: true``. The container's metadata shapes the site:

* ``Web-Index``: the object served for a directory (``/v1/a/c/`` or ``/v1/a/c/dir/``);
* ``Web-Listings: true``: an HTML listing of a directory without index (``Web-Listings-CSS`` links
  a style sheet, ``Web-Listings-Label`` replaces the path in the title);
* ``Web-Error``: ``<status><Web-Error>`` (e.g. ``404error.html``) is served with an error's status;
* ``Web-Directory-Type``: the content type of directory marker objects (``application/directory``
  by default), which read as "not found" so that their directory is served instead.

``dir`` redirects (301) to ``dir/`` when it is a directory. Every object and listing this feature
reads is a sub-request by the caller through the rest of the pipeline, authorized like any other.
The stage sits between ``authenticate`` and ``authorize`` (proxy/pipeline.py) because, as Swift's
auth defers its decision, a denied container request still gets the site's ``401`` error page.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from proxy.http.errors import error_response
from proxy.http.subresponses import discard, read_body
from proxy.pipeline import Handler, handles
from proxy.swift.access import check
from proxy.swift.context import SwiftRequest
from proxy.swift.features.meta import container_headers

TRUE_VALUES = ("true", "1", "yes", "on", "t", "y")
DEFAULT_DIRECTORY_TYPE = "application/directory"
MAX_LISTING_BYTES = 64 * 1024 * 1024  # one listing page (10000 names) is far below this
MOVED_BODY = "<html><h1>Moved Permanently</h1><p>The resource has moved permanently.</p></html>"

INFO: dict[str, object] = {}


def is_true(value: str | None) -> bool:
    """Swift's ``config_true_value``."""
    return (value or "").strip().lower() in TRUE_VALUES


@dataclass
class Site:
    """The container's web metadata (empty strings when unset)."""

    index: str = ""
    error: str = ""
    listings: str = ""
    listings_css: str = ""
    listings_label: str = ""
    directory_type: str = ""

    @classmethod
    async def of(cls, req: SwiftRequest) -> Site:
        headers = await container_headers(req, req.container or "")
        if headers is None:
            return cls()

        def meta(name: str) -> str:
            return _text(headers.get(f"x-container-meta-web-{name}") or "").strip()

        return cls(meta("index"), meta("error"), meta("listings"), meta("listings-css"),
                   meta("listings-label"), meta("directory-type"))


def _text(header_value: str) -> str:
    """A stored metadata value as text (headers arrive as latin-1 of their UTF-8 bytes)."""
    try:
        return header_value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return header_value


def applies(req: SwiftRequest) -> bool:
    """A GET/HEAD below an account by an anonymous or temp URL caller, or in web mode."""
    if req.method not in ("GET", "HEAD") or req.container is None:
        return False
    anonymous = req.identity is None or req.identity.is_anonymous
    return anonymous or is_true(req.headers.get("x-web-mode"))


@handles(methods={"GET", "HEAD"})
async def feature(req: SwiftRequest, call_next: Handler) -> Response:
    """The pipeline stage: serve the container as a web site when its metadata asks for it."""
    if not applies(req):
        return await call_next(req)
    page = _Page(req, call_next, await Site.of(req))
    if req.obj is None:
        return await page.container()
    return await page.object()


class _Page:
    """One static web request: the caller's request, the rest of the pipeline and the site."""

    def __init__(self, req: SwiftRequest, call_next: Handler, site: Site):
        self.req = req
        self.call_next = call_next
        self.site = site
        raw = req.request.scope.get("raw_path") or req.request.scope["path"].encode()
        self.ends_with_slash = raw.split(b"?", 1)[0].endswith(b"/")

    # -- the two entry points -------------------------------------------------------------

    async def container(self) -> Response:
        """``/v1/a/c[/]``: index page, listing or redirect; otherwise the plain container request."""
        denied = await check(self.req)
        if denied is not None:
            return await self.error_page(denied)
        site = self.site
        if not site.listings and not site.index:
            if is_true(self.req.headers.get("x-web-mode")):
                return error_response(404)
            return await self.call_next(self.req)
        if not self.ends_with_slash:
            return self.redirect_with_slash()
        if not site.index:
            return await self.listing("")
        resp = await self.call_next(self.same_request_for(site.index))
        if resp.status_code == 404:
            await discard(resp)
            return await self.listing("")
        if not 200 <= resp.status_code < 400:
            return await self.error_page(resp)
        return resp

    async def object(self) -> Response:
        """``/v1/a/c/path``: the object itself, else the directory it names (index, listing, redirect)."""
        req, site = self.req, self.site
        resp = await self.call_next(req)
        status = resp.status_code
        if 200 <= status < 400:
            if not self.is_directory_marker(resp):
                return resp
            status = 404
        elif status != 404:
            return resp  # only "not found" gets the site's error page
        if not site.listings and not site.index:
            return resp
        await discard(resp)
        obj = req.obj or ""
        if site.index:
            directory = obj if obj.endswith("/") else obj + "/"
            index = await self.call_next(self.same_request_for(directory + site.index))
            if 200 <= index.status_code < 400:
                if not self.ends_with_slash:
                    await discard(index)
                    return self.redirect_with_slash()
                return index
            if index.status_code != 404:
                return index
            await discard(index)
        if not self.ends_with_slash:
            if await self.has_children(obj + "/"):
                return self.redirect_with_slash()
            return await self.error_page(error_response(404))
        return await self.listing(obj)

    # -- pieces ---------------------------------------------------------------------------

    def is_directory_marker(self, resp: Response) -> bool:
        kind = self.site.directory_type or DEFAULT_DIRECTORY_TYPE
        length = resp.headers.get("content-length") or "0"
        return resp.headers.get("content-type") == kind and length.isdigit() and int(length) <= 1

    def same_request_for(self, obj: str) -> SwiftRequest:
        """The caller's request (method, headers, query) for another object of the container."""
        req = self.req
        sub = req.subrequest(req.method, req.account, req.container, obj, query=req.query)
        scope = dict(sub.request.scope, headers=list(req.request.scope["headers"]))
        sub.request = Request(scope, sub.request.receive)
        return sub

    async def error_page(self, resp: Response) -> Response:
        """``resp``, or the site's ``<status><Web-Error>`` object sent with ``resp``'s status."""
        if not self.site.error:
            return resp
        req = self.req
        name = f"{resp.status_code}{self.site.error}"
        page = await self.call_next(req.subrequest(req.method, req.account, req.container, name))
        if not 200 <= page.status_code < 300:
            await discard(page)
            return resp
        await discard(resp)
        page.status_code = resp.status_code
        return page

    def redirect_with_slash(self) -> Response:
        """301 to the same path with a trailing slash (an absolute URL, as Swift's ``Location``)."""
        request = self.req.request
        host = self.req.headers.get("host") or request.url.netloc
        location = f"{request.url.scheme}://{host}{quote(self.decoded_path() + '/')}"
        resp = Response(MOVED_BODY, status_code=301, headers={"Location": location})
        resp.headers["Content-Type"] = "text/html; charset=UTF-8"
        return resp

    def decoded_path(self) -> str:
        req = self.req
        path = f"/{req.request.url.path.split('/', 2)[1]}/{req.account}/{req.container}"
        if req.obj is not None:
            path += "/" + req.obj
        elif self.ends_with_slash:
            path += "/"
        return path

    async def list_directory(self, prefix: str, limit: int | None = None) -> tuple[int, list[dict] | None]:
        """(status, rows) of a delimited JSON listing of ``prefix``, by the caller."""
        query = {"format": "json", "delimiter": "/"}
        if prefix:
            query["prefix"] = prefix
        if limit is not None:
            query["limit"] = str(limit)
        req = self.req
        resp = await self.call_next(req.subrequest("GET", req.account, req.container, None, query=query))
        if not 200 <= resp.status_code < 300:
            await discard(resp)
            return resp.status_code, None
        body = await read_body(resp, MAX_LISTING_BYTES)
        try:
            rows = json.loads(body) if body else []
        except ValueError:
            return 500, None
        return resp.status_code, rows if isinstance(rows, list) else []

    async def has_children(self, prefix: str) -> bool:
        status, rows = await self.list_directory(prefix, limit=1)
        return bool(rows)

    async def listing(self, prefix: str) -> Response:
        """The HTML listing of the directory ``prefix`` (404 pages when listings are off or it is empty)."""
        label = self.label()
        if not is_true(self.site.listings):
            page = disabled_listing_page(label, self.css_href(prefix) if self.site.listings_css else None,
                                         self.site.index)
            return await self.error_page(_html(page, 404, head=self.req.method == "HEAD"))
        status, rows = await self.list_directory(prefix)
        if rows is None:
            return await self.error_page(error_response(status))
        if prefix and not rows:
            return await self.error_page(error_response(404))
        tempurl_prefix, link_query = self.tempurl_links()
        body = listing_page(label, rows, prefix, self.css_href(prefix) if self.site.listings_css else None,
                            show_parent=len(prefix) > len(tempurl_prefix), link_query=link_query)
        return _html(body, 200, head=self.req.method == "HEAD", page_class=ListingPage)

    def label(self) -> str:
        path = self.decoded_path()
        if self.site.listings_label:
            return "{}/{}".format(self.site.listings_label, "/".join(path.split("/")[4:]))
        return path

    def css_href(self, prefix: str) -> str:
        css = self.site.listings_css
        if css.startswith(("/", "http://", "https://")):
            return quote(css, safe=":/")
        return "../" * prefix.count("/") + quote(css)

    def tempurl_links(self) -> tuple[str, str]:
        """(the temp URL's prefix, the query its links carry) when a prefix temp URL granted this."""
        q = self.req.query
        if self.req.authorized_by != "tempurl" or "temp_url_prefix" not in q:
            return "", ""
        parts = [f"temp_url_prefix={quote(q['temp_url_prefix'])}",
                 f"temp_url_expires={quote(q.get('temp_url_expires', ''))}",
                 f"temp_url_sig={html.escape(q.get('temp_url_sig', ''))}"]
        if q.get("temp_url_ip_range"):
            parts.append(f"temp_url_ip_range={quote(q['temp_url_ip_range'])}")
        if "inline" in q:
            parts.append("inline")
        return q["temp_url_prefix"], "?" + "&amp;".join(parts)


class ListingPage(Response):
    """A directory listing this feature generated (Swift marks it ``X-Backend-Content-Generator:
    staticweb``): the one answer a temp URL for the container path itself may get (proxy/swift/features/tempurl.py)."""


def is_generated_listing(resp: Response) -> bool:
    """Whether ``resp`` is a listing page staticweb generated (not a stored object or a container listing)."""
    return isinstance(resp, ListingPage)


def _html(body: str, status: int, head: bool = False, page_class: type[Response] = Response) -> Response:
    data = body.encode()
    resp = page_class(b"" if head else data, status_code=status)
    resp.headers["Content-Type"] = "text/html; charset=UTF-8"
    resp.headers["Content-Length"] = str(len(data))
    return resp


def human_size(size: int) -> str:
    """Bytes as Swift's listings print them: ``512``, ``3Ki``, ``12Mi``..."""
    value = float(size)
    suffix = ""
    for unit in "KMGTPEZY":
        if value < 1024:
            break
        value = round(value / 1024)
        suffix = unit + "i"
    return f"{round(value)}{suffix}"


def _link(name: str) -> str:
    return quote(name).replace(".", "%2E")


def disabled_listing_page(label: str, css_href: str | None, index: str) -> str:
    """The 404 page of a directory without index when listings are off."""
    out = ["<!DOCTYPE html>\n<html>\n<head>\n", f"<title>Listing of {html.escape(label)}</title>\n"]
    if css_href is not None:
        out.append(f'  <link rel="stylesheet" type="text/css" href="{css_href}" />\n')
    else:
        out.append('  <style type="text/css">\n   h1 {font-size: 1em; font-weight: bold;}\n'
                   "   p {font-size: 2}\n  </style>\n")
    out.append("</head>\n<body>  <h1>Web Listing Disabled</h1>"
               "   <p>The owner of this web site has disabled web listing."
               "   <p>If you are the owner of this web site, you can enable"
               "   web listing by setting X-Container-Meta-Web-Listings.</p>")
    if index:
        out.append("<h1>Index File Not Found</h1> <p>The owner of this web site has set "
                   f" <b>X-Container-Meta-Web-Index: {html.escape(index)}</b>.  However, this file is not found.</p>")
    out.append(" </body>\n</html>\n")
    return "".join(out)


def listing_page(label: str, rows: list[dict], prefix: str, css_href: str | None, *, show_parent: bool,
                 link_query: str) -> str:
    """The HTML listing of one directory level (sub-directories first, then objects)."""
    title = html.escape(label)
    out = ["<!DOCTYPE html>\n<html>\n <head>\n", f"  <title>Listing of {title}</title>\n"]
    if css_href is not None:
        out.append(f'  <link rel="stylesheet" type="text/css" href="{css_href}" />\n')
    else:
        out.append('  <style type="text/css">\n   h1 {font-size: 1em; font-weight: bold;}\n'
                   "   th {text-align: left; padding: 0px 1em 0px 1em;}\n"
                   "   td {padding: 0px 1em 0px 1em;}\n   a {text-decoration: none;}\n  </style>\n")
    out.append(f' </head>\n <body>\n  <h1 id="title">Listing of {title}</h1>\n  <table id="listing">\n'
               '   <tr id="heading">\n    <th class="colname">Name</th>\n'
               '    <th class="colsize">Size</th>\n    <th class="coldate">Date</th>\n   </tr>\n')
    if show_parent:
        out.append(f'   <tr id="parent" class="item">\n    <td class="colname"><a href="../{link_query}">../</a>'
                   '</td>\n    <td class="colsize">&nbsp;</td>\n    <td class="coldate">&nbsp;</td>\n   </tr>\n')
    for row in rows:
        if "subdir" in row:
            name = str(row["subdir"])[len(prefix):]
            out.append(f'   <tr class="item subdir">\n    <td class="colname"><a href="./{_link(name)}'
                       f'{link_query}">{html.escape(name)}</a></td>\n'
                       '    <td class="colsize">&nbsp;</td>\n    <td class="coldate">&nbsp;</td>\n   </tr>\n')
    for row in rows:
        if "name" in row:
            name = str(row["name"])[len(prefix):]
            kinds = " ".join("type-" + html.escape(t.lower()) for t in str(row.get("content_type", "")).split("/"))
            date = html.escape(str(row.get("last_modified", ""))).split(".")[0].replace("T", " ")
            out.append(f'   <tr class="item {kinds}">\n    <td class="colname"><a href="./{_link(name)}'
                       f'{link_query}">{html.escape(name)}</a></td>\n'
                       f'    <td class="colsize">{human_size(int(row.get("bytes", 0)))}</td>\n'
                       f'    <td class="coldate">{date}</td>\n   </tr>\n')
    out.append("  </table>\n </body>\n</html>\n")
    return "".join(out)
