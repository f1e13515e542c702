"""Checksums of multipart uploads: the upload's algorithm and type, per-part values, the object's value.

CreateMultipartUpload names an algorithm (``x-amz-checksum-algorithm``) and a type
(``x-amz-checksum-type``: ``COMPOSITE`` — the checksum of the concatenated part checksums, shown as
``<base64>-<N>`` — or ``FULL_OBJECT`` — the CRC of the whole object, combined from the part CRCs without
reading the data). As AWS: SHA1/SHA256 are COMPOSITE only, CRC64NVME is FULL_OBJECT only, CRC32/CRC32C
either (COMPOSITE by default). Both are kept in the upload marker's sysmeta.

Every part of such an upload gets the algorithm's checksum computed as it streams (verified against the
client's header or trailer value) and stored in the part's sysmeta; a part sent with another algorithm is
``InvalidRequest``. ListParts (uploads with an algorithm) and CompleteMultipartUpload (every upload) read
the part checksums back from the parts' listing rows, which carry them as content type parameters
(``part_record_sysmeta``; parts stored before rows carried them: a HEAD each, a few at a time). Complete
checks the part checksums the client lists, computes the object's checksum (``BadDigest`` when the
client's ``x-amz-checksum-<alg>`` differs) and stores it on the manifest, and each part's value in its
manifest entry (``s3_checksum``) for ``?partNumber`` reads and GetObjectAttributes.

As AWS, data sent without any checksum gets the default one, CRC64NVME (``DEFAULT_ALGORITHM``): a
PutObject or CopyObject without a checksum stores it, and an upload created without an algorithm
computes it for every part and completes with the FULL_OBJECT CRC64NVME combined from them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from objclient.crypto.client import stored_view
from proxy.s3 import checksums, xml
from proxy.s3 import headers as s3h
from proxy.s3.bucket import segments_container
from proxy.s3.context import S3Request
from proxy.s3.errors import S3Error

SYSMETA_ALGORITHM = "X-Object-Sysmeta-S3-Checksum-Algorithm"
SYSMETA_TYPE = "X-Object-Sysmeta-S3-Checksum-Type"
# Marks an object whose checksum S3 chose (the default CRC64NVME of data sent without any). It is stored and
# answered like any other (HEAD/GET with ChecksumMode, GetObjectAttributes), but the result documents of
# CopyObject, UploadPartCopy and CompleteMultipartUpload name only a checksum the client chose: as S3 did
# before its default checksums, and as Swift's s3api (whose result schema has no checksum elements) answers.
SYSMETA_DEFAULT = "X-Object-Sysmeta-S3-Checksum-Default"
DEFAULT_MARK = {SYSMETA_DEFAULT: "1"}
COMPOSITE, FULL_OBJECT = "COMPOSITE", "FULL_OBJECT"
ENTRY_KEY = "s3_checksum"  # a manifest entry's part checksum (base64)
TYPES_OF = {"crc32": (COMPOSITE, FULL_OBJECT), "crc32c": (COMPOSITE, FULL_OBJECT), "crc64nvme": (FULL_OBJECT,),
            "sha1": (COMPOSITE,), "sha256": (COMPOSITE,)}
HEAD_CONCURRENCY = 8
# a part's listing row carries its checksums as parameters of its content type (``part_record_sysmeta``)
LISTING_TYPE_OVERRIDE = "X-Object-Sysmeta-Container-Update-Override-Content-Type"
PART_CONTENT_TYPE = "application/octet-stream"
ROW_PARAM = "s3_checksum_"
DEFAULT_ALGORITHM = "crc64nvme"


def element_name(algorithm: str) -> str:
    """``crc64nvme`` → ``ChecksumCRC64NVME`` (XML element and boto3 field)."""
    return "Checksum" + algorithm.upper()


@dataclass(frozen=True)
class UploadChecksum:
    """An upload's checksum algorithm and type."""

    algorithm: str
    type: str


IMPLICIT = UploadChecksum(DEFAULT_ALGORITHM, FULL_OBJECT)  # of uploads created without an algorithm


