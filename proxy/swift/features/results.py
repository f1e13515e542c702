"""Bulk-style result bodies (bulk delete, SLO delete, SLO PUT errors) in Swift's three formats."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from xml.sax.saxutils import escape

from proxy.http.errors import status_line

__all__ = ["ACCEPTABLE_FORMATS", "best_format", "content_type", "render", "status_line"]

ACCEPTABLE_FORMATS = ("text/plain", "application/json", "application/xml", "text/xml")


def best_format(accept: str | None) -> str:
    """Pick one of ACCEPTABLE_FORMATS from an Accept header (q-values honoured); text/plain by default."""
    best, best_q = "text/plain", 0.0
    for part in (accept or "").split(","):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        q = 1.0
        for param in fields[1:]:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        for fmt in ACCEPTABLE_FORMATS:
            if media in (fmt, "*/*", fmt.split("/")[0] + "/*") and q > best_q:
                best, best_q = fmt, q
                break
    return best


def render(fmt: str, data: Mapping[str, object], errors: Sequence[Sequence[str]], root_tag: str) -> bytes:
    """Swift's ``get_response_body``: JSON object with ``Errors``, XML, or ``Key: value`` lines."""
    if fmt == "application/json":
        return json.dumps({**data, "Errors": [list(e) for e in errors]}).encode()
    if fmt.endswith("/xml"):
        out = [f"<{root_tag}>\n"]
        for key in sorted(data):
            tag = key.replace(" ", "_").lower()
            out.append(f"<{tag}>{escape(str(data[key]))}</{tag}>\n")
        out.append("<errors>\n")
        out.extend(f"<object><name>{escape(n)}</name><status>{escape(s)}</status></object>\n" for n, s in errors)
        out.append(f"</errors>\n</{root_tag}>\n")
        return "".join(out).encode()
    lines = [f"{key}: {data[key]}\n" for key in sorted(data)]
    lines.append("Errors:\n")
    lines.extend(f"{n}, {s}\n" for n, s in errors)
    return "".join(lines).encode()


def content_type(fmt: str) -> str:
    return f"{fmt}; charset=utf-8"
