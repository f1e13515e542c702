"""How the S3 API lays objects out in containers, as far as lifecycle needs to know (the proxy's
definitions, restated here because nodes never import the proxy; tests/s3/test_lifecycle.py checks
that both agree)."""

from __future__ import annotations

from collections.abc import Mapping

SEGMENTS_SUFFIX = "+segments"  # proxy/s3/bucket.py: the hidden container of multipart parts and uploads
UPLOAD_TYPE = "application/x-stackstore-s3-upload"  # proxy/s3/multipart.py: an upload's marker object
SYSMETA_S3_ETAG = "X-Object-Sysmeta-S3-Etag"  # proxy/s3/headers.py: set on completed multipart uploads


def segments_container(bucket: str) -> str:
    return bucket + SEGMENTS_SUFFIX


def header(headers: Mapping[str, str], name: str) -> str | None:
    low = name.lower()
    for key, value in headers.items():
        if key.lower() == low:
            return value
    return None


def is_multipart_manifest(headers: Mapping[str, str]) -> bool:
    """A completed S3 multipart upload (an SLO manifest with the S3 ETag)."""
    slo = (header(headers, "X-Static-Large-Object") or "").lower() in ("true", "1", "yes")
    return slo and bool(header(headers, SYSMETA_S3_ETAG))


def upload_of(marker_name: str) -> tuple[str, str]:
    """``(key, upload id)`` of an upload marker ``<key>/<upload id>``."""
    key, _, upload_id = marker_name.rpartition("/")
    return key, upload_id


def part_prefix(key: str, upload_id: str) -> str:
    """Names of an upload's parts start with this (``<key>/<upload id>/<part number>``)."""
    return f"{key}/{upload_id}/"
