"""GetObjectAttributes (``GET /<bucket>/<key>?attributes``): ETag, Checksum, ObjectParts, StorageClass, ObjectSize.

``x-amz-object-attributes`` names the attributes wanted (comma-separated); ``ObjectParts`` is given for
multipart objects only (its ``Part`` list only when the upload had a checksum algorithm, as AWS), paged
by ``x-amz-max-parts`` (default and most 1000) and ``x-amz-part-number-marker``. The ETag is unquoted,
as AWS answers it here.

``?versionId`` reads that version's attributes (proxy/s3/versioning.py).
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from starlette.responses import Response

from proxy.s3 import part_checksums, sse, xml
from proxy.s3.bucket import require_bucket
from proxy.s3.context import S3Request
from proxy.s3.errors import S3Error
from proxy.s3.object_parts import is_multipart, load_parts
from proxy.s3.reader import open_object
from proxy.s3.versioning import VERSION_HEADER, resolve, response_version, show_written_at
from stackstore.numbers import is_ascii_digits

ATTRIBUTES = ("ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize")
MAX_PARTS = 1000


def wanted_attributes(value: str | None) -> set[str]:
    """The names of ``x-amz-object-attributes``; InvalidArgument when missing or unknown."""
    names = {n.strip() for n in (value or "").split(",") if n.strip()}
    by_lower = {a.lower(): a for a in ATTRIBUTES}
    unknown = [n for n in names if n.lower() not in by_lower]
    if not names or unknown:
        raise S3Error("InvalidArgument", "Invalid attribute name specified.", ArgumentName="x-amz-object-attributes",
                      ArgumentValue=value or "")
    return {by_lower[n.lower()] for n in names}


def _int_header(req: S3Request, name: str, default: int) -> int:
    raw = req.headers.get(name)
    if raw is None or raw == "":
        return default
    if not is_ascii_digits(raw.strip()):
        raise S3Error("InvalidArgument", f"{name} must be a non-negative integer", ArgumentName=name,
                      ArgumentValue=raw)
    return int(raw.strip())


async def get_object_attributes(req: S3Request) -> Response:
    """GetObjectAttributes: the attributes asked for, without reading the object's data."""
    bucket_info = await require_bucket(req)
    wanted = wanted_attributes(req.headers.get("x-amz-object-attributes"))
    max_parts = min(_int_header(req, "x-amz-max-parts", MAX_PARTS), MAX_PARTS)
    marker = _int_header(req, "x-amz-part-number-marker", 0)
    bucket, key, version = await resolve(req, req.bucket or "", req.key or "")
    customer_key = sse.request_customer_key(req)  # an SSE-C object's attributes need its key, as GetObject
    obj = await open_object(req, bucket, key, None, head=True, customer_key=customer_key)
    await obj.close()
    sse.check_applicable(obj.headers, customer_key)
    show_written_at(version, obj.headers)
    doc = xml.root("GetObjectAttributesOutput")
    if "ETag" in wanted:
        xml.add(doc, "ETag", obj.etag)
    if "Checksum" in wanted:
        found = part_checksums.object_response_headers(obj.headers)
        if found:
            el = xml.add(doc, "Checksum")
            for name, value in found.items():
                if name == "x-amz-checksum-type":
                    continue
                xml.add(el, part_checksums.element_name(name[len("x-amz-checksum-"):]), value)
            xml.add(el, "ChecksumType", found["x-amz-checksum-type"])
    if "ObjectParts" in wanted and is_multipart(obj.headers):
        await _add_parts(req, doc, part_checksums.of_marker(obj.headers), max_parts, marker)
    if "StorageClass" in wanted:
        xml.add(doc, "StorageClass", "STANDARD")
    if "ObjectSize" in wanted:
        xml.add(doc, "ObjectSize", obj.size)
    headers = {}
    if obj.last_modified:
        headers["Last-Modified"] = obj.last_modified
    shown = req.query.get("versionId") or response_version(obj.headers, bucket_info)
    if shown is not None:  # as GetObject, in a versioned bucket
        headers[VERSION_HEADER] = shown
    return xml.xml_response(doc, headers=headers)


async def _add_parts(req: S3Request, doc: Element, checksum: part_checksums.UploadChecksum | None,
                     max_parts: int, marker: int) -> None:
    """``<ObjectParts>``: the part count and one page of parts (number, size, checksum) after ``marker``.

    As AWS, the parts themselves are listed only for an upload made with a checksum algorithm; without
    one the answer is the part count."""
    parts = await load_parts(req, req.bucket or "", req.key or "")
    after = [p for p in parts if p.number > marker] if checksum else []
    page = after[:max_parts]
    el = xml.add(doc, "ObjectParts")
    xml.add(el, "PartsCount", len(parts))
    xml.add(el, "PartNumberMarker", marker)
    if page:
        xml.add(el, "NextPartNumberMarker", page[-1].number)
    xml.add(el, "MaxParts", max_parts)
    xml.add(el, "IsTruncated", len(after) > len(page))
    for part in page:
        p = xml.add(el, "Part")
        xml.add(p, "PartNumber", part.number)
        xml.add(p, "Size", part.size)
        if checksum and part.checksum:
            xml.add(p, part_checksums.element_name(checksum.algorithm), part.checksum)