def requested(headers: Mapping[str, str]) -> UploadChecksum | None:
    """The algorithm and type a CreateMultipartUpload asks for; InvalidRequest for unknown or mismatched ones."""
    raw_alg = (headers.get("x-amz-checksum-algorithm") or "").strip()
    raw_type = (headers.get("x-amz-checksum-type") or "").strip().upper()
    if not raw_alg:
        if raw_type:
            raise S3Error("InvalidRequest", "The x-amz-checksum-type header can only be used with the "
                                            "x-amz-checksum-algorithm header.")
        return None
    alg = raw_alg.lower()
    if alg not in TYPES_OF:
        raise S3Error("InvalidRequest", "Checksum algorithm provided is unsupported. Please try again with any of "
                                        "the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]")
    if raw_type and raw_type not in (COMPOSITE, FULL_OBJECT):
        raise S3Error("InvalidRequest", "Value for x-amz-checksum-type header is invalid.")
    kind = raw_type or TYPES_OF[alg][0]
    if kind not in TYPES_OF[alg]:
        raise S3Error("InvalidRequest", f"The {alg.upper()} checksum algorithm does not support the {kind} "
                                        "checksum type.")
    return UploadChecksum(alg, kind)


def marker_sysmeta(spec: UploadChecksum | None) -> dict[str, str]:
    """The upload marker's sysmeta recording ``spec``."""
    return {SYSMETA_ALGORITHM: spec.algorithm, SYSMETA_TYPE: spec.type} if spec else {}


def of_marker(marker: Mapping[str, str]) -> UploadChecksum | None:
    """The checksum an upload was created with (None: none asked)."""
    alg = (s3h._get(marker, SYSMETA_ALGORITHM) or "").lower()
    if alg not in TYPES_OF:
        return None
    kind = (s3h._get(marker, SYSMETA_TYPE) or TYPES_OF[alg][0]).upper()
    return UploadChecksum(alg, kind)


def response_headers(spec: UploadChecksum | None) -> dict[str, str]:
    """``x-amz-checksum-algorithm``/``-type`` of CreateMultipartUpload's answer."""
    if spec is None:
        return {}
    return {"x-amz-checksum-algorithm": spec.algorithm.upper(), "x-amz-checksum-type": spec.type}


def part_algorithms(headers: Mapping[str, str]) -> set[str]:
    """Every algorithm a part request names: checksum headers, the trailer, ``x-amz-sdk-checksum-algorithm``."""
    names = set(checksums.requested_checksums(headers))
    alg = checksums.sdk_algorithm(headers)
    if alg:
        names.add(alg)
    for name in (headers.get("x-amz-trailer") or "").split(","):
        name = name.strip().lower()
        if name.startswith("x-amz-checksum-"):
            names.add(name[len("x-amz-checksum-"):])
    return names


def default_algorithm(headers: Mapping[str, str]) -> str | None:
    """CRC64NVME for a request that names no checksum at all (AWS's default), else None."""
    return None if part_algorithms(headers) else DEFAULT_ALGORITHM


def check_part_request(spec: UploadChecksum | None, headers: Mapping[str, str]) -> None:
    """InvalidRequest when an UploadPart carries a checksum of another algorithm than its upload's."""
    if spec is None:
        return
    others = sorted(part_algorithms(headers) - {spec.algorithm})
    if others:
        raise S3Error("InvalidRequest", f"Checksum Type mismatch occurred, expected checksum Type: "
                                        f"{spec.algorithm}, actual checksum Type: {others[0]}")


def part_record_sysmeta(values: Mapping[str, str]) -> dict[str, str]:
    """What makes a part's listing row (its record in the segments container) carry its checksums: the row's
    content type ``application/octet-stream; s3_checksum_<alg>=<base64>`` (the part object keeps its own)."""
    params = "".join(f"; {ROW_PARAM}{alg}={value}" for alg, value in sorted(values.items()))
    return {LISTING_TYPE_OVERRIDE: PART_CONTENT_TYPE + params} if params else {}


