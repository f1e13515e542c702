"""Account and container listings: parameter parsing and json/xml/plain rendering (reference A3)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from starlette.responses import Response

from proxy.http.errors import HTTPError
from proxy.swift.constraints import true_value
from stackstore.numbers import is_ascii_digits

JSON, XML, TEXT_XML, PLAIN = "application/json", "application/xml", "text/xml", "text/plain"
FORMATS = {"json": JSON, "xml": XML, "plain": PLAIN}


@dataclass
class ListingParams:
    prefix: str | None = None
    delimiter: str | None = None
    marker: str | None = None
    end_marker: str | None = None
    limit: int = 10000
    reverse: bool = False
    path: str | None = None  # legacy: direct children of a pseudo directory


def parse_params(query: Mapping[str, str], max_limit: int) -> ListingParams:
    """Listing query parameters; 412 for a limit above ``max_limit``.

    As Swift: any UTF-8 text is a marker, prefix or delimiter (delimiters may be several characters;
    a marker may end in NUL to include the name before it in a reverse listing); ``path`` lists the
    direct children of a pseudo directory and is answered by the container servers.
    """
    params = ListingParams(limit=max_limit)
    raw_limit = query.get("limit")
    if is_ascii_digits(raw_limit):  # anything else is ignored, as Swift's listings do
        params.limit = int(raw_limit)
        if params.limit > max_limit:
            raise HTTPError(412, f"Maximum limit is {max_limit}")
    for name in ("prefix", "delimiter", "marker", "end_marker", "path"):
        value = query.get(name)
        if value == "" and name != "path":
            value = None
        setattr(params, name, value)
    params.reverse = true_value(query.get("reverse"))
    return params


def _accept_match(accept: str) -> str | None:
    """Best of our listing types for an Accept header; None when nothing acceptable."""
    best, best_q = None, 0.0
    offered = (PLAIN, JSON, XML, TEXT_XML)
    for item in accept.split(","):
        media, *opts = [p.strip() for p in item.split(";")]
        q = 1.0
        for opt in opts:
            if opt.startswith("q="):
                try:
                    q = float(opt[2:])
                except ValueError:
                    q = 0.0
        media = media.lower()
        for candidate in offered:
            ctype, csub = candidate.split("/")
            mtype, _, msub = media.partition("/")
            if media in ("*", "*/*") or (mtype == ctype and msub in ("*", csub)):
                if q > best_q:
                    best, best_q = candidate, q
                break
    return best


def content_type(query: Mapping[str, str], headers: Mapping[str, str]) -> str:
    """Listing media type from ``format=`` or ``Accept``; 406 when neither allows one."""
    fmt = query.get("format")
    if fmt:
        fmt = fmt.lower()
        if fmt in FORMATS:
            return FORMATS[fmt]
        if fmt in ("text/xml", XML, JSON, PLAIN):
            return fmt
    accept = headers.get("accept")
    if not accept:
        return PLAIN
    chosen = _accept_match(accept)
    if chosen is None:
        raise HTTPError(406)
    return chosen


def _object_xml(row: dict) -> str:
    if "subdir" in row:
        return f"<subdir name={quoteattr(row['subdir'])}><name>{escape(row['subdir'])}</name></subdir>"
    return (f"<object><name>{escape(row['name'])}</name><hash>{escape(str(row.get('hash', '')))}</hash>"
            f"<bytes>{int(row.get('bytes', 0))}</bytes>"
            f"<content_type>{escape(str(row.get('content_type', '')))}</content_type>"
            f"<last_modified>{escape(str(row.get('last_modified', '')))}</last_modified></object>")


def _container_xml(row: dict) -> str:
    if "subdir" in row:
        return f"<subdir name={quoteattr(row['subdir'])}><name>{escape(row['subdir'])}</name></subdir>"
    return (f"<container><name>{escape(row['name'])}</name><count>{int(row.get('count', 0))}</count>"
            f"<bytes>{int(row.get('bytes', 0))}</bytes>"
            f"<last_modified>{escape(str(row.get('last_modified', '')))}</last_modified>"
            + (f"<storage_policy>{escape(str(row['storage_policy']))}</storage_policy>"
               if row.get("storage_policy") else "") + "</container>")


def render(rows: list[dict], media: str, kind: str, name: str,
           headers: Mapping[str, str] | None = None) -> Response:
    """The listing response; ``kind`` is "account" (rows are containers) or "container"."""
    headers = dict(headers or {})
    if media == JSON:
        body = json.dumps(rows, ensure_ascii=False, separators=(",", ":")).encode()
    elif media in (XML, TEXT_XML):
        entry = _container_xml if kind == "account" else _object_xml
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                f"<{kind} name={quoteattr(name)}>" + "".join(entry(r) for r in rows) + f"</{kind}>").encode()
    else:
        if not rows:
            return Response(b"", status_code=204, headers=headers | {"Content-Type": PLAIN + "; charset=utf-8",
                                                                      "Content-Length": "0"})
        body = "".join((r.get("name") or r.get("subdir", "")) + "\n" for r in rows).encode()
    resp = Response(body, status_code=200, headers=headers)
    resp.headers["Content-Type"] = media + "; charset=utf-8"
    return resp
