"""S3 Object Lock (WORM) on versioned buckets: the bucket's lock configuration, per-version retention and
legal hold, and their enforcement.

* A bucket is lock-enabled at CreateBucket (``x-amz-bucket-object-lock-enabled: true``, which also enables
  versioning for good) or by PutObjectLockConfiguration on a bucket whose versioning is enabled. The flag and
  the default retention rule are container sysmeta.
* A version's retention (mode, retain-until date) and legal hold are its own object sysmeta
  (``stackstore.object_lock``): archive copies and replication carry them with the version.
* Enforcement is the versioning engine's guard (``engine.add_guard``), which every path that removes a
  version's data runs first, over S3 and over the Swift API alike: a held version is refused (S3
  ``AccessDenied``, Swift 403). A GOVERNANCE retention gives way to an S3 request with
  ``x-amz-bypass-governance-retention: true`` from a caller allowed ``s3:BypassGovernanceRetention``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.responses import Response

from proxy.http.errors import HTTPError
from proxy.s3 import headers as s3h
from proxy.s3 import xml
from proxy.s3.bucket import require_bucket
from proxy.s3.context import S3Request
from proxy.s3.errors import S3Error, from_backend
from proxy.s3.upload import request_body
from proxy.s3.version_target import kept_on_post, stored_version
from proxy.versioning import engine
from stackstore.object_lock import (
    COMPLIANCE,
    CONTAINER_SYSMETA_ENABLED,
    LEGAL_HOLD_OFF,
    LEGAL_HOLD_ON,
    MODES,
    NO_LOCK,
    SYSMETA_LEGAL_HOLD,
    SYSMETA_MODE,
    SYSMETA_RETAIN_UNTIL,
    VersionLock,
    container_locked,
    format_date,
    lock_of,
    parse_date,
)

BUCKET_SYSMETA_ENABLED = CONTAINER_SYSMETA_ENABLED
BUCKET_SYSMETA_RULE = "X-Container-Sysmeta-S3-Object-Lock-Rule"  # "<MODE> <Days|Years> <n>"
_INFO_RULE = "s3-object-lock-rule"  # its key in container info
CREATE_HEADER = "x-amz-bucket-object-lock-enabled"
MODE_HEADER = "x-amz-object-lock-mode"
UNTIL_HEADER = "x-amz-object-lock-retain-until-date"
HOLD_HEADER = "x-amz-object-lock-legal-hold"
BYPASS_HEADER = "x-amz-bypass-governance-retention"
BYPASS_ACTION = "s3:BypassGovernanceRetention"
MAX_DAYS, MAX_YEARS = 36500, 100
_MISSING_CONFIG = "Bucket is missing Object Lock Configuration"


# -- the bucket -----------------------------------------------------------------------------------

def lock_enabled(bucket_info: Mapping[str, Any]) -> bool:
    """Whether the bucket (its container info) has Object Lock enabled."""
    return container_locked(bucket_info)


def default_rule(bucket_info: Mapping[str, Any]) -> tuple[str, str, int] | None:
    """The bucket's default retention: (mode, ``Days``|``Years``, n), or None."""
    raw = (bucket_info.get("sysmeta") or {}).get(_INFO_RULE) or ""
    parts = raw.split()
    if len(parts) != 3 or parts[0] not in MODES or parts[1] not in ("Days", "Years") or not parts[2].isdigit():
        return None
    return parts[0], parts[1], int(parts[2])


def creation_sysmeta(req: S3Request) -> dict[str, str]:
    """Container sysmeta of a new bucket: the lock flag (and versioning) when CreateBucket asks for Object Lock,
    else cleared (a deleted container keeps its metadata; a new bucket must not inherit a lock)."""
    value = (req.headers.get(CREATE_HEADER) or "").strip().lower()
    if value not in ("", "true", "false"):
        raise S3Error("InvalidArgument", "Invalid value for x-amz-bucket-object-lock-enabled",
                      ArgumentName=CREATE_HEADER, ArgumentValue=value)
    if value != "true":
        return {BUCKET_SYSMETA_ENABLED: "", BUCKET_SYSMETA_RULE: ""}
    return {BUCKET_SYSMETA_ENABLED: "Enabled", BUCKET_SYSMETA_RULE: "", engine.SYSMETA_ENABLED: "true"}


def refuse_suspension(bucket_info: Mapping[str, Any]) -> None:
    """Versioning of a lock-enabled bucket cannot be suspended (409 InvalidBucketState, as AWS)."""
    if lock_enabled(bucket_info):
        raise S3Error("InvalidBucketState", "An Object Lock configuration is present on this bucket, so the "
                      "versioning state cannot be changed.", status=409)