def row_checksums(row: Mapping[str, object]) -> dict[str, str]:
    """``{algorithm: base64}`` a part's listing row carries (none for parts stored before rows carried them)."""
    out = {}
    for param in str(row.get("content_type") or "").split(";")[1:]:
        name, _, value = param.strip().partition("=")
        if name.startswith(ROW_PARAM) and value:
            out[name[len(ROW_PARAM):]] = value
    return out


def row_content_type(row: Mapping[str, object]) -> str:
    """A part row's content type without the checksum parameters."""
    return str(row.get("content_type") or PART_CONTENT_TYPE).split(";", 1)[0].strip()


async def stored_part_checksums(req: S3Request, container: str, names: list[str], algorithm: str,
                                rows: Mapping[str, Mapping[str, object]] | None = None) -> dict[str, str]:
    """``{part object name: base64 checksum}`` for the parts that carry one: from their listing ``rows``
    (by name) where these carry it, else a HEAD of the part (older parts), a few at a time."""
    sem = asyncio.Semaphore(HEAD_CONCURRENCY)
    found: dict[str, str] = {}
    if rows:
        for name in names:
            value = row_checksums(rows.get(name) or {}).get(algorithm)
            if value:
                found[name] = value
        names = [name for name in names if name not in found and not row_checksums(rows.get(name) or {})]

    async def one(name: str) -> None:
        async with sem:
            # a part's checksum is plaintext sysmeta: readable without an SSE-C part's key
            resp = await stored_view(req.client).head_object(req.account, container, name)
        if resp.status // 100 == 2:
            value = s3h._get(resp.headers, checksums.SYSMETA + algorithm.title())
            if value:
                found[name] = value

    await asyncio.gather(*(one(n) for n in names))
    return found


def requested_part_checksums(doc: Element) -> dict[int, dict[str, str]]:
    """``{part number: {algorithm: base64}}`` from the ``ChecksumXXX`` elements of a Complete request."""
    out: dict[int, dict[str, str]] = {}
    for part in xml.children(doc, "Part"):
        number = (xml.child_text(part, "PartNumber") or "").strip()
        if not number.isdigit():
            continue
        for alg in checksums.ALGORITHMS:
            value = xml.child_text(part, element_name(alg))
            if value:
                out.setdefault(int(number), {})[alg] = value.strip()
    return out


def object_checksum(spec: UploadChecksum, parts: list[tuple[str, int]]) -> str:
    """The object's checksum from its parts' ``(base64 checksum, size)``: composite or full-object."""
    if spec.type == FULL_OBJECT:
        return checksums.combine_crcs(spec.algorithm, parts)
    return checksums.composite_checksum(spec.algorithm, [value for value, _ in parts])


async def complete_checksum(req: S3Request, declared: UploadChecksum | None, requested: list[tuple[int, str]],
                            entries: list[dict], body_xml: bytes,
                            rows: Mapping[str, Mapping[str, object]] | None = None
                            ) -> tuple[UploadChecksum | None, str | None]:
    """CompleteMultipartUpload: the object's checksum (and its kind) from its parts' stored checksums, each
    kept in its manifest entry (``entries`` are the manifest's, ``requested`` the (number, ETag) pairs listed).

    An upload ``declared`` without an algorithm gets the default FULL_OBJECT CRC64NVME when every part has
    one (parts stored before the default existed leave the object without). The checksums the request
    lists must match the stored ones (InvalidPart otherwise)."""
    spec = declared or IMPLICIT
    seg = segments_container(req.bucket or "")
    prefix = f"/{seg}/"
    names = [e["name"][len(prefix):] for e in entries]
    stored = await stored_part_checksums(req, seg, names, spec.algorithm, rows)
    given = requested_part_checksums(xml.parse(body_xml, "CompleteMultipartUpload"))
    values = []
    for (number, etag), name, entry in zip(requested, names, entries, strict=True):
        value = stored.get(name)
        if value is None:
            if declared is None:
                return None, None
            raise S3Error("InvalidRequest", f"The upload was created using a {spec.algorithm} checksum; "
                                            f"part {number} carries none.")
        want = given.get(number, {}).get(spec.algorithm)
        if want is not None and want != value:
            raise S3Error("InvalidPart", UploadId=req.query.get("uploadId"), PartNumber=str(number), ETag=etag)
        values.append((value, int(entry["bytes"])))
    for (value, _), entry in zip(values, entries, strict=True):
        entry[ENTRY_KEY] = value
    return spec, object_checksum(spec, values)


