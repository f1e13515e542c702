"""The ``LifecycleConfiguration`` document: parsed and validated as AWS does, and rendered back.

Schema violations (unknown or repeated elements, a Status other than ``Enabled``/``Disabled``, a
non-integer Days, a Date that is not ISO 8601, a Filter with more than one condition outside ``And``,
both or neither of Filter and the rule-level Prefix) are ``MalformedXML``; values the schema allows but
S3 refuses are ``InvalidArgument`` / ``InvalidRequest`` with AWS's messages. Transitions are accepted
only to ``STANDARD`` (every object already is); any other class is ``InvalidStorageClass``.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from xml.etree.ElementTree import Element

from proxy.s3 import xml
from proxy.s3.errors import S3Error
from stackstore.lifecycle import Rule, RuleFilter, Transition

MAX_RULES = 1000
MAX_ID_LENGTH = 255
MAX_FILTER_TAGS = 10
MAX_INT_DIGITS = 10
_INT = re.compile(r"^[+-]?[0-9]+$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?)?$")
RULE_CHILDREN = frozenset({"ID", "Status", "Filter", "Prefix", "Expiration", "Transition",
                           "NoncurrentVersionTransition", "NoncurrentVersionExpiration",
                           "AbortIncompleteMultipartUpload"})
ACTIONS = ("Expiration", "Transition", "NoncurrentVersionTransition", "NoncurrentVersionExpiration",
           "AbortIncompleteMultipartUpload")
SUPPORTED_STORAGE_CLASS = "STANDARD"


def _malformed(detail: str = "") -> S3Error:
    message = "The XML you provided was not well-formed or did not validate against our published schema"
    return S3Error("MalformedXML", message if not detail else f"{message} ({detail})")


def _invalid(message: str, name: str | None = None, value: str | None = None) -> S3Error:
    return S3Error("InvalidArgument", message, ArgumentName=name, ArgumentValue=value)


def _local(el: Element) -> str:
    return el.tag.rsplit("}", 1)[-1]


def _only(el: Element, allowed: frozenset[str] | set[str], repeatable: frozenset[str] = frozenset()) -> None:
    """MalformedXML when ``el`` has a child outside ``allowed`` or repeats one not ``repeatable``."""
    seen: set[str] = set()
    for child in el:
        name = _local(child)
        if name not in allowed or (name in seen and name not in repeatable):
            raise _malformed(f"unexpected {name}")
        seen.add(name)


def _one(el: Element, tag: str) -> Element | None:
    found = xml.children(el, tag)
    return found[0] if found else None


def _text(el: Element, tag: str) -> str | None:
    child = _one(el, tag)
    return None if child is None else (child.text or "").strip()


def _integer(raw: str | None, what: str) -> int | None:
    if raw is None:
        return None
    if not _INT.match(raw) or len(raw.lstrip("+-")) > MAX_INT_DIGITS:
        raise _malformed(f"{what} is not an integer")
    return int(raw)


def _positive(raw: str | None, what: str, action: str) -> int | None:
    value = _integer(raw, what)
    if value is not None and value <= 0:
        raise _invalid(f"'{what}' for {action} action must be a positive integer", what, raw)
    return value


def parse_date(raw: str) -> int:
    """An ISO 8601 date (``2027-01-01`` or ``2027-01-01T00:00:00[.000]Z``) at midnight UTC, as epoch
    seconds; MalformedXML when not ISO 8601, InvalidArgument when not midnight GMT."""
    m = _DATE.match(raw)
    if m is None:
        raise _malformed("Date is not ISO 8601")
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    try:
        when = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
                        tzinfo=UTC)
    except ValueError:
        raise _malformed("Date is not ISO 8601") from None
    offset = 0
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    epoch = int(when.timestamp()) - offset
    if epoch % 86400 or (fraction and int(fraction)):
        raise _invalid("'Date' must be at midnight GMT", "Date", raw)
    return epoch


def render_date(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _tag(el: Element) -> tuple[str, str]:
    _only(el, {"Key", "Value"})
    key_el, value_el = _one(el, "Key"), _one(el, "Value")
    if key_el is None or value_el is None:
        raise _malformed("Tag needs Key and Value")
    key, value = key_el.text or "", value_el.text or ""
    if len(key) > 128 or len(value) > 256:
        raise S3Error("InvalidTag", "The TagKey or TagValue you have provided is too long")
    return key, value


def _size(el: Element, tag: str) -> int | None:
    value = _integer(_text(el, tag), tag)
    if value is not None and value < 0:
        raise _invalid(f"'{tag}' should be a non-negative integer", tag, str(value))
    return value


def _conditions(el: Element) -> RuleFilter:
    """The conditions inside a Filter or its And."""
    prefix_el = _one(el, "Prefix")
    tags = tuple(_tag(t) for t in xml.children(el, "Tag"))
    if len(tags) > MAX_FILTER_TAGS:
        raise _invalid(f"A Filter may contain at most {MAX_FILTER_TAGS} Tags")
    if len({k for k, _ in tags}) != len(tags):
        raise S3Error("InvalidRequest", "Duplicate Tag Keys are not allowed.")
    greater, less = _size(el, "ObjectSizeGreaterThan"), _size(el, "ObjectSizeLessThan")
    if greater is not None and less is not None and greater >= less:
        raise _invalid("ObjectSizeGreaterThan must be less than ObjectSizeLessThan")
    return RuleFilter(prefix_el.text or "" if prefix_el is not None else "", tags, greater, less)


def _filter(el: Element) -> tuple[RuleFilter, str]:
    conditions = {"Prefix", "Tag", "ObjectSizeGreaterThan", "ObjectSizeLessThan", "And"}
    _only(el, conditions)
    if len(list(el)) > 1:
        raise _malformed("a Filter holds one condition; use And to combine them")
    and_el = _one(el, "And")
    if and_el is None:
        return _conditions(el), "Filter"
    _only(and_el, conditions - {"And"}, repeatable=frozenset({"Tag"}))
    return _conditions(and_el), "And"


def _transitions(rule_el: Element, tag: str, days_tag: str) -> tuple[Transition, ...]:
    out = []
    for el in xml.children(rule_el, tag):
        allowed = {days_tag, "StorageClass", "NewerNoncurrentVersions"} if days_tag == "NoncurrentDays" \
            else {days_tag, "Date", "StorageClass"}
        _only(el, allowed)
        storage_class = _text(el, "StorageClass")
        if storage_class is None:
            raise _malformed(f"{tag} needs a StorageClass")
        if storage_class != SUPPORTED_STORAGE_CLASS:
            raise S3Error("InvalidStorageClass", "The storage class you specified is not valid",
                          StorageClassRequested=storage_class)
        days = _integer(_text(el, days_tag), days_tag)
        if days is not None and days < 0:
            raise _invalid(f"'{days_tag}' in {tag} action must be nonnegative", days_tag, str(days))
        date_text = _text(el, "Date")
        date = parse_date(date_text) if date_text is not None else None
        if (days is None) == (date is None):
            raise _malformed(f"{tag} needs exactly one of {days_tag} and Date")
        out.append(Transition(storage_class, days, date, date_text))
    return tuple(out)


def parse_rule(el: Element) -> Rule:
    """One ``<Rule>``, validated."""
    _only(el, RULE_CHILDREN, repeatable=frozenset({"Transition", "NoncurrentVersionTransition"}))
    rule_id = _one(el, "ID")
    rid = (rule_id.text or "") if rule_id is not None else ""
    if len(rid) > MAX_ID_LENGTH:
        raise _invalid(f"ID length should not exceed allowed limit of {MAX_ID_LENGTH}", "ID", rid)
    status = _text(el, "Status")
    if status not in ("Enabled", "Disabled"):
        raise _malformed("Status must be Enabled or Disabled")
    filter_el, prefix_el = _one(el, "Filter"), _one(el, "Prefix")
    if (filter_el is None) == (prefix_el is None):
        raise _malformed("a Rule needs exactly one of Filter and Prefix")
    if filter_el is not None:
        rule_filter, form = _filter(filter_el)
    else:
        rule_filter, form = RuleFilter(prefix=prefix_el.text or ""), "Prefix"  # type: ignore[union-attr]
    if not any(_one(el, action) is not None for action in ACTIONS):
        raise S3Error("InvalidRequest", "At least one action needs to be specified in a rule")
    fields: dict = {}
    expiration = _one(el, "Expiration")
    if expiration is not None:
        _only(expiration, {"Days", "Date", "ExpiredObjectDeleteMarker"})
        if len(list(expiration)) != 1:
            raise _malformed("Expiration needs exactly one of Days, Date and ExpiredObjectDeleteMarker")
        fields["expiration_days"] = _positive(_text(expiration, "Days"), "Days", "Expiration")
        date_text = _text(expiration, "Date")
        if date_text is not None:
            fields["expiration_date"], fields["expiration_date_text"] = parse_date(date_text), date_text
        marker = _text(expiration, "ExpiredObjectDeleteMarker")
        if marker is not None:
            if marker not in ("true", "false"):
                raise _malformed("ExpiredObjectDeleteMarker must be true or false")
            if rule_filter.has_tags:
                raise S3Error("InvalidRequest", "ExpiredObjectDeleteMarker cannot be specified with tags.")
            fields["expired_object_delete_marker"] = marker == "true"
    noncurrent = _one(el, "NoncurrentVersionExpiration")
    if noncurrent is not None:
        _only(noncurrent, {"NoncurrentDays", "NewerNoncurrentVersions"})
        days_raw = _text(noncurrent, "NoncurrentDays")
        if days_raw is None:
            raise _malformed("NoncurrentVersionExpiration needs NoncurrentDays")
        fields["noncurrent_days"] = _positive(days_raw, "NoncurrentDays", "NoncurrentVersionExpiration")
        newer = _integer(_text(noncurrent, "NewerNoncurrentVersions"), "NewerNoncurrentVersions")
        if newer is not None and not 1 <= newer <= 100:
            raise _invalid("'NewerNoncurrentVersions' must be between 1 and 100", "NewerNoncurrentVersions",
                           str(newer))
        fields["newer_noncurrent_versions"] = newer
    abort = _one(el, "AbortIncompleteMultipartUpload")
    if abort is not None:
        _only(abort, {"DaysAfterInitiation"})
        raw = _text(abort, "DaysAfterInitiation")
        if raw is None:
            raise _malformed("AbortIncompleteMultipartUpload needs DaysAfterInitiation")
        if rule_filter.has_tags:
            raise S3Error("InvalidRequest", "AbortIncompleteMultipartUpload cannot be specified with Tags.")
        if rule_filter.size_greater_than is not None or rule_filter.size_less_than is not None:
            raise S3Error("InvalidRequest", "AbortIncompleteMultipartUpload cannot be specified with an object "
                                            "size filter.")
        fields["abort_days"] = _positive(raw, "DaysAfterInitiation", "AbortIncompleteMultipartUpload")
    return Rule(id=rid, enabled=status == "Enabled", filter=rule_filter, filter_form=form,
                transitions=_transitions(el, "Transition", "Days"),
                noncurrent_transitions=_transitions(el, "NoncurrentVersionTransition", "NoncurrentDays"),
                **fields)


def parse_configuration(body: bytes) -> list[Rule]:
    """The rules of a ``LifecycleConfiguration`` document; rules without an ID get a generated one."""
    doc = xml.parse(body, "LifecycleConfiguration")
    _only(doc, {"Rule"}, repeatable=frozenset({"Rule"}))
    rule_els = xml.children(doc, "Rule")
    if not rule_els:
        raise _malformed("at least one Rule is required")
    if len(rule_els) > MAX_RULES:
        raise _invalid(f"Configuration can have at most {MAX_RULES} rules")
    rules = [parse_rule(el) for el in rule_els]
    ids = [r.id for r in rules if r.id]
    if len(set(ids)) != len(ids):
        raise _invalid("Rule ID must be unique. Found same ID for more than one rule", "ID")
    return [r if r.id else _with_id(r) for r in rules]


def _with_id(rule: Rule) -> Rule:
    from dataclasses import replace

    return replace(rule, id=secrets.token_urlsafe(36)[:48])


def _add_filter(parent: Element, f: RuleFilter, form: str) -> None:
    if form == "Prefix":
        xml.add(parent, "Prefix", f.prefix)
        return
    el = xml.add(parent, "Filter")
    sizes = f.size_greater_than is not None or f.size_less_than is not None
    if form == "And":
        target = xml.add(el, "And")
        if f.prefix:
            xml.add(target, "Prefix", f.prefix)
    else:
        target = el
        if f.prefix or not (f.tags or sizes):
            xml.add(target, "Prefix", f.prefix)
    for key, value in f.tags:
        tag = xml.add(target, "Tag")
        xml.add(tag, "Key", key)
        xml.add(tag, "Value", value)
    if f.size_greater_than is not None:
        xml.add(target, "ObjectSizeGreaterThan", f.size_greater_than)
    if f.size_less_than is not None:
        xml.add(target, "ObjectSizeLessThan", f.size_less_than)


def _add_transition(parent: Element, tag: str, days_tag: str, t: Transition) -> None:
    el = xml.add(parent, tag)
    if t.date is not None:
        xml.add(el, "Date", render_date(t.date))
    if t.days is not None:
        xml.add(el, days_tag, t.days)
    xml.add(el, "StorageClass", t.storage_class)


def render_configuration(rules: list[Rule]) -> Element:
    """The ``LifecycleConfiguration`` document GetBucketLifecycleConfiguration answers."""
    doc = xml.root("LifecycleConfiguration")
    for rule in rules:
        el = xml.add(doc, "Rule")
        xml.add(el, "ID", rule.id)
        _add_filter(el, rule.filter, rule.filter_form)
        xml.add(el, "Status", "Enabled" if rule.enabled else "Disabled")
        if rule.expires_current or rule.expired_object_delete_marker is not None:
            exp = xml.add(el, "Expiration")
            if rule.expiration_date is not None:
                xml.add(exp, "Date", render_date(rule.expiration_date))
            if rule.expiration_days is not None:
                xml.add(exp, "Days", rule.expiration_days)
            if rule.expired_object_delete_marker is not None:
                xml.add(exp, "ExpiredObjectDeleteMarker", rule.expired_object_delete_marker)
        for t in rule.transitions:
            _add_transition(el, "Transition", "Days", t)
        for t in rule.noncurrent_transitions:
            _add_transition(el, "NoncurrentVersionTransition", "NoncurrentDays", t)
        if rule.noncurrent_days is not None:
            nve = xml.add(el, "NoncurrentVersionExpiration")
            xml.add(nve, "NoncurrentDays", rule.noncurrent_days)
            if rule.newer_noncurrent_versions is not None:
                xml.add(nve, "NewerNoncurrentVersions", rule.newer_noncurrent_versions)
        if rule.abort_days is not None:
            xml.add(xml.add(el, "AbortIncompleteMultipartUpload"), "DaysAfterInitiation", rule.abort_days)
    return doc