async def get_configuration(req: S3Request) -> Response:
    """GetObjectLockConfiguration: ``ObjectLockEnabled`` and the default retention rule, if any."""
    info = await require_bucket(req)
    if not lock_enabled(info):
        raise S3Error("ObjectLockConfigurationNotFoundError", BucketName=req.bucket)
    doc = xml.root("ObjectLockConfiguration")
    xml.add(doc, "ObjectLockEnabled", "Enabled")
    rule = default_rule(info)
    if rule is not None:
        retention = xml.add(xml.add(doc, "Rule"), "DefaultRetention")
        xml.add(retention, "Mode", rule[0])
        xml.add(retention, rule[1], rule[2])
    return xml.xml_response(doc)


def _parse_configuration(body: bytes) -> str:
    """The stored rule (``""`` for none) of a PutObjectLockConfiguration body; AWS's errors when invalid."""
    doc = xml.parse(body, "ObjectLockConfiguration")
    if (xml.child_text(doc, "ObjectLockEnabled") or "").strip() != "Enabled":
        raise S3Error("MalformedXML")
    rules = xml.children(doc, "Rule")
    if not rules:
        return ""
    retentions = xml.children(rules[0], "DefaultRetention")
    if len(rules) > 1 or len(retentions) != 1:
        raise S3Error("MalformedXML")
    retention = retentions[0]
    mode = (xml.child_text(retention, "Mode") or "").strip()
    days, years = xml.child_text(retention, "Days"), xml.child_text(retention, "Years")
    if mode not in MODES or (days is None) == (years is None):
        raise S3Error("MalformedXML")
    unit, text, limit = ("Days", days, MAX_DAYS) if days is not None else ("Years", years, MAX_YEARS)
    text = (text or "").strip()
    try:
        count = int(text)
    except ValueError:
        raise S3Error("MalformedXML") from None
    if not 0 < count <= limit:
        raise S3Error("InvalidRetentionPeriod", "Default retention period must be a positive integer value.")
    return f"{mode} {unit} {count}"


async def put_configuration(req: S3Request) -> Response:
    """PutObjectLockConfiguration: set (or clear) the default retention; enables Object Lock on a bucket whose
    versioning is enabled (409 InvalidBucketState otherwise)."""
    info = await require_bucket(req)
    rule = _parse_configuration(await xml.read_body(request_body(req)))
    if not lock_enabled(info) and engine.state_of(info) != engine.ENABLED:
        raise S3Error("InvalidBucketState", "Versioning must be 'Enabled' on the bucket to apply a Object Lock "
                      "configuration", status=409)
    bucket = req.bucket or ""
    resp = await req.client.post_container(req.account, bucket,
                                           {BUCKET_SYSMETA_ENABLED: "Enabled", BUCKET_SYSMETA_RULE: rule})
    await resp.close()
    req.state.invalidate_info(req.account, bucket)
    if resp.status // 100 != 2:
        raise from_backend(resp.status, bucket)
    return Response(b"", 200)


# -- writes ---------------------------------------------------------------------------------------

def _has_integrity_header(headers: Mapping[str, str]) -> bool:
    if headers.get("content-md5") or headers.get("x-amz-sdk-checksum-algorithm"):
        return True
    if "x-amz-checksum-" in (headers.get("x-amz-trailer") or "").lower():
        return True
    return any(name.lower().startswith("x-amz-checksum-") and name.lower() != "x-amz-checksum-type"
               for name in headers)


def _future_date(value: str, bad: S3Error) -> datetime:
    when = parse_date(value)
    if when is None:
        raise bad
    if when <= datetime.now(UTC):
        raise S3Error("InvalidArgument", "The retain until date must be in the future!")
    return when


