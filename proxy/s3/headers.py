"""Header mapping between S3 and the Swift object model (``x-amz-meta-*`` ↔ ``X-Object-Meta-*``)."""

from __future__ import annotations

import calendar
import math
import re
import time
from collections.abc import Mapping

from objclient.headers import HeaderDict
from proxy.s3 import checksums, tagset
from proxy.s3.errors import S3Error
from stackstore.headers import lookup

META_S3 = "x-amz-meta-"
META_SWIFT = "X-Object-Meta-"
# persisted as-is by the storage node and returned by GET/HEAD
# with Swift's X-Robots-Tag, which its object server stores and its s3api passes on (AWS ignores it)
ENTITY = ("content-type", "content-encoding", "content-disposition", "content-language", "cache-control",
          "expires", "x-robots-tag")
SYSMETA_ETAG = "X-Object-Sysmeta-S3-Etag"  # multipart ETag "<md5 of part md5s>-N"
SYSMETA_TAGGING = "X-Object-Sysmeta-S3-Tagging"  # url-encoded tag set
SYSMETA_UPLOAD_ID = "X-Object-Sysmeta-S3-Upload-Id"  # the multipart upload that made the object
SYSMETA_PARTS = "X-Object-Sysmeta-S3-Parts"  # part sizes of a completed upload, for partNumber reads
# where a website endpoint redirects a read of the object (x-amz-website-redirect-location, proxy/s3/website)
WEBSITE_REDIRECT = "x-amz-website-redirect-location"
SYSMETA_WEBSITE_REDIRECT = "X-Object-Sysmeta-S3-Website-Redirect-Location"
MAX_WEBSITE_REDIRECT = 2048  # AWS: the value is limited to 2 KB
# every object is stored in its bucket's storage policy: the one storage class there is, as S3 names it
STORAGE_CLASSES = frozenset({"STANDARD"})
RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}


def user_meta_to_swift(headers: Mapping[str, str]) -> dict[str, str]:
    """``x-amz-meta-foo: v`` → ``X-Object-Meta-Foo: v`` (names title-cased as Swift does)."""
    out = {}
    for name, value in headers.items():
        low = name.lower()
        if low.startswith(META_S3) and len(low) > len(META_S3):
            out[META_SWIFT + low[len(META_S3):].title()] = value
    return out


def entity_to_swift(headers: Mapping[str, str]) -> dict[str, str]:
    """Content-Type/-Encoding/-Disposition/-Language, Cache-Control, Expires for the stored object."""
    out = {}
    for name in ENTITY:
        value = headers.get(name)
        if value is None:
            continue
        if name == "content-encoding" and "aws-chunked" in value.lower():  # the framing is not the object's
            value = ", ".join(p.strip() for p in value.split(",") if p.strip().lower() != "aws-chunked")
            if not value:
                continue
        out[name.title()] = value
    out.setdefault("Content-Type", "binary/octet-stream")
    return out


def check_storage_class(headers: Mapping[str, str]) -> None:
    """Refuse an ``x-amz-storage-class`` this cloud does not store (AWS's 400 InvalidStorageClass), rather than
    storing the object in another class than the client asked for."""
    value = headers.get("x-amz-storage-class")
    if value is not None and value not in STORAGE_CLASSES:
        raise S3Error("InvalidStorageClass", "The storage class you specified is not valid",
                      StorageClassRequested=value)


