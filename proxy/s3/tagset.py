"""Tag sets as AWS validates them: parsing (XML document, ``x-amz-tagging`` header), limits, stored form.

Limits (AWS S3 API reference, PutObjectTagging/PutBucketTagging): an object has at most 10 tags, a bucket
at most 50; a key is 1-128 characters, a value 0-256; keys are unique and never start with ``aws:``. Every
violation is 400 ``InvalidTag`` (``MalformedXML`` for a document that is not a tag set). The stored form is
the url-encoded ``x-amz-tagging`` form (``k1=v1&k2=v2``).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode

from proxy.s3 import xml
from proxy.s3.errors import S3Error

MAX_OBJECT_TAGS = 10
MAX_BUCKET_TAGS = 50
MAX_KEY_CHARS = 128
MAX_VALUE_CHARS = 256
RESERVED_PREFIX = "aws:"

TagSet = list[tuple[str, str]]


def validate(tags: TagSet, limit: int) -> TagSet:
    """The tag set when it keeps AWS's rules; ``InvalidTag`` (400) naming the broken rule otherwise."""
    if len(tags) > limit:
        kind = "Object" if limit == MAX_OBJECT_TAGS else "Bucket"
        raise S3Error("InvalidTag", f"{kind} tags cannot be greater than {limit}")
    seen: set[str] = set()
    for key, value in tags:
        if not key:
            raise S3Error("InvalidTag", "The TagKey you have provided is invalid", TagKey=key)
        if len(key) > MAX_KEY_CHARS:
            raise S3Error("InvalidTag", "The TagKey you have provided is too long, max 128", TagKey=key)
        if len(value) > MAX_VALUE_CHARS:
            raise S3Error("InvalidTag", "The TagValue you have provided is too long, max 256", TagKey=key,
                          TagValue=value)
        if key.lower().startswith(RESERVED_PREFIX):
            raise S3Error("InvalidTag", "Your TagKey cannot be prefixed with aws:", TagKey=key)
        if key in seen:
            raise S3Error("InvalidTag", "Cannot provide multiple Tags with the same key", TagKey=key)
        seen.add(key)
    return tags


def parse_document(body: bytes, limit: int) -> TagSet:
    """A ``<Tagging><TagSet><Tag><Key/><Value/></Tag>…`` request body, validated."""
    doc = xml.parse(body, "Tagging")
    tagset = xml.children(doc, "TagSet")
    if len(tagset) != 1:
        raise S3Error("MalformedXML")
    tags = []
    for tag in xml.children(tagset[0], "Tag"):
        key, value = xml.child_text(tag, "Key"), xml.child_text(tag, "Value")
        if key is None or value is None:
            raise S3Error("MalformedXML")
        tags.append((key, value))
    return validate(tags, limit)


def parse_header(value: str) -> TagSet:
    """An ``x-amz-tagging`` header (url-encoded query form), validated as an object tag set. A key without
    ``=`` is a tag with an empty value (``a=1&b``), as AWS reads it."""
    try:
        tags = parse_qsl(value, keep_blank_values=True, errors="strict")
    except (ValueError, UnicodeDecodeError):
        raise S3Error("InvalidArgument", "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded "
                      "URL query parameters without tag name duplicates.", ArgumentName="x-amz-tagging",
                      ArgumentValue=value) from None
    return validate(tags, MAX_OBJECT_TAGS)


def form_tagging(value: str) -> str:
    """A POST form's ``tagging`` field (a ``<Tagging>`` document, as AWS's browser uploads take it) in the
    url-encoded form ``x-amz-tagging`` has; InvalidTag/MalformedXML as PutObjectTagging's body."""
    return encode(parse_document(value.encode("utf-8"), MAX_OBJECT_TAGS))


def encode(tags: TagSet) -> str:
    """The stored (url-encoded) form of a tag set, ordered by key: a tag set is a map, and S3 servers
    answer it in key order whatever order it was sent in."""
    return urlencode(sorted(tags))


def decode(stored: str | None) -> TagSet:
    """A stored tag set (absent or empty: no tags)."""
    return parse_qsl(stored or "", keep_blank_values=True)


def header_tagging(headers: Mapping[str, str]) -> str | None:
    """The stored form of the request's ``x-amz-tagging`` (None when absent); InvalidTag when it breaks a rule."""
    value = headers.get("x-amz-tagging")
    if value is None:
        return None
    return encode(parse_header(value))


def tag_count(stored: str | None) -> int:
    """How many tags a stored tag set holds (``x-amz-tagging-count`` on GET/HEAD)."""
    return len(decode(stored))


def tagging_directive(headers: Mapping[str, str]) -> str:
    """CopyObject's ``x-amz-tagging-directive``: ``COPY`` (default) or ``REPLACE``; InvalidArgument otherwise."""
    directive = (headers.get("x-amz-tagging-directive") or "COPY").upper()
    if directive not in ("COPY", "REPLACE"):
        raise S3Error("InvalidArgument", "Unknown tagging directive.", ArgumentName="x-amz-tagging-directive",
                      ArgumentValue=directive)
    return directive


def copied_tagging(headers: Mapping[str, str], source_tagging: str | None) -> str | None:
    """The stored tag set of a CopyObject's new object: the source's (``COPY``) or the request's
    ``x-amz-tagging`` (``REPLACE``), whatever the metadata directive says."""
    if tagging_directive(headers) == "COPY":
        return source_tagging or None
    return header_tagging(headers) or None