def write_sysmeta(req: S3Request, bucket_info: Mapping[str, Any], needs_digest: bool = False) -> dict[str, str]:
    """The lock sysmeta a new version written by ``req`` (PutObject, CopyObject, CreateMultipartUpload) gets:
    its ``x-amz-object-lock-*`` headers, else the bucket's default retention. ``needs_digest``: a body upload,
    which AWS requires to carry Content-MD5 or a checksum when the version is locked."""
    mode, until = req.headers.get(MODE_HEADER), req.headers.get(UNTIL_HEADER)
    hold = req.headers.get(HOLD_HEADER)
    enabled = lock_enabled(bucket_info)
    if (mode is not None or until is not None or hold is not None) and not enabled:
        raise S3Error("InvalidRequest", _MISSING_CONFIG)
    if not enabled:
        return {}
    out: dict[str, str] = {}
    if (mode is None) != (until is None):
        raise S3Error("InvalidArgument", "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must "
                      "both be supplied")
    if mode is not None and until is not None:
        if mode not in MODES:
            raise S3Error("InvalidArgument", "Unknown wormMode directive.", ArgumentName=MODE_HEADER,
                          ArgumentValue=mode)
        bad = S3Error("InvalidArgument", "The retain until date must be provided in ISO 8601 format",
                      ArgumentName=UNTIL_HEADER, ArgumentValue=until)
        out = {SYSMETA_MODE: mode, SYSMETA_RETAIN_UNTIL: format_date(_future_date(until, bad))}
    else:
        rule = default_rule(bucket_info)
        if rule is not None:
            days = rule[2] * (365 if rule[1] == "Years" else 1)
            out = {SYSMETA_MODE: rule[0],
                   SYSMETA_RETAIN_UNTIL: format_date(datetime.now(UTC) + timedelta(days=days))}
    if hold is not None:
        if hold not in (LEGAL_HOLD_ON, LEGAL_HOLD_OFF):
            raise S3Error("InvalidArgument", "Legal Hold must be either of 'ON' or 'OFF'",
                          ArgumentName=HOLD_HEADER, ArgumentValue=hold)
        out[SYSMETA_LEGAL_HOLD] = hold
    if out and (req.headers.get("x-delete-at") or req.headers.get("x-delete-after")):
        raise S3Error("InvalidRequest", "An object under Object Lock cannot be set to expire.")
    if needs_digest and out and not _has_integrity_header(req.headers):
        raise S3Error("InvalidRequest", "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object "
                      "requests with Object Lock parameters")
    return out


def carried(stored: Mapping[str, str]) -> dict[str, str]:
    """The lock sysmeta among stored headers (a multipart upload's marker passes it to the completed object)."""
    wanted = {SYSMETA_MODE.lower(), SYSMETA_RETAIN_UNTIL.lower(), SYSMETA_LEGAL_HOLD.lower()}
    return {name: value for name, value in stored.items() if name.lower() in wanted and value}


def response_headers(stored: Mapping[str, str]) -> dict[str, str]:
    """The ``x-amz-object-lock-*`` headers GET/HEAD answer for a version's stored headers."""
    lock = lock_of(stored)
    if lock is NO_LOCK:
        return {}  # most objects
    out: dict[str, str] = {}
    if lock.mode is not None and lock.retain_until is not None:
        out[MODE_HEADER] = lock.mode
        out[UNTIL_HEADER] = format_date(lock.retain_until)
    if s3h._get(stored, SYSMETA_LEGAL_HOLD):
        out[HOLD_HEADER] = LEGAL_HOLD_ON if lock.legal_hold else LEGAL_HOLD_OFF
    return out


# -- retention and legal hold of one version ------------------------------------------------------

async def _version(req: S3Request) -> tuple[dict, str, str, dict[str, str]]:
    """(bucket info, container, object, stored headers) of the version a retention/legal-hold request names;
    InvalidRequest when the bucket has no Object Lock."""
    info = await require_bucket(req)
    if not lock_enabled(info):
        raise S3Error("InvalidRequest", _MISSING_CONFIG)
    found = await stored_version(req)
    return info, found.container, found.name, found.headers


async def _update(req: S3Request, container: str, name: str, stored: Mapping[str, str],
                  changes: Mapping[str, str]) -> None:
    """POST the version's metadata back unchanged, with ``changes`` to its lock sysmeta."""
    headers = kept_on_post(dict(stored))
    headers.update(changes)
    resp = await req.client.post_object(req.account, container, name, headers, keep_listing_row=True)
    await resp.close()
    req.state.invalidate_info(req.account, container)
    if resp.status // 100 != 2:
        raise from_backend(resp.status, req.bucket, req.key)


async def get_retention(req: S3Request) -> Response:
    """GetObjectRetention: the version's mode and retain-until date (404 NoSuchObjectLockConfiguration)."""
    _info, _container, _name, stored = await _version(req)
    lock = lock_of(stored)
    if lock.mode is None or lock.retain_until is None:
        raise _no_lock()
    doc = xml.root("Retention")
    xml.add(doc, "Mode", lock.mode)
    xml.add(doc, "RetainUntilDate", format_date(lock.retain_until))
    return xml.xml_response(doc)


