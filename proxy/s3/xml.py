"""Building S3 XML responses and parsing request bodies (defusedxml)."""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from defusedxml import ElementTree as SafeET
from starlette.responses import Response

from proxy.s3.errors import S3Error

NS = "http://s3.amazonaws.com/doc/2006-03-01/"
MAX_BODY = 2 * 1024 * 1024


def root(tag: str) -> Element:
    return Element(tag, xmlns=NS)


def add(parent: Element, tag: str, text: Any = None) -> Element:
    """Append ``<tag>text</tag>`` (no text when ``text`` is None)."""
    el = SubElement(parent, tag)
    if text is not None:
        el.text = text if isinstance(text, str) else ("true" if text is True else "false" if text is False
                                                      else str(text))
    return el


def add_all(parent: Element, items: Iterable[tuple[str, Any]]) -> None:
    for tag, text in items:
        add(parent, tag, text)


def to_bytes(el: Element) -> bytes:
    data: bytes = tostring(el, encoding="utf-8", xml_declaration=False)  # bytes for a named encoding
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + data


def xml_response(el: Element, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(to_bytes(el), status_code=status, headers=headers, media_type="application/xml")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse(body: bytes, expect_root: str) -> Element:
    """Parse a request body; MalformedXML for anything unexpected (entities, DTDs, wrong root)."""
    try:
        el: Element = SafeET.fromstring(body)
    except Exception:  # defusedxml raises several types (ParseError, DTDForbidden, ...)
        raise S3Error("MalformedXML") from None
    if _local(el.tag) != expect_root:
        raise S3Error("MalformedXML")
    return el


def children(el: Element, tag: str) -> list[Element]:
    return [c for c in el if _local(c.tag) == tag]


def child_text(el: Element, tag: str) -> str | None:
    for c in el:
        if _local(c.tag) == tag:
            return c.text or ""
    return None


async def read_body(stream: AsyncIterable[bytes], limit: int = MAX_BODY) -> bytes:
    """Read a small request body (XML documents); larger → MalformedXML / EntityTooLarge."""
    buf = bytearray()
    async for chunk in stream:
        buf += chunk
        if len(buf) > limit:
            raise S3Error("MalformedXML", "The XML you provided was too large.")
    return bytes(buf)
