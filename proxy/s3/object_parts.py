"""The parts of a completed multipart upload, read back: ``?partNumber=`` GET/HEAD and GetObjectAttributes.

A completed upload is an SLO manifest whose entries are its parts, in order (``proxy.s3.multipart``);
each entry holds the part's size and, when the upload had a checksum algorithm, the part's checksum
(``part_checksums.ENTRY_KEY``). An object stored in one piece has no parts: ``partNumber=1`` reads it
whole, as AWS answers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from objclient.crypto.client import stored_view
from proxy.large_objects import slo
from proxy.large_objects.slo_manifest import parse_stored
from proxy.s3 import headers as s3h
from proxy.s3 import part_checksums
from proxy.s3.context import S3Request
from proxy.s3.errors import S3Error, from_backend
from stackstore.numbers import is_ascii_digits

MAX_PART_NUMBER = 10000


@dataclass(frozen=True)
class Part:
    """One part of a multipart object: its number, where it starts, its size and checksum (base64)."""

    number: int
    start: int
    size: int
    checksum: str | None

    @property
    def end(self) -> int:
        return self.start + self.size


def part_number_arg(raw: str) -> int:
    """``?partNumber=`` as an integer 1..10000; InvalidArgument otherwise."""
    if not is_ascii_digits(raw) or not 1 <= int(raw) <= MAX_PART_NUMBER:
        raise S3Error("InvalidArgument", f"Part number must be an integer between 1 and {MAX_PART_NUMBER}, "
                      "inclusive", ArgumentName="partNumber", ArgumentValue=raw)
    return int(raw)


def is_multipart(stored: Mapping[str, str]) -> bool:
    """Whether a stored object is a completed S3 multipart upload (an SLO with an S3 multipart ETag)."""
    return bool(s3h._get(stored, s3h.SYSMETA_ETAG)) and slo.is_slo(stored)


async def load_parts(req: S3Request, bucket: str, key: str) -> list[Part]:
    """The parts of the multipart object at ``bucket/key``, from its manifest."""
    resp = await stored_view(req.client).get_object(req.account, bucket, key)  # the plaintext manifest
    if resp.status != 200:
        await resp.close()
        raise from_backend(resp.status, bucket, key)
    try:
        entries = parse_stored(await resp.read())
    except (ValueError, json.JSONDecodeError):
        raise S3Error("InternalError", "corrupt large object manifest") from None
    parts, start = [], 0
    for index, entry in enumerate(entries, 1):
        size = int(entry.get("bytes") or 0)
        parts.append(Part(index, start, size, entry.get(part_checksums.ENTRY_KEY)))
        start += size
    return parts


@dataclass(frozen=True)
class PartRead:
    """What a ``?partNumber=`` read serves: the byte range of the part, the part count, the part's checksum."""

    range_header: str | None  # None: the whole object (one-piece object, part 1)
    parts_count: int | None  # x-amz-mp-parts-count (multipart objects only)
    checksum_headers: dict[str, str]


async def requested_part(req: S3Request, bucket: str, key: str) -> PartRead | None:
    """The part a GET/HEAD ``?partNumber=`` names (None without the parameter).

    400 ``InvalidPartNumber`` past the last part; a Range header next to it is ``InvalidRequest``.
    """
    raw = req.query.get("partNumber")
    if raw is None:
        return None
    number = part_number_arg(raw)
    if req.headers.get("range"):
        raise S3Error("InvalidRequest", "Cannot specify both Range header and partNumber query parameter")
    head = await stored_view(req.client).head_object(req.account, bucket, key)
    if head.status == 404:
        raise S3Error("NoSuchKey", Key=key)
    if head.status // 100 != 2:
        raise from_backend(head.status, bucket, key)
    if not is_multipart(head.headers):
        if number != 1:
            raise S3Error("InvalidPartNumber", "The requested partnumber is not satisfiable", status=400,
                          PartNumberRequested=str(number), ActualPartCount="1")
        return PartRead(None, None, {})
    parts = await load_parts(req, bucket, key)
    if number > len(parts):
        raise S3Error("InvalidPartNumber", "The requested partnumber is not satisfiable", status=400,
                      PartNumberRequested=str(number), ActualPartCount=str(len(parts)))
    part = parts[number - 1]
    checksum_headers = {}
    spec = part_checksums.of_marker(head.headers)
    wants_checksum = (req.headers.get("x-amz-checksum-mode") or "").upper() == "ENABLED"
    if wants_checksum and spec is not None and spec.type == part_checksums.COMPOSITE and part.checksum:
        checksum_headers = {f"x-amz-checksum-{spec.algorithm}": part.checksum,
                            "x-amz-checksum-type": part_checksums.COMPOSITE}
    rng = f"bytes={part.start}-{part.end - 1}" if part.size else None
    return PartRead(rng, len(parts), checksum_headers)