def _no_lock() -> S3Error:
    return S3Error("NoSuchObjectLockConfiguration", "The specified object does not have a ObjectLock "
                   "configuration", status=404)


def _parse_retention(body: bytes) -> tuple[str | None, datetime | None]:
    doc = xml.parse(body, "Retention")
    mode, until = xml.child_text(doc, "Mode"), xml.child_text(doc, "RetainUntilDate")
    if mode is None and until is None:
        return None, None  # removes the retention (GOVERNANCE with a bypass only)
    if mode is None or until is None or mode.strip() not in MODES:
        raise S3Error("MalformedXML")
    bad = S3Error("MalformedXML")
    return mode.strip(), _future_date(until, bad)


def _may_change(old: VersionLock, mode: str | None, until: datetime | None) -> bool:
    """Whether a running retention may be changed without a bypass: only extended, in the same mode (moving
    a GOVERNANCE retention to COMPLIANCE overrides it: a bypass, as AWS and Ceph's tests have it)."""
    if not old.retained():
        return True
    if mode is None or until is None or old.retain_until is None or until < old.retain_until:
        return False
    return mode == old.mode


async def put_retention(req: S3Request) -> Response:
    """PutObjectRetention: set, extend, or (GOVERNANCE, with a bypass) shorten or remove a version's
    retention; a COMPLIANCE retention is never shortened, weakened or removed before it ends."""
    _info, container, name, stored = await _version(req)
    mode, until = _parse_retention(await xml.read_body(request_body(req)))
    old = lock_of(stored)
    if not _may_change(old, mode, until):
        if old.mode == COMPLIANCE or not await may_bypass(req):
            raise S3Error("AccessDenied")
    changes = {SYSMETA_MODE: mode or "", SYSMETA_RETAIN_UNTIL: format_date(until) if until else ""}
    await _update(req, container, name, stored, changes)
    return Response(b"", 200)


async def get_legal_hold(req: S3Request) -> Response:
    """GetObjectLegalHold: ``ON``/``OFF`` (404 NoSuchObjectLockConfiguration when never set)."""
    _info, _container, _name, stored = await _version(req)
    if not s3h._get(stored, SYSMETA_LEGAL_HOLD):
        raise _no_lock()
    doc = xml.root("LegalHold")
    xml.add(doc, "Status", LEGAL_HOLD_ON if lock_of(stored).legal_hold else LEGAL_HOLD_OFF)
    return xml.xml_response(doc)


async def put_legal_hold(req: S3Request) -> Response:
    """PutObjectLegalHold: turn a version's legal hold ``ON`` or ``OFF``."""
    _info, container, name, stored = await _version(req)
    doc = xml.parse(await xml.read_body(request_body(req)), "LegalHold")
    status = (xml.child_text(doc, "Status") or "").strip()
    if status not in (LEGAL_HOLD_ON, LEGAL_HOLD_OFF):
        raise S3Error("MalformedXML")
    await _update(req, container, name, stored, {SYSMETA_LEGAL_HOLD: status})
    return Response(b"", 200)


# -- enforcement ----------------------------------------------------------------------------------

async def may_bypass(req: S3Request) -> bool:
    """``x-amz-bypass-governance-retention: true`` from a caller allowed ``s3:BypassGovernanceRetention`` (the
    bucket owner is, unless its policy denies it; a policy may grant it to others)."""
    if (req.headers.get(BYPASS_HEADER) or "").strip().lower() != "true":
        return False
    from proxy.s3.access import WRITE, owner_allows  # access imports the operation table, which imports us
    from proxy.s3.policy import policy_decision

    bucket, key = req.bucket or "", req.key
    decision = await policy_decision(req, BYPASS_ACTION, bucket, key)
    if decision == "deny":
        return False
    if await owner_allows(req, bucket, key, WRITE, BYPASS_ACTION):
        return True
    return decision == "allow"


async def guard(ctx: Any, stored: Mapping[str, str]) -> None:
    """The versioning engine's guard: refuse removing a held version (S3 AccessDenied, Swift 403); an S3
    GOVERNANCE retention gives way to an allowed bypass."""
    lock = lock_of(stored)
    if not lock.held():
        return
    if isinstance(ctx, S3Request):
        if lock.legal_hold or lock.mode == COMPLIANCE or not await may_bypass(ctx):
            raise S3Error("AccessDenied", "Access Denied because object protected by object lock.")
        return
    raise HTTPError(403, "The object version is protected by S3 Object Lock.")


engine.add_guard(guard)