def object_put_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Storage headers of a PutObject/CreateMultipartUpload/POST/CopyObject from the client's S3 headers (its
    storage class checked)."""
    check_storage_class(headers)
    out = entity_to_swift(headers)
    out.update(user_meta_to_swift(headers))
    tagging = tagset.header_tagging(headers)
    if tagging:
        out[SYSMETA_TAGGING] = tagging
    out.update(website_redirect_sysmeta(headers))
    return out


def website_redirect_sysmeta(headers: Mapping[str, str]) -> dict[str, str]:
    """The sysmeta keeping a write's ``x-amz-website-redirect-location`` (none without it). As AWS, the value
    must be a path of the bucket's website (``/...``) or an ``http(s)://`` URL: 400 InvalidRedirectLocation
    otherwise."""
    value = headers.get(WEBSITE_REDIRECT)
    if value is None:
        return {}
    if not value.startswith(("/", "http://", "https://")) or len(value.encode("utf-8", "replace")) > \
            MAX_WEBSITE_REDIRECT or any(ch < " " or ch == "\x7f" for ch in value):
        raise S3Error("InvalidRedirectLocation", "The website redirect location must have a prefix of "
                      "'http://' or 'https://' or '/'.", status=400)
    return {SYSMETA_WEBSITE_REDIRECT: value}


def s3_etag(headers: Mapping[str, str]) -> str:
    """The S3 ETag (unquoted) of a stored object: multipart sysmeta, else the md5."""
    value = _get(headers, SYSMETA_ETAG)
    if value:
        return value.strip('"')
    return (_get(headers, "etag") or "").strip('"')


_get = lookup  # the shared case-insensitive lookup (stackstore/headers.py), under the name callers use


def mail_safe(value: str) -> str:
    """A user metadata value as AWS returns it: as is when printable US-ASCII, else an RFC 2047
    encoded-word of its UTF-8 text (``=?UTF-8?Q?...?=``).

    Header bytes arrive as latin-1 text; bytes that form UTF-8 are shown as the text they encode."""
    if value.isascii() and value.isprintable():  # every character in " ".."~"
        return value
    try:
        raw = value.encode("latin-1")
    except UnicodeEncodeError:
        raw = value.encode("utf-8")
    try:
        raw = raw.decode("utf-8").encode("utf-8")
    except UnicodeDecodeError:
        raw = value.encode("utf-8")  # not UTF-8: the latin-1 characters themselves
    safe = "".join(chr(b) if 0x21 <= b <= 0x7E and chr(b) not in "=?_" else f"={b:02X}" for b in raw)
    return f"=?UTF-8?Q?{safe}?="


_ENTITY_TITLES = {name: name.title() for name in ENTITY}
_META_SUFFIXES = re.compile(r"^x-object-meta-(.*)$", re.MULTILINE)  # over the lower-case names, one per line
_SYSMETA_WEBSITE_REDIRECT_LOW = SYSMETA_WEBSITE_REDIRECT.lower()
_SYSMETA_TAGGING_LOW = SYSMETA_TAGGING.lower()


def s3_object_headers(stored: Mapping[str, str]) -> dict[str, str]:
    """Response headers of GET/HEAD from the stored object's headers (no length/range/etag).

    The stored names are matched by C calls (a set intersection, one regular expression over the names), not
    a Python loop over every header: each S3 GET and HEAD does this."""
    headers = stored if isinstance(stored, HeaderDict) else HeaderDict(dict(stored.items()))
    names = headers.lower_names()
    out = {_ENTITY_TITLES[low]: headers[low] for low in _ENTITY_TITLES.keys() & names}
    for suffix in _META_SUFFIXES.findall("\n".join(names)):
        out[META_S3 + suffix] = mail_safe(headers["x-object-meta-" + suffix])
    ctype = out.get("Content-Type")
    if ctype is not None and "swift_bytes=" in ctype:
        out["Content-Type"] = ";".join(p for p in ctype.split(";") if not p.strip().startswith("swift_bytes="))
    lm = headers.get("last-modified")
    if lm:
        out["Last-Modified"] = lm
    if _SYSMETA_WEBSITE_REDIRECT_LOW in names:
        redirect = headers[_SYSMETA_WEBSITE_REDIRECT_LOW]
        if redirect:
            out[WEBSITE_REDIRECT] = redirect
    if _SYSMETA_TAGGING_LOW in names:
        count = tagset.tag_count(headers[_SYSMETA_TAGGING_LOW])
        if count:
            out["x-amz-tagging-count"] = str(count)
    return out


def stored_checksums(stored: Mapping[str, str]) -> dict[str, str]:
    """``{"x-amz-checksum-crc32": b64, ...}`` recorded at upload time."""
    out = {}
    for alg in checksums.ALGORITHMS:
        value = _get(stored, checksums.SYSMETA + alg.title())
        if value:
            out[f"x-amz-checksum-{alg}"] = value
    return out


def apply_overrides(headers: dict[str, str], query: Mapping[str, str]) -> None:
    """``response-content-type`` & co. replace the stored values on GET/HEAD."""
    if not query:
        return
    for param, header in RESPONSE_OVERRIDES.items():
        if param in query:
            for k in [k for k in headers if k.lower() == header.lower()]:
                del headers[k]
            headers[header] = query[param]


def iso8601(epoch: float) -> str:
    """``2026-11-22T02:17:09.000Z`` as S3 listings show times."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch * 1000) % 1000:03d}Z"


def iso8601_whole_second(epoch: float) -> str:
    """``epoch`` rounded up to the whole second (``...T02:15:33.000Z``): the times of objects in S3
    answers, equal to their ``Last-Modified`` header (which Swift rounds up too)."""
    return iso8601(math.ceil(epoch))


def iso_from_swift(value: str) -> str:
    """Swift listing ``last_modified`` (``2026-11-22T02:15:32.123456``, UTC) → S3 form, rounded up to
    the whole second (``2026-11-22T02:15:33.000Z``) like the object's ``Last-Modified`` header, as
    S3 and Swift's s3api show listing times."""
    if not value:
        return iso8601(0)
    base, _, frac = value.rstrip("Z").partition(".")
    try:
        when = calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return f"{base}.000Z"
    if frac.strip("0"):
        when += 1
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when)) + ".000Z"
