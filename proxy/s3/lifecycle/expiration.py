"""``x-amz-expiration: expiry-date="<HTTP date>", rule-id="<id>"`` on PutObject and GetObject/HeadObject
answers, when an enabled rule of the bucket expires the object (the earliest such rule). A stored object
that expires by its own ``X-Delete-At`` (Swift's expiry, which Swift's s3api takes on PutObject) shows
that time with rule id ``swift-object-expiration`` on GetObject/HeadObject, as Swift's s3api does,
when it comes before any rule's."""

from __future__ import annotations

import email.utils
from collections.abc import Mapping
from urllib.parse import parse_qsl, quote

from proxy.s3.context import S3Request
from stackstore.headers import lookup
from stackstore.lifecycle import DAY_SECONDS, Rule, expiration_of, from_info_sysmeta, object_tags

HEADER = "x-amz-expiration"
SWIFT_EXPIRY_RULE = "swift-object-expiration"  # the rule id Swift's s3api shows for an X-Delete-At
_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) not in '"%')


def day_seconds(conf: object) -> float:
    """``[lifecycle] day_seconds`` of a configuration (the length of a lifecycle day)."""
    section = conf.get("lifecycle", {}) if hasattr(conf, "get") else {}
    try:
        value = float(section.get("day_seconds", DAY_SECONDS))
    except (TypeError, ValueError):
        return DAY_SECONDS
    return value if value > 0 else DAY_SECONDS


def expiration_headers(req: S3Request, bucket_info: Mapping, key: str, size: int | None,
                       tags: Mapping[str, str], created: float) -> dict[str, str]:
    """``{"x-amz-expiration": ...}`` for an object, or ``{}`` when no rule expires it."""
    rules = from_info_sysmeta(bucket_info.get("sysmeta", {}))
    return _by_rules(req, rules, key, size, tags, created) if rules else {}


def _by_rules(req: S3Request, rules: list[Rule], key: str, size: int | None, tags: Mapping[str, str],
              created: float) -> dict[str, str]:
    found = expiration_of(rules, key, size, tags, created, day_seconds(req.state.conf))
    if found is None:
        return {}
    when, rule_id = found
    date = email.utils.formatdate(when, usegmt=True)
    return {HEADER: f'expiry-date="{date}", rule-id="{quote(rule_id, safe=_SAFE)}"'}


def stored_object_expiration(req: S3Request, bucket_info: Mapping, key: str, size: int,
                             headers: Mapping[str, str]) -> dict[str, str]:
    """The header for a stored object (GET/HEAD): created at its X-Timestamp, tags from its sysmeta."""
    by_rule: dict[str, str] = {}
    rules = from_info_sysmeta(bucket_info.get("sysmeta", {}))
    if rules:  # most buckets have none: the object's tags and creation time matter only to a rule
        created = _created(headers)
        if created is not None:
            by_rule = _by_rules(req, rules, key, size, object_tags(headers), created)
    delete_at = _delete_at(headers)
    if delete_at is None or (by_rule and _expiry_date(by_rule[HEADER]) <= delete_at):
        return by_rule
    date = email.utils.formatdate(delete_at, usegmt=True)
    return {HEADER: f'expiry-date="{date}", rule-id="{SWIFT_EXPIRY_RULE}"'}


def _delete_at(headers: Mapping[str, str]) -> int | None:
    value = lookup(headers, "x-delete-at")
    return int(value) if value is not None and value.strip().isdigit() else None


def _expiry_date(value: str) -> float:
    """The time in an ``x-amz-expiration`` value."""
    date = value.partition('expiry-date="')[2].partition('"')[0]
    try:
        return email.utils.parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError):
        return float("inf")


def put_tags(request_headers: Mapping[str, str]) -> dict[str, str]:
    """The tag set a PutObject's ``x-amz-tagging`` gives the new object."""
    return dict(parse_qsl(request_headers.get("x-amz-tagging") or "", keep_blank_values=True))


def _created(headers: Mapping[str, str]) -> float | None:
    stamp = lookup(headers, "x-timestamp")
    if stamp is not None:
        try:
            return float(stamp)
        except ValueError:
            return None
    modified = lookup(headers, "last-modified")
    if modified is not None:
        try:
            return email.utils.parsedate_to_datetime(modified).timestamp()
        except (TypeError, ValueError):
            return None
    return None