def check_complete_request(declared: UploadChecksum | None, spec: UploadChecksum | None, headers: Mapping[str, str],
                           computed: str | None) -> None:
    """Complete's ``x-amz-checksum-type`` must be the upload's (``declared``), its ``x-amz-checksum-<alg>``
    the value computed (``spec``: the declared or default checksum)."""
    kind = (headers.get("x-amz-checksum-type") or "").strip().upper()
    if kind and (declared is None or kind != declared.type):
        raise S3Error("InvalidRequest", f"The upload was created using the "
                      f"{declared.type if declared else 'null'} checksum mode. The complete request must use the "
                      "same checksum mode.")
    given = checksums.requested_checksums(headers)
    if spec is None or computed is None:
        return
    value = given.get(spec.algorithm)
    if value is not None and value not in (computed, computed.partition("-")[0]):  # "-N" may be left off
        raise S3Error("BadDigest", f"The {spec.algorithm.upper()} you specified did not match the calculated "
                                   "checksum.")


def stored_object_checksum(spec: UploadChecksum, value: str) -> dict[str, str]:
    """The manifest's sysmeta for the object's checksum."""
    return {checksums.SYSMETA + spec.algorithm.title(): value, SYSMETA_ALGORITHM: spec.algorithm,
            SYSMETA_TYPE: spec.type}


def add_elements(parent: Element, spec: UploadChecksum | None, value: str | None) -> None:
    """``<ChecksumXXX>`` and ``<ChecksumType>`` of a CompleteMultipartUploadResult."""
    if spec is None or value is None:
        return
    xml.add(parent, element_name(spec.algorithm), value)
    xml.add(parent, "ChecksumType", spec.type)


def object_response_headers(stored: Mapping[str, str]) -> dict[str, str]:
    """``x-amz-checksum-<alg>`` and ``x-amz-checksum-type`` of a stored object (GET/HEAD with ChecksumMode)."""
    out = s3h.stored_checksums(stored)
    if out:
        out["x-amz-checksum-type"] = (s3h._get(stored, SYSMETA_TYPE) or FULL_OBJECT).upper()
    return out


def chosen_by_client(stored: Mapping[str, str]) -> bool:
    """Whether a stored object's checksum was the client's choice (not S3's default)."""
    return bool(s3h.stored_checksums(stored)) and not s3h._get(stored, SYSMETA_DEFAULT)


def copy_chosen_by_client(headers: Mapping[str, str], source: Mapping[str, str]) -> bool:
    """Whether a CopyObject's checksum (``copy_algorithm``) is the client's choice: named on the copy, or the
    source's own client-chosen checksum."""
    return bool((headers.get("x-amz-checksum-algorithm") or "").strip()) or chosen_by_client(source)


def copy_algorithm(headers: Mapping[str, str], source: Mapping[str, str]) -> str:
    """The checksum algorithm of a CopyObject's new object: ``x-amz-checksum-algorithm`` when given, else
    the source's (recomputed over the whole copy: a FULL_OBJECT checksum, whatever the source's type), else
    the default."""
    raw = (headers.get("x-amz-checksum-algorithm") or "").strip().lower()
    if raw:
        if raw not in TYPES_OF:
            raise S3Error("InvalidRequest", "Checksum algorithm provided is unsupported. Please try again with any "
                                            "of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]")
        return raw
    for name in s3h.stored_checksums(source):
        return name[len("x-amz-checksum-"):]
    return DEFAULT_ALGORITHM
