"""Atomic conditional writes (``If-None-Match: *``, ``If-Match: <etag>``) on PutObject, CopyObject (on
the destination; the source's conditions are ``x-amz-copy-source-if-*``) and CompleteMultipartUpload:
the storage nodes decide them where the write commits (stackstore/wire.py)."""

from __future__ import annotations

from collections.abc import Mapping

from objclient.crypto.envelope import OVERRIDE_ETAG
from objclient.response import BackendResponse
from proxy.large_objects.slo_manifest import SYSMETA_ETAG as SLO_SYSMETA_ETAG
from proxy.s3.errors import S3Error
from proxy.s3.headers import SYSMETA_ETAG
from stackstore import wire


def write_condition(headers: Mapping[str, str]) -> dict[str, str] | None:
    """The node condition headers of a write request (None: unconditional).

    ``If-None-Match: *`` writes only when the key has no object; with an ETag, only when the current object
    does not have that ETag (RFC 9110's meaning; AWS documents ``*`` alone, and S3 servers such as Ceph's
    gateway take an ETag too)."""
    out: dict[str, str] = {}
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        value = if_none_match.strip()
        if not value:
            raise S3Error("InvalidArgument", "If-None-Match must be * or an ETag", ArgumentName="If-None-Match")
        out[wire.COND_IF_NONE_MATCH] = "*" if value == "*" else value.strip('"')
        if value != "*":
            out[wire.COND_ETAG_IS_AT] = f"{SYSMETA_ETAG},{SLO_SYSMETA_ETAG},{OVERRIDE_ETAG}"
    if_match = headers.get("if-match")
    if if_match is not None:
        etag = if_match.strip()
        if not etag:
            raise S3Error("InvalidArgument", "If-Match must name an ETag", ArgumentName="If-Match")
        out[wire.COND_IF_MATCH] = etag.strip('"')
        # a multipart object's S3 ETag, else an encrypted object's plaintext ETag, else the stored md5
        out[wire.COND_ETAG_IS_AT] = f"{SYSMETA_ETAG},{SLO_SYSMETA_ETAG},{OVERRIDE_ETAG}"
    return out or None


def condition_error(resp: BackendResponse, condition: Mapping[str, str] | None, key: str) -> S3Error | None:
    """The S3 error for a conditional write the nodes refused (None when ``resp`` is no such refusal)."""
    if not condition:
        return None
    if resp.status == 412:
        which = "If-None-Match" if wire.COND_IF_NONE_MATCH in condition else "If-Match"
        return S3Error("PreconditionFailed", Condition=which)
    if resp.status == 404 and wire.COND_IF_MATCH in condition:
        return S3Error("NoSuchKey", Key=key)
    if resp.status == 409 and resp.headers.get(wire.CONFLICT) == wire.RESERVATION_CONFLICT:
        return S3Error("ConditionalRequestConflict")
    return None
